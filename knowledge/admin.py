"""Ops console views of the knowledge app's models."""

from django.contrib import admin  # noqa: F401

"""Ops console views of the voice app's models."""

from django.contrib import admin  # noqa: F401

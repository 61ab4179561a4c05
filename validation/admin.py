"""Ops console views of the validation app's models."""

from django.contrib import admin  # noqa: F401

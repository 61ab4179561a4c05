"""Ops console views of the monitoring app's models."""

from django.contrib import admin  # noqa: F401

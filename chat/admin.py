"""Ops console views of the chat app's models."""

from django.contrib import admin  # noqa: F401

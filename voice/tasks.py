"""Celery tasks of the voice app: thin wrappers that take ids and call services."""

from celery import shared_task  # noqa: F401

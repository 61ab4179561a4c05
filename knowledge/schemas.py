"""Ninja schemas of the knowledge app's API, fields listed explicitly."""

from ninja import Schema  # noqa: F401

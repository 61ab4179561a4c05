"""Ninja schemas of the voice app's API, fields listed explicitly."""

from ninja import Schema  # noqa: F401

"""Ninja schemas of the monitoring app's API, fields listed explicitly."""

from ninja import Schema  # noqa: F401

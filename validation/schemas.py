"""Ninja schemas of the validation app's API, fields listed explicitly."""

from ninja import Schema  # noqa: F401

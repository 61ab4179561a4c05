"""Ninja schemas of the chat app's API, fields listed explicitly."""

from ninja import Schema  # noqa: F401

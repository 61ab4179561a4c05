"""Text a database can store.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``); ``json.loads`` turns it into a
Python string that no UTF-8 encoder accepts, so storing it fails deep in the database
driver. Callers check input with ``lone_surrogate`` and refuse it with a clear message.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value) -> str | None:
    """The first lone surrogate in ``value`` (a string, or lists and dicts of them, as
    ``json.loads`` returns) spelled as JSON would (``\\ud800``), or None."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return f"\\u{ord(found.group()):04x}" if found else None
    if isinstance(value, dict):
        return next(filter(None, map(lone_surrogate, [*value.keys(), *value.values()])), None)
    if isinstance(value, list):
        return next(filter(None, map(lone_surrogate, value)), None)
    return None

"""Models of the chat app: conversations, messages and citations; the assistant agent; text chat."""

from django.db import models  # noqa: F401

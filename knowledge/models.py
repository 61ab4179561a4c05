"""Models of the knowledge app: documents, pages and chunks."""

from django.db import models  # noqa: F401

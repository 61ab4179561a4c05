"""Models of the validation app: validation cases, runs and results; the readiness verdict."""

from django.db import models  # noqa: F401

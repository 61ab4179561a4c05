"""Models of the monitoring app: metric samples, alert rules and alerts about the assistant."""

from django.db import models  # noqa: F401

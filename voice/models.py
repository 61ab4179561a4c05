"""Models of the voice app: speech-to-text and text-to-speech around chat's assistant."""

from django.db import models  # noqa: F401

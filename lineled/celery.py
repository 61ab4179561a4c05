"""The Celery app. Configuration lives in settings under the CELERY_ prefix."""

import functools
import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lineled.settings")

logger = logging.getLogger(__name__)


class Task(DjangoTask):
    """Every task of the project. Enqueue with ``delay_on_commit``; a task whose loss a
    sweep makes good declares ``robust_on_commit=True``: a broker that refuses it after
    the commit is then logged, so the committed work stands, instead of raised."""

    robust_on_commit = False

    def delay_on_commit(self, *args, **kwargs) -> None:
        if not self.robust_on_commit:
            return super().delay_on_commit(*args, **kwargs)
        transaction.on_commit(functools.partial(self._delay_or_log, args, kwargs))

    def _delay_or_log(self, args: tuple, kwargs: dict) -> None:
        try:
            self.delay(*args, **kwargs)
        except Exception:
            logger.warning("could not queue %s%r; a sweep sends it later", self.name, args)


app = Celery("lineled", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""Settings for a web server and worker that a browser test starts: lineled's own, with
the Celery queue named by LINELED_TEST_QUEUE, so a developer's worker on the same Redis
never takes the test's tasks (nor the test's worker theirs)."""

import os

from lineled.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["LINELED_TEST_QUEUE"]

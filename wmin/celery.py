"""The Celery app. Tasks live in each app's tasks.py, take primary keys and JSON only."""

import logging
import os

from celery import Celery
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wmin.settings.local")

logger = logging.getLogger("wmin.celery")

app = Celery("wmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def delay_or_report(task, *args, **kwargs) -> bool:
    """Queue `task`; False (logged) when the broker cannot be reached, for callers that can say so
    to a person instead of failing the request. Errors of the task itself, run eagerly, propagate."""
    try:
        task.delay(*args, **kwargs)
    except OperationalError as exc:
        logger.warning("Could not queue %s: %s", task.name, exc)
        return False
    return True

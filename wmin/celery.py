"""The Celery app. Tasks live in each app's tasks.py, take primary keys and JSON only."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wmin.settings.local")

app = Celery("wmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

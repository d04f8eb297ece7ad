"""Every periodic job names a task that exists, on a queue the demo's worker consumes."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from wmin.celery import app


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_each_beat_entry_names_a_registered_task(entry):
    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in app.tasks


def test_the_demo_worker_consumes_every_routed_queue():
    run_demo = Path(settings.BASE_DIR, "wmin/demo/management/commands/run_demo.py").read_text()
    consumed = set(re.search(r'"-Q", "([^"]+)"', run_demo)[1].split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= consumed

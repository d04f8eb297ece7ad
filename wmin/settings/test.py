"""The test suite. Uses DATABASE_URL / REDIS_URL when set, like every environment."""

import os
import re

from .base import *  # noqa: F403
from .base import CACHES, DATABASES
from .env import env_bool, env_str

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": None}  # in memory
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

# Unit tests run tasks in-process even with Redis configured; tests that need a real worker
# (the failure tests) start one themselves.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
# Tests read patients' messages from memory (booking.notifications.locmem.outbox), never from files.
NOTIFICATIONS_BACKEND = env_str("NOTIFICATIONS_BACKEND", "locmem")

# Without Redis each test process keeps its own cache (files under var/ would be shared by xdist workers).
if not CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# pytest-xdist workers would share one Redis database, and RedisCache.clear() is a FLUSHDB: one
# worker resetting rate limits would wipe another's counters mid-test. Each worker's cache gets its
# own database, counting down from the one REDIS_URL names (gw0 → 14, gw1 → 13, …).
_worker = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
if _worker and CACHES["default"]["BACKEND"].endswith("RedisCache"):
    _base, _, _db = CACHES["default"]["LOCATION"].rpartition("/")
    _db_number = int(_db) if _db.isdigit() else 0
    CACHES["default"]["LOCATION"] = f"{_base}/{(_db_number - 1 - int(_worker[1])) % 16}"

"""Settings read from the environment fail loudly on bad values instead of falling back."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from wmin.settings.env import env_bool, env_int, env_redis_url, parse_database_url


def test_postgres_url_becomes_django_settings():
    db = parse_database_url("DATABASE_URL", "postgres://postgres:s%40cret@127.0.0.1:5432/wmin?sslmode=disable")
    assert db.as_django()["ENGINE"] == "django.db.backends.postgresql"
    assert (db.user, db.password, db.host, db.port, db.name) == ("postgres", "s@cret", "127.0.0.1", "5432", "wmin")
    assert db.options == {"sslmode": "disable"}


@pytest.mark.parametrize("url", ["mysql://x@y/z", "postgres://127.0.0.1:5432/", "nonsense"])
def test_unusable_database_urls_are_refused(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        parse_database_url("DATABASE_URL", url)


def test_booleans_and_numbers_must_be_what_they_say(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG", False)
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="COUNT must be a whole number"):
        env_int("COUNT", 1)
    monkeypatch.setenv("COUNT", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("COUNT", 1, minimum=0)


def test_redis_url_must_be_redis(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://localhost")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must start redis://"):
        env_redis_url("REDIS_URL")

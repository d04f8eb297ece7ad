"""The demo's feeds: profiles that admit this machine, simulated RIS ports in their own range, and a
task broker that keeps its files under var/."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.factories import FeedProfileFactory, TrustFactory
from wmin.feeds.models import FeedProfile
from wmin.feeds.profiles import ensure_default_profiles
from wmin.feeds.simulator.feeds import admit_sender


@pytest.mark.django_db
def test_demo_profiles_admit_this_machine_and_put_each_ris_on_its_own_port_in_the_demo_range(settings):
    settings.DEMO_RIS_PORT_BASE = 31000
    trusts = [TrustFactory(ods_code=code) for code in ("RAA", "RBB", "RCC", "RDD")]
    FeedProfileFactory(trust=trusts[1], allowed_hosts=[], ris_host="127.0.0.1", ris_port=2601)  # an older demo
    FeedProfileFactory(trust=trusts[2], allowed_hosts=["10.1.0.0/16"], ris_host="10.1.2.3", ris_port=2575)

    assert ensure_default_profiles() == 2

    profiles = {p.trust.ods_code: p for p in FeedProfile.objects.select_related("trust")}
    assert {code: profiles[code].ris_port for code in ("RAA", "RBB", "RDD")} == {"RAA": 31000, "RBB": 31001, "RDD": 31003}
    assert all(profiles[code].admits("127.0.0.1") for code in ("RAA", "RBB", "RDD"))
    real = profiles["RCC"]  # a RIS elsewhere is left as its admin set it
    assert (real.ris_host, real.ris_port, real.allowed_hosts) == ("10.1.2.3", 2575, ["10.1.0.0/16"])


def test_the_demo_ris_ports_stay_below_the_ephemeral_range_and_away_from_the_listener():
    last = settings.DEMO_RIS_PORT_BASE + 14  # fifteen trusts
    assert settings.DEMO_RIS_PORT_BASE >= 1024 and last < 32768
    assert not settings.DEMO_RIS_PORT_BASE <= settings.MLLP_PORT <= last


@pytest.mark.django_db
def test_the_simulator_opens_the_profiles_it_plays_to_its_own_host_only():
    closed = FeedProfileFactory(allowed_hosts=[])
    listed = FeedProfileFactory(allowed_hosts=["127.0.0.0/8"])
    assert admit_sender([closed, listed], "127.0.0.1") == [closed.trust.ods_code]
    closed.refresh_from_db()
    assert closed.allowed_hosts == ["127.0.0.1"] and not closed.admits("10.0.0.1")


def test_the_file_broker_keeps_its_control_files_under_var(tmp_path):
    """A worker's broadcast queue (its remote control) binds a fanout exchange, which the file-system
    broker records in its control folder: kombu's default is ./control, wherever the worker runs."""
    environment = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    environment["DJANGO_SETTINGS_MODULE"] = "wmin.settings.local"
    script = (
        "import django; django.setup()\n"
        "from kombu import Exchange, Queue\n"
        "from wmin.celery import app\n"
        "with app.connection_for_write() as connection:\n"
        "    Queue('wmin.test.broadcast', Exchange('wmin.test.broadcast', type='fanout'))(connection.default_channel).declare()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env={**environment, "PYTHONPATH": str(settings.BASE_DIR)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "control").exists()
    exchange = settings.BASE_DIR / "var" / "celery-broker" / "control" / "wmin.test.broadcast.exchange"
    assert exchange.exists()
    exchange.unlink()

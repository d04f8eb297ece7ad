"""Failure tests: the real PostgreSQL and Redis on this machine are stopped, restarted and killed.

They need DATABASE_URL (a PostgreSQL cluster on this machine, which they restart with pg_ctlcluster)
and REDIS_URL (a Redis on this machine, which they shut down and start again), and skip saying so
otherwise. They stop services other tests share, so they never run under pytest-xdist: run them in
their own serial pass,

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python -m pytest -p no:xdist -m failure tests/failure

They restart whichever cluster listens on DATABASE_URL's port (found with `pg_lsclusters`) and
whichever Redis listens on REDIS_URL's port, so on a shared machine they can run against a private
pair and leave everyone else's alone:

    pg_createcluster 15 mine -p 5433 -- --auth=trust && pg_ctlcluster 15 mine start
    redis-server --daemonize yes --port 6380 --save "" --appendonly no --dir /tmp/redis6380
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/postgres REDIS_URL=redis://127.0.0.1:6380/15 ...

Every test leaves both services running, whatever happened: the autouse `services` fixture starts
whichever is down after the test and waits until it answers, and the helpers that stop a service
start it again in a `finally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection, connections

from tests.factories import ExamTypeFactory, ModalityFactory

# The feed tests' fixtures (the real MLLP listener on a socket, clients for it, fresh caches) and
# their trust helper, reused rather than copied: importing the fixtures here makes them usable here.
from tests.feeds.conftest import _fresh_caches, client_for, listener, make_trust  # noqa: F401
from wmin.feeds.hl7.envelope import clean
from wmin.feeds.hl7.parse import peek_header
from wmin.feeds.models import FeedProfile
from wmin.feeds.simulator.fake_ris import FakeRis, FakeRisThread
from wmin.feeds.simulator.messages import RisStyle

ROOT = Path(__file__).resolve().parents[2]
PG_HOST, PG_PORT = "127.0.0.1", urlsplit(os.environ.get("DATABASE_URL", "")).port or 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", urlsplit(os.environ.get("REDIS_URL", "")).port or 6379
READY_TIMEOUT = 60.0
CELERY_QUEUES = ("default", "hl7", "solver", "notify")
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


# Which tests may run ------------------------------------------------------------------------


def _why_not_runnable() -> str | None:
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url or not redis_url:
        return (
            "failure tests need the real services: set DATABASE_URL (a local PostgreSQL) and REDIS_URL "
            "(a local Redis), e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres "
            "REDIS_URL=redis://127.0.0.1:6379/15"
        )
    db, redis = urlsplit(database_url), urlsplit(redis_url)
    if not db.scheme.startswith("postgres") or (db.hostname or "") not in _LOCAL_HOSTS:
        return "failure tests restart a PostgreSQL cluster on this machine; DATABASE_URL points elsewhere"
    if (redis.hostname or "") not in _LOCAL_HOSTS:
        return "failure tests stop a Redis on this machine; REDIS_URL points elsewhere"
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return (
            "failure tests stop PostgreSQL and Redis under every other test: run them in their own serial "
            "pass (pytest -p no:xdist -m failure tests/failure)"
        )
    if _postgres_cluster() is None:
        return f"no PostgreSQL cluster listed by pg_lsclusters on port {PG_PORT} for pg_ctlcluster to restart"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = _why_not_runnable()
    for item in items:
        if reason and here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


# The services ---------------------------------------------------------------------------------


def _postgres_cluster() -> tuple[str, str] | None:
    """(version, name) of the cluster pg_lsclusters lists on PG_PORT, or None."""
    try:
        listed = _run(["pg_lsclusters", "--no-header"], timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in listed.splitlines():
        version, name, port, *_ = [*line.split(), "", "", ""]
        if port == str(PG_PORT):
            return version, name
    return None


def _run(command: list[str], timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def postgres_ready() -> bool:
    return _run(["pg_isready", "-h", PG_HOST, "-p", str(PG_PORT), "-q"], timeout=10).returncode == 0


def redis_ready() -> bool:
    try:
        return _run(["redis-cli", "-h", REDIS_HOST, "-p", str(REDIS_PORT), "ping"], timeout=10).stdout.strip() == "PONG"
    except subprocess.TimeoutExpired:
        return False


def _wait(check: Callable[[], bool], what: str, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")
        time.sleep(0.1)


def _pg_ctl(action: str, *options: str) -> None:
    cluster = _postgres_cluster()
    if cluster is None:
        raise RuntimeError(f"pg_lsclusters lists no cluster on port {PG_PORT}")
    result = _run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action, *options])
    if result.returncode != 0 and not (action == "start" and postgres_ready()):
        raise RuntimeError(f"pg_ctlcluster {action} failed: {result.stdout}{result.stderr}")


def start_postgres() -> None:
    if not postgres_ready():
        _pg_ctl("start")
    _wait(postgres_ready, "PostgreSQL")


def stop_postgres(mode: str = "fast") -> None:
    """fast: the server ends every session and shuts down cleanly; immediate: as if the power went."""
    _pg_ctl("stop", "-m", mode)
    _wait(lambda: not postgres_ready(), "PostgreSQL shutdown", timeout=30)


def start_redis() -> None:
    if not redis_ready():
        # The machine's Redis keeps CI's directory and log; a private one on another port its own.
        home = Path("/var/lib/redis") if REDIS_PORT == 6379 else Path(f"/tmp/redis{REDIS_PORT}")
        log_file = Path("/var/log/redis/ci.log") if REDIS_PORT == 6379 else home / "redis.log"
        home.mkdir(parents=True, exist_ok=True)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        _run([
            "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(REDIS_PORT),
            "--save", "", "--appendonly", "no", "--dir", str(home), "--logfile", str(log_file),
        ])
    _wait(redis_ready, "Redis")


def stop_redis() -> None:
    _run(["redis-cli", "-h", REDIS_HOST, "-p", str(REDIS_PORT), "shutdown", "nosave"])
    _wait(lambda: not redis_ready(), "Redis shutdown", timeout=30)


@contextlib.contextmanager
def postgres_stopped(mode: str = "fast") -> Iterator[None]:
    """PostgreSQL down inside the block, up (and answering) after it, however the block ends."""
    try:
        stop_postgres(mode)
        yield
    finally:
        start_postgres()


@contextlib.contextmanager
def redis_stopped() -> Iterator[None]:
    try:
        stop_redis()
        yield
    finally:
        start_redis()


def restart_postgres(mode: str = "fast", down_for: float = 0.0) -> float:
    """Stop, stay down `down_for` seconds, start; returns how long the database was unreachable."""
    started = time.monotonic()
    with postgres_stopped(mode):
        time.sleep(down_for)
    return time.monotonic() - started


def reconnect_this_thread() -> None:
    """After a restart this thread's connection is dead; the next query opens a new one."""
    for alias in connections:
        with contextlib.suppress(Exception):
            connections[alias].close()


@pytest.fixture(autouse=True)
def services() -> Iterator[None]:
    """Both services up before the test and, whatever the test did, up again after it."""
    start_postgres()
    start_redis()
    try:
        yield
    finally:
        try:
            start_postgres()
        finally:
            start_redis()
            reconnect_this_thread()


# Celery: not eager, and a real worker ---------------------------------------------------------------


@pytest.fixture
def celery_not_eager(settings) -> Iterator[None]:
    """Tasks go to the Redis broker instead of running in the calling thread (tests default to eager)."""
    from wmin.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    before = app.conf.task_always_eager
    app.conf.task_always_eager = False  # Celery read the Django settings once, when it configured itself
    purge_celery_queues()
    try:
        yield
    finally:
        app.conf.task_always_eager = before
        purge_celery_queues()


def _redis_client():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5)


def purge_celery_queues() -> None:
    """Drop the task messages (waiting and unacknowledged) a previous test left in the broker."""
    if not redis_ready():
        return
    client = _redis_client()
    try:
        keys = [k for k in client.scan_iter(count=1000) if _is_celery_key(k)]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _is_celery_key(key: bytes) -> bool:
    name = key.decode("utf-8", "replace")
    return name.startswith("unacked") or any(name == q or name.startswith(q + "\x06\x16") for q in CELERY_QUEUES)


def test_database_url() -> str:
    """The database this test run uses (pytest-django's test_… copy), as a URL for a subprocess."""
    values = connection.settings_dict
    user = quote(values.get("USER") or "postgres")
    password = values.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}" if password else user
    return f"postgres://{auth}@{values.get('HOST') or PG_HOST}:{values.get('PORT') or PG_PORT}/{values['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@dataclass
class Worker:
    """A `celery worker` subprocess in its own process group (so it can be killed whole)."""

    process: subprocess.Popen
    log_path: Path
    name: str
    children_seen: list[int] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """SIGKILL the worker and its pool processes at once: nothing runs a shutdown handler."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def pool_children(self) -> list[int]:
        result = _run(["pgrep", "-P", str(self.process.pid)], timeout=5)
        return [int(pid) for pid in result.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        # The pool children are in the same group: make sure none outlives its parent.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@pytest.fixture
def celery_worker(transactional_db, celery_not_eager, tmp_path) -> Iterator[Callable[[], Worker]]:
    """Start real `celery -A wmin worker` processes on the test database; all stopped afterwards."""
    from wmin.celery import app

    started: list[Worker] = []

    def start(timeout: float = 60.0) -> Worker:
        name = f"failure{len(started) + 1}@%h"
        log_path = tmp_path / f"worker{len(started) + 1}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            DJANGO_SETTINGS_MODULE="wmin.settings.test",
            DATABASE_URL=test_database_url(),
            REDIS_URL=os.environ["REDIS_URL"],
            CELERY_TASK_ALWAYS_EAGER="false",
            NOTIFICATIONS_BACKEND="console",
            NOTIFICATIONS_CONSOLE_DIR=str(tmp_path / "notifications"),
            PYTHONUNBUFFERED="1",
        )
        command = [
            sys.executable, "-m", "celery", "-A", "wmin", "worker", "-Q", ",".join(CELERY_QUEUES),
            "--concurrency", "1", "--pool", "prefork", "-n", name, "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-l", "INFO",
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = Worker(process, log_path, name.replace("%h", os.uname().nodename))
        started.append(worker)
        deadline = time.monotonic() + timeout
        while True:
            if not worker.alive:
                raise RuntimeError(f"The Celery worker exited at start:\n{worker.log()[-4000:]}")
            with contextlib.suppress(Exception):
                if app.control.ping(destination=[worker.name], timeout=0.5):
                    return worker
            if time.monotonic() > deadline:
                worker.stop()
                raise RuntimeError(f"The Celery worker did not answer within {timeout:.0f} s:\n{worker.log()[-4000:]}")
            time.sleep(0.2)

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
        purge_celery_queues()


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# A fake RIS that counts what reached it -------------------------------------------------------------


@dataclass
class CountingRis(FakeRis):
    """The simulator's fake RIS, also keeping each SRM's MSH-10 and able to sit on its first answer.

    `hang_first`: the first message is received (and counted) but not answered until `release` is
    set, like a RIS that is slow to reply: the hub's sender is then mid-exchange.
    """

    hang_first: bool = False
    control_ids: list[str] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, payload: bytes) -> bytes:
        with contextlib.suppress(Exception):
            self.control_ids.append(peek_header(clean(payload)[0].text).control_id)
        self.arrived.set()
        if self.hang_first and len(self.control_ids) == 1:
            self.release.wait(timeout=60)
        return super().answer(payload)


@pytest.fixture
def srm_trust(transactional_db):
    """Trust RRK, whose RIS takes SRM, with its fake RIS running on a loopback port."""
    trust = make_trust("RRK", ["RRK"], ris_host="127.0.0.1", ris_port=9)
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"))
    return trust


@pytest.fixture
def counting_ris(srm_trust) -> Iterator[Callable[..., CountingRis]]:
    started: list[FakeRisThread] = []

    def run(**options: object) -> CountingRis:
        thread = FakeRisThread(CountingRis(RisStyle("RRK"), **options))  # type: ignore[arg-type]
        port = thread.start()
        FeedProfile.objects.filter(trust=srm_trust).update(ris_host="127.0.0.1", ris_port=port)
        started.append(thread)
        return thread.ris  # type: ignore[return-value]

    yield run
    for thread in started:
        thread.ris.release.set()  # type: ignore[attr-defined]
        thread.stop()

"""Load test the web app under gunicorn: python -m bench.load [--help]

1. Loads the 47 sites and a seeded synthetic network into a fresh database, with the shortlist
   bench's own set-up (bench.shortlist): with DATABASE_URL set, a new PostgreSQL database
   `wmin_bench_load` on that server (dropped and made again each run); otherwise a fresh SQLite
   file, var/bench-load.sqlite3.
2. Starts the app under gunicorn (production settings, sync workers) on 127.0.0.1 and a free port.
3. Signs patients in through the real sign-in page (booking reference + date of birth), untimed.
4. Drives, at rising concurrency (1, 2, 4, … clients, each step bounded in time and in requests):
   (a) the choice page, GET /my-scan/scans/<id>/choose/ with the shortlist bench's filter mixes;
   (b) the booking action: POST hold then POST confirm, each patient booking a slot of their own.
5. Prints per step: requests/s, p50/p95 latency, error rate, and the knee (the concurrency past
   which throughput stops growing while latency does).

Traffic goes to 127.0.0.1 only; every step stops at --step-seconds or --max-requests, whichever
comes first. The driver is Python threads with http.client (one keep-alive connection per client;
gunicorn's sync workers close it after each response, so each request opens a new one, as a browser
behind a load balancer would not: latencies include the TCP connect on loopback, about 0.1 ms).
The driver shares the machine's cores with gunicorn and the database: figures are for this machine.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BENCH_DATABASE = "wmin_bench_load"
SQLITE_FILE = "var/bench-load.sqlite3"
CELERY_QUEUES = ("default", "hl7", "solver", "notify")
KNEE_GAIN = 0.10  # a step that adds less than this share of throughput is past the knee


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open-slots", type=int, default=20_000, help="open pool slots to aim for")
    parser.add_argument("--referrals", type=int, default=20_000, help="size of the waiting list")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--levels", default="1,2,4,8,16,32", help="concurrent clients per step")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=4000, help="at most this many requests per step")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--browsing-patients", type=int, default=64)
    parser.add_argument("--booking-patients", type=int, default=2500,
                        help="patients signed in for the booking steps (each books once)")
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run (no reload)")
    args = parser.parse_args()
    args.rebuild = not args.reuse
    levels = [int(n) for n in args.levels.split(",") if n.strip()]

    database_url = _fresh_database(reuse=args.reuse)
    from bench.shortlist.__main__ import FILTER_MIXES, _configure_django, _ensure_data, _params

    _configure_django()
    from django.db import connection

    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    started = time.perf_counter()
    _ensure_data(args)
    print(f"Data ready in {time.perf_counter() - started:.0f} s.")
    browsing, booking = _choose_patients(args.browsing_patients, args.booking_patients, args.seed)
    bookings_before = _count_bookings()

    with Gunicorn(database_url, args.workers) as app:
        print(f"gunicorn: {args.workers} sync workers on {app.base}; machine: {os.cpu_count()} CPUs")
        started = time.perf_counter()
        browsers = _sign_in_all(app, browsing + booking)
        took = time.perf_counter() - started
        print(f"Signed in {len(browsers)} patients through the sign-in page in {took:.1f} s "
              f"({2 * len(browsers) / took:.0f} requests/s at 16 clients)")
        rng = random.Random(args.seed)
        pages = [
            Page(browser=browsers[p.referral_id], url=f"/my-scan/scans/{p.referral_id}/choose/") for p in browsing
        ]
        mixes = list(FILTER_MIXES)

        def choice_page(client: int, n: int) -> Outcome:
            page = pages[(client + n * max(levels)) % len(pages)]
            params = _params(mixes[n % len(mixes)], rng)
            status, _ = page.browser.get(page.url + ("?" + urlencode(params) if params else ""))
            return Outcome(1, "ok" if status == 200 else f"HTTP {status}")

        queue = [(browsers[p.referral_id], p) for p in booking]
        lock = threading.Lock()

        def booking_action(client: int, n: int) -> Outcome:
            with lock:
                if not queue:
                    return Outcome(0, "no patients left")
                browser, patient = queue.pop()
            status, confirm_page = browser.post(f"/my-scan/scans/{patient.referral_id}/hold/",
                                                {"slot_id": patient.slot_id, "filter_query": ""})
            if status != 302:
                return Outcome(1, f"hold HTTP {status}")
            # The confirm form names its hold, as the page the hold redirects to (…/confirm/?hold=<id>) does.
            status, location = browser.post(confirm_page, {"hold_id": confirm_page.rpartition("hold=")[2]})
            if status != 302 or "/appointment/" not in location:
                return Outcome(2, f"confirm HTTP {status}")
            return Outcome(2, "ok")

        # Warm up: every worker serves each kind of request once before anything is timed.
        run_step(choice_page, args.workers, 3.0, 4 * args.workers)
        warm_bookings = run_step(booking_action, args.workers, 3.0, 2 * args.workers).outcomes["ok"]
        results = {
            "choice page (GET)": run_steps(choice_page, levels, args.step_seconds, args.max_requests),
            "booking (POST hold + POST confirm)": run_steps(
                booking_action, levels, args.step_seconds, args.max_requests
            ),
        }
        booked = _count_bookings() - bookings_before

    print()
    for name, steps in results.items():
        print_table(name, steps)
    answered = warm_bookings + sum(s.outcomes["ok"] for s in results["booking (POST hold + POST confirm)"])
    print(f"New bookings in the database: {booked}; booking actions answered ok: {answered} "
          f"({warm_bookings} of them warming up)")
    _purge_queues()
    return 0


# Data ------------------------------------------------------------------------------------------


def _fresh_database(*, reuse: bool) -> str:
    """A new, empty database for this run; sets DATABASE_URL (or SQLITE_FILE) for Django and gunicorn."""
    given = os.environ.get("DATABASE_URL", "")
    if not given:
        os.environ["SQLITE_FILE"] = SQLITE_FILE
        path = ROOT / SQLITE_FILE
        path.parent.mkdir(exist_ok=True)
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return ""
    import psycopg

    parts = urlsplit(given)
    url = urlunsplit(parts._replace(path="/" + BENCH_DATABASE))
    if not reuse:
        admin = urlunsplit(parts._replace(path="/postgres", query=""))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    os.environ["DATABASE_URL"] = url
    return url


@dataclass(frozen=True)
class Patient:
    referral_id: int
    booking_reference: str
    date_of_birth: object
    slot_id: int | None = None


def _choose_patients(browsing: int, booking: int, seed: int) -> tuple[list[Patient], list[Patient]]:
    """Waiting patients with one referral each; each booker gets an open pool slot of their own."""
    from django.db.models import Count
    from django.utils import timezone

    from booking.models import Referral, ReferralStatus
    from slots.models import Slot, SlotStatus

    rng = random.Random(seed)
    single = (
        Referral.objects.filter(status=ReferralStatus.WAITING)
        .annotate(n=Count("patient__referrals"))
        .filter(n=1)
        .values_list("pk", "booking_reference", "patient__date_of_birth", "exam_type__modality_id")
    )
    rows = list(single[:50_000])
    rng.shuffle(rows)
    soon = timezone.now() + timedelta(days=2)
    free: dict[int, list[int]] = {}
    for slot_id, modality_id in Slot.objects.filter(
        status=SlotStatus.OPEN, pooled=True, starts_at__gt=soon
    ).values_list("pk", "modality_id"):
        free.setdefault(modality_id, []).append(slot_id)
    for slots in free.values():
        rng.shuffle(slots)
    browsers = [Patient(pk, ref, dob) for pk, ref, dob, _ in rows[:browsing]]
    bookers = []
    for pk, ref, dob, modality_id in rows[browsing:]:
        if len(bookers) >= booking:
            break
        if free.get(modality_id):
            bookers.append(Patient(pk, ref, dob, free[modality_id].pop()))
    return browsers, bookers


def _count_bookings() -> int:
    from django.db import connection

    from booking.models import Booking

    connection.close()
    return Booking.objects.count()


def _purge_queues() -> None:
    """The app queued a notification task per booking and no worker ran here: drop them."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        dropped = client.delete(*CELERY_QUEUES)
        if dropped:
            print(f"(dropped {dropped} Celery queue(s) of tasks the run queued for a worker it did not start)")
    except redis.RedisError as exc:
        print(f"(could not drop the queued tasks: {exc})")
    finally:
        client.close()


# The app -------------------------------------------------------------------------------------------


class Gunicorn:
    """gunicorn serving wmin.wsgi on 127.0.0.1 and a free port, in its own process group."""

    def __init__(self, database_url: str, workers: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE="wmin.settings.production",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_SECURE_SSL_REDIRECT="false",  # plain HTTP on loopback; production is behind TLS
            LOG_LEVEL="WARNING",
        )
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / "bench-load-gunicorn.log"

    def __enter__(self) -> Gunicorn:
        self.log_path.parent.mkdir(exist_ok=True)
        command = [
            sys.executable, "-m", "gunicorn", "wmin.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--worker-class", "sync", "--timeout", "60", "--backlog", "2048",
            "--preload",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/health/")
                if connection.getresponse().status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise SystemExit(f"gunicorn did not answer /health/ within 60 s:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.3)

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """One patient's browser: cookies (session, CSRF) and a connection to the app."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[int, str]:
        return self._request("GET", path, None)

    def post(self, path: str, form: dict[str, object]) -> tuple[int, str]:
        return self._request("POST", path, urlencode(form))

    def _request(self, method: str, path: str, body: str | None) -> tuple[int, str]:
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        try:
            self.connection.request(method, path, body, headers)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers.get("Location", "")


def _sign_in_all(app: Gunicorn, patients: list[Patient]) -> dict[int, Browser]:
    def sign_in(patient: Patient) -> tuple[int, Browser]:
        browser = Browser(app.port)
        status, _ = browser.get("/accounts/patient/sign-in/")
        dob = patient.date_of_birth
        status, location = browser.post("/accounts/patient/sign-in/", {
            "booking_reference": patient.booking_reference,
            "dob_day": dob.day, "dob_month": dob.month, "dob_year": dob.year,  # type: ignore[attr-defined]
        })
        if status != 302 or "sessionid" not in browser.cookies:
            raise SystemExit(f"Patient sign-in failed for {patient.booking_reference}: HTTP {status} {location}")
        return patient.referral_id, browser

    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(pool.map(sign_in, patients))


# The load ------------------------------------------------------------------------------------------


@dataclass
class Page:
    browser: Browser
    url: str


@dataclass(frozen=True)
class Outcome:
    requests: int
    result: str  # "ok", or what went wrong


@dataclass
class Step:
    clients: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # one per operation
    requests: int = 0
    outcomes: Counter = field(default_factory=Counter)
    ran_out: bool = False

    @property
    def operations(self) -> int:
        return sum(self.outcomes.values())

    @property
    def errors(self) -> int:
        return self.operations - self.outcomes["ok"]


def run_steps(operation: Callable[[int, int], Outcome], levels: list[int], seconds: float, max_requests: int) -> list[Step]:
    steps = []
    for clients in levels:
        step = run_step(operation, clients, seconds, max_requests)
        steps.append(step)
        print(f"  {clients:>3} clients: {step.requests / step.seconds:7.1f} requests/s, "
              f"p95 {_percentile(step.latencies_ms, 0.95):7.1f} ms, errors {step.errors}", flush=True)
        if step.ran_out:
            break
    return steps


def run_step(operation: Callable[[int, int], Outcome], clients: int, seconds: float, max_requests: int) -> Step:
    step = Step(clients)
    lock = threading.Lock()
    budget = [max_requests]
    start_together = threading.Barrier(clients)

    def client(number: int) -> None:
        start_together.wait()
        n = 0
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            began = time.perf_counter()
            try:
                outcome = operation(number, n)
            except Exception as exc:  # a connection refused or reset, a timeout
                outcome = Outcome(1, type(exc).__name__)
            took = (time.perf_counter() - began) * 1000
            n += 1
            with lock:
                if outcome.result == "no patients left":
                    step.ran_out = True
                    return
                step.requests += outcome.requests
                step.outcomes[outcome.result] += 1
                step.latencies_ms.append(took)

    started = time.perf_counter()
    deadline = started + seconds
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    step.seconds = time.perf_counter() - started
    return step


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def knee(steps: list[Step]) -> Step | None:
    """The last step before throughput stops growing (less than KNEE_GAIN more) or errors start."""
    best = None
    for step in steps:
        rate = step.operations / step.seconds
        if best is not None:
            best_rate = best.operations / best.seconds
            if rate < best_rate * (1 + KNEE_GAIN) or step.errors > 0.01 * step.operations:
                return best
        best = step
    return None


def print_table(name: str, steps: list[Step]) -> None:
    per_operation = "booking" in name
    print(f"{name}:")
    header = f"  {'clients':>7} {'requests':>8} {'req/s':>7}"
    if per_operation:
        header += f" {'bookings/s':>10}"
    header += f" {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}"
    print(header)
    for step in steps:
        line = f"  {step.clients:>7} {step.requests:>8} {step.requests / step.seconds:7.1f}"
        if per_operation:
            line += f" {step.operations / step.seconds:10.1f}"
        error_rate = 100 * step.errors / step.operations if step.operations else 0.0
        line += (f" {_percentile(step.latencies_ms, 0.5):8.1f} {_percentile(step.latencies_ms, 0.95):8.1f}"
                 f" {error_rate:6.1f}%")
        if step.ran_out:
            line += "  (ran out of patients to book)"
        print(line)
        failures = {k: v for k, v in step.outcomes.items() if k != "ok"}
        if failures:
            print(f"          errors: {dict(failures)}")
    found = knee(steps)
    what = "booking actions" if per_operation else "pages"
    if found is None:
        last = steps[-1]
        print(f"  knee: not reached by {last.clients} clients ({last.operations / last.seconds:.1f} {what}/s, "
              f"p95 {_percentile(last.latencies_ms, 0.95):.0f} ms)\n")
        return
    after = steps[steps.index(found) + 1]
    gain = (after.operations / after.seconds) / (found.operations / found.seconds) - 1
    stretch = _percentile(after.latencies_ms, 0.95) / _percentile(found.latencies_ms, 0.95)
    print(f"  knee: about {found.clients} concurrent clients, {found.operations / found.seconds:.1f} {what}/s at "
          f"p95 {_percentile(found.latencies_ms, 0.95):.0f} ms; doubling to {after.clients} gave {gain:+.0%} "
          f"throughput for p95 x{stretch:.1f}\n")


if __name__ == "__main__":
    sys.exit(main())

"""Time the patient choice page at a full network's scale: python -m bench.shortlist [--help]

Loads the 47 sites and a seeded synthetic network (about 100,000 open pool slots and a 100,000
referral waiting list) into SQLite (var/bench-shortlist.sqlite3) or, when DATABASE_URL is set,
that PostgreSQL database; then requests the choice page through Django's test client as signed-in
patients, with a mix of filters, and prints:

- server time per page (middleware, view, queries, template; no network): p50, p95, mean;
- queries per page for each filter mix;
- requests per second with --threads concurrent clients.

The data is kept between runs (--rebuild makes it again). On PostgreSQL the bench only writes
into a database with no slots in it, unless --rebuild is given: it replaces all synthetic demand.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

TARGET_P95_MS = 50.0
FILTER_MIXES: dict[str, dict[str, str]] = {
    "no filters": {},
    "morning, step-free": {"filtered": "1", "time_of_day": "morning", "needs": "step_free"},
    "40 km by bus": {"filtered": "1", "travel_mode": "public_transport", "max_travel_km": "40"},
    "dates + work postcode": {"filtered": "1", "unavailable_dates": "", "work_postcode": "B1 1AA"},
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shortlist", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open-slots", type=int, default=100_000, help="open pool slots to aim for")
    parser.add_argument("--referrals", type=int, default=100_000, help="size of the waiting list")
    parser.add_argument("--requests", type=int, default=400, help="timed requests for the latency figures")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients for requests/s")
    parser.add_argument("--concurrent-requests", type=int, default=400)
    parser.add_argument("--patients", type=int, default=100, help="distinct signed-in patients to use")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true", help="replace the synthetic demand")
    parser.add_argument(
        "--relaxed-durability", action="store_true",
        help="diagnostic: commit without waiting for the disk (PostgreSQL synchronous_commit=off, "
             "SQLite synchronous=NORMAL), to see how much of the time is fsync",
    )
    args = parser.parse_args()

    _configure_django()
    if args.relaxed_durability:
        _relax_durability()
    from django.db import connection

    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    _ensure_data(args)
    clients = _signed_in_clients(args.patients, args.seed)
    print(f"Machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")

    _query_counts(clients[0])
    latencies = _latency(clients, args.requests, args.seed)
    _print_latency(latencies)
    _throughput(clients, args.threads, args.concurrent_requests, args.seed)


def _configure_django() -> None:
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wmin.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would record every query and slow every page
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("SQLITE_FILE", "var/bench-shortlist.sqlite3")
        (root / "var").mkdir(exist_ok=True)
    import django

    django.setup()


def _relax_durability() -> None:
    from django.db.backends.signals import connection_created

    def relax(sender, connection, **kwargs) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET synchronous_commit TO off")
            elif connection.vendor == "sqlite":
                cursor.execute("PRAGMA synchronous=NORMAL")

    connection_created.connect(relax, weak=False)
    print("Relaxed durability: commits do not wait for the disk (diagnostic only).")


def _ensure_data(args: argparse.Namespace) -> None:
    from pathlib import Path as _Path

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from slots.models import Slot, SlotStatus
    from slots.network_loader import load_network
    from wmin.simulation.demand import DemandSize, clear_synthetic_demand, generate_demand

    call_command("migrate", verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # a property of the bench's own file, not a setting
            cursor.execute("PRAGMA journal_mode=WAL")
    now = timezone.now()
    open_slots = Slot.objects.filter(status=SlotStatus.OPEN, starts_at__gt=now).count()
    if open_slots >= args.open_slots * 0.8 and not args.rebuild:
        print(f"Reusing the data: {open_slots:,} open slots.")
        return
    if connection.vendor != "sqlite" and Slot.objects.exists() and not args.rebuild:
        sys.exit("This PostgreSQL database already holds slots; pass --rebuild to replace its synthetic demand.")
    started = time.perf_counter()
    network = load_network(_Path(settings.FIXTURES_DIR))
    clear_synthetic_demand()
    # About 1,100 open slots a day at a 6 % release over 13 weeks (measured): scale the share to the target.
    share = min(0.5, 0.06 * args.open_slots / 100_000)
    size = DemandSize("bench", args.referrals, 91, share, 0.15, 0.25)
    print("Generating the synthetic network (a few minutes)…", flush=True)
    demand = generate_demand(size, seed=args.seed, now=now, show_progress=False)
    with connection.cursor() as cursor:  # planner statistics for the freshly loaded tables
        cursor.execute("ANALYZE")
    print(
        f"Loaded {network.sites} sites, {demand.referrals:,} referrals, {demand.slots:,} pool slots "
        f"({demand.open_slots:,} open) in {time.perf_counter() - started:.0f} s."
    )


def _signed_in_clients(count: int, seed: int) -> list[tuple[object, str]]:
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Role, User
    from booking.models import Referral, ReferralStatus

    ids = list(Referral.objects.filter(status=ReferralStatus.WAITING).values_list("pk", flat=True)[:20_000])
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    clients = []
    # One handler for every patient's client, as one gunicorn worker serves them all: each test
    # Client would otherwise load the middleware on its first request, and WhiteNoise's start-up
    # (indexing some 1,600 static files) would be timed as if it were that patient's page.
    handler = Client().handler
    for referral in Referral.objects.select_related("patient").filter(pk__in=chosen):
        user = User.objects.filter(patient=referral.patient).first()
        if user is None:
            user = User(username=f"patient-{referral.patient_id}", role=Role.PATIENT, patient=referral.patient)
            user.set_unusable_password()
            user.save()
        client = Client()
        client.handler = handler
        client.force_login(user, backend=settings.PATIENT_SIGN_IN_BACKEND)
        clients.append((client, reverse("booking:patient-choices", kwargs={"referral_id": referral.pk})))
    return clients


def _params(mix: str, rng: random.Random) -> dict[str, str]:
    params = dict(FILTER_MIXES[mix])
    if "unavailable_dates" in params:
        from django.utils import timezone

        today = timezone.localdate()
        days = sorted(rng.sample(range(1, 30), 3))
        params["unavailable_dates"] = ", ".join((today + timedelta(days=d)).strftime("%d/%m/%Y") for d in days)
    return params


def _query_counts(client_and_url: tuple[object, str]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, url = client_and_url
    rng = random.Random(0)
    print("\nQueries per page (all of them: session, user, page, audit row, session save):")
    for mix in FILTER_MIXES:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, _params(mix, rng))
        assert response.status_code == 200, response.status_code
        print(f"  {mix:<24} {len(queries)}")


def _latency(clients: list[tuple[object, str]], requests: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    mixes = list(FILTER_MIXES)
    for client, url in clients[:10]:  # warm up: templates compiled, caches filled
        client.get(url)
    timings: dict[str, list[float]] = {mix: [] for mix in mixes}
    cpu: list[float] = []
    for i in range(requests):
        client, url = clients[i % len(clients)]
        mix = mixes[i % len(mixes)]
        params = _params(mix, rng)
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get(url, params)
        elapsed = (time.perf_counter() - started) * 1000
        cpu.append((time.thread_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.status_code
        timings[mix].append(elapsed)
    timings["(CPU time of the request thread)"] = cpu
    return timings


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _print_latency(timings: dict[str, list[float]]) -> None:
    cpu = timings.pop("(CPU time of the request thread)", [])
    everything = [t for values in timings.values() for t in values]
    print(f"\nServer time per choice page, ms ({len(everything)} requests, one at a time):")
    print(f"  {'filters':<24} {'p50':>7} {'p95':>7} {'mean':>7}")
    for mix, values in timings.items():
        print(f"  {mix:<24} {_percentile(values, 0.5):7.1f} {_percentile(values, 0.95):7.1f} {statistics.fmean(values):7.1f}")
    p95 = _percentile(everything, 0.95)
    print(f"  {'all':<24} {_percentile(everything, 0.5):7.1f} {p95:7.1f} {statistics.fmean(everything):7.1f}")
    if cpu:  # wall time minus this is waiting: for the disk (commits), the database, or a busy CPU
        print(f"  {'CPU time, this process':<24} {_percentile(cpu, 0.5):7.1f} {_percentile(cpu, 0.95):7.1f} {statistics.fmean(cpu):7.1f}")
    print(f"  target p95 <= {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'NOT met'}")


def _throughput(clients: list[tuple[object, str]], threads: int, total: int, seed: int) -> None:
    from django.db import connections

    mixes = list(FILTER_MIXES)
    per_thread = max(1, total // threads)
    errors: list[str] = []
    lock = threading.Lock()

    def work(worker: int) -> int:
        rng = random.Random(seed + worker)
        done = 0
        try:
            for i in range(per_thread):
                client, url = clients[(worker * per_thread + i) % len(clients)]
                response = client.get(url, _params(mixes[i % len(mixes)], rng))
                if response.status_code != 200:
                    with lock:
                        errors.append(str(response.status_code))
                done += 1
        finally:
            connections.close_all()
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        done = sum(pool.map(work, range(threads)))
    elapsed = time.perf_counter() - started
    print(f"\nConcurrent: {threads} threads, {done} requests in {elapsed:.1f} s: {done / elapsed:.0f} requests/s"
          f"{f' ({len(errors)} errors)' if errors else ''}")
    print("  (one Python process: the GIL bounds this; gunicorn runs a process per core)")


if __name__ == "__main__":
    main()

"""Time the network managers' pages at the whole network's size: python -m bench.dashboards [--help]

Loads the 47 sites and a seeded synthetic network (a quarter's 120,000-referral waiting list by
default) into SQLite (var/bench-dashboards.sqlite3) or, when DATABASE_URL is set, that PostgreSQL
database; gets the dashboards ready as `make demo` does (today's wait snapshot, four weeks of
reconstructed history, and a what-if simulation from the database for the capacity advice); then
requests each page through Django's test client as a signed-in network manager and prints the
server time per page (middleware, view, queries, template; no network): median, p95, queries.

The data is kept between runs (--rebuild makes it again). On PostgreSQL the bench only writes into a
database with no referrals in it, unless --rebuild is given: it replaces all synthetic demand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

TARGET_MS = 300.0
PAGES = {
    "overview": ("network:overview", []),
    "waits by trust": ("network:waits", ["trust"]),
    "waits by site": ("network:waits", ["site"]),
    "map": ("network:map", []),
    "trends": ("network:trends", []),
    "capacity advice": ("network:capacity", []),
}
TARGETED = ("overview", "waits by trust", "waits by site", "map")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboards", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--referrals", type=int, default=120_000, help="size of the waiting list to generate")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true", help="replace the synthetic demand and snapshots")
    args = parser.parse_args()

    _configure_django()
    from django.db import connection

    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    _ensure_data(args)
    client = _manager_client()
    print(f"Machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    _time_pages(client, args.requests)


def _configure_django() -> None:
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wmin.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would record every query and slow every page
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("SQLITE_FILE", "var/bench-dashboards.sqlite3")
        (root / "var").mkdir(exist_ok=True)
    import django

    django.setup()


def _ensure_data(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from booking.models import Referral
    from slots.network_loader import load_network
    from wmin.demo.dashboards import prepare_dashboards
    from wmin.network.models import SimulationRun, WaitSnapshot
    from wmin.simulation.demand import DemandSize, clear_synthetic_demand, generate_demand

    call_command("migrate", verbosity=0)
    now = timezone.now()
    referrals = Referral.objects.count()
    if referrals >= args.referrals * 0.9 and not args.rebuild:
        print(f"Reusing the data: {referrals:,} referrals.")
    else:
        if connection.vendor != "sqlite" and referrals and not args.rebuild:
            sys.exit("This PostgreSQL database already holds referrals; pass --rebuild to replace its synthetic demand.")
        started = time.perf_counter()
        load_network(Path(settings.FIXTURES_DIR))
        clear_synthetic_demand()
        WaitSnapshot.objects.all().delete()
        SimulationRun.objects.all().delete()
        print("Generating the synthetic network (several minutes)…", flush=True)
        size = DemandSize("bench", args.referrals, 42, 0.10, 0.15, 0.25)
        demand = generate_demand(size, seed=args.seed, now=now)
        print(f"Loaded {demand.referrals:,} referrals and {demand.slots:,} pool slots in {time.perf_counter() - started:.0f} s.")
    started = time.perf_counter()
    ready = prepare_dashboards(now)
    if ready.snapshot_rows or ready.simulation:
        print(
            f"Dashboards made ready in {time.perf_counter() - started:.0f} s: {ready.snapshot_rows:,} snapshot rows"
            + (f", simulation {ready.simulation.pk} {ready.simulation.status}" if ready.simulation else "")
        )
    with connection.cursor() as cursor:  # planner statistics for the freshly loaded tables
        cursor.execute("ANALYZE")


def _manager_client():  # -> django.test.Client
    from django.test import Client

    from accounts.models import Role, User

    user, _ = User.objects.get_or_create(username="bench-manager", defaults={"role": Role.MANAGER})
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _time_pages(client, requests: int) -> None:
    from django.db import connection
    from django.urls import reverse

    print(f"\nServer time per page, ms ({requests} requests each, one at a time, after 3 to warm up):")
    print(f"  {'page':<18} {'median':>7} {'p95':>7} {'max':>7} {'queries':>8}")
    medians = {}
    for name, (route, route_args) in PAGES.items():
        url = reverse(route, args=route_args)
        for _ in range(3):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.get("Location"))
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        timings.sort()
        medians[name] = statistics.median(timings)
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        print(f"  {name:<18} {medians[name]:7.1f} {p95:7.1f} {timings[-1]:7.1f} {len(queries):8d}")
    print(f"  {'overview, live':<18} {_live_overview(client):7.1f}  (the first page before any snapshot: works it out, then stores it)")
    worst = max(medians[name] for name in TARGETED)
    print(
        f"  target: overview, waits and map each <= {TARGET_MS:.0f} ms (median): "
        f"{'met' if worst <= TARGET_MS else 'NOT met'} (slowest {worst:.1f} ms)"
    )


def _live_overview(client, requests: int = 3) -> float:
    """The overview's median time with no snapshot to read (they are put back afterwards)."""
    from django.db import transaction
    from django.urls import reverse

    from wmin.network.models import WaitSnapshot

    timings = []
    for _ in range(requests):  # the first page stores what it works out: each try starts with none
        with transaction.atomic():
            WaitSnapshot.objects.all().delete()
            started = time.perf_counter()
            assert client.get(reverse("network:overview")).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    return statistics.median(timings)


if __name__ == "__main__":
    main()

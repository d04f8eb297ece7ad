"""HL7 ingest over MLLP: python -m bench.hl7_ingest [--messages 4000] [--connections K --processes P]
[--workers 8] [--group-runners N]

Generates N SIU messages (S24 releases, then S12 local bookings of some of them and of new slots),
starts `manage.py run_mllp` in its own process(es) against a fresh benchmark database (PostgreSQL
`wmin_bench_hl7` on the DATABASE_URL server when it is set, else a SQLite file), sends the messages
from K concurrent kept-open connections, each waiting for its ACK before the next, and prints
messages/s and ACK latency p50/p95 beside the raw `hl7.parse` rate of the same messages, measured in
the same run.

Without --connections/--processes it runs two shapes of load, each on a fresh database:
- 8 connections to one listener process: each connection waits for its ACK, so this measures the
  round trip and leaves most of the machine idle;
- 32 connections (the network's 15 trusts with a scheduling and an order feed each, and two to
  spare) to two listener processes, one per core: the load the hub takes from the whole network,
  which is what its ingest rate is.
Each message goes on the next connection, so a slot's S12 races its S24 on another connection;
--by-slot sends each slot's events on one connection, in order, as a RIS sends them.
With --profile it also runs a slice of the messages through ingest in this process under cProfile
and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "wmin_bench_hl7"
SERVER_URL = os.environ.get("DATABASE_URL", "")  # the server's own database, to create the bench one from
FACILITY = "BENCH"
SCANNERS = [f"RBN01-CT{n}" for n in range(1, 5)] + [f"RBN01-MR{n}" for n in range(1, 4)]


# Set-up ----------------------------------------------------------------------------------------


def bench_environment() -> tuple[dict[str, str], str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="wmin.settings.production",
        DJANGO_SECRET_KEY="bench-only-not-a-secret-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="localhost",
        LOG_LEVEL="WARNING",
        REDIS_URL="",
    )
    env.pop("REDIS_URL")
    url = SERVER_URL
    if url:
        parts = urlsplit(url)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
        return env, f"PostgreSQL ({parts.hostname}:{parts.port or 5432}/{BENCH_DB})"
    env["SQLITE_FILE"] = "var/bench_hl7.sqlite3"
    return env, "SQLite (var/bench_hl7.sqlite3)"


def fresh_database(env: dict[str, str]) -> None:
    url = SERVER_URL
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {BENCH_DB}")
    else:
        (ROOT / "var").mkdir(exist_ok=True)
        (ROOT / env["SQLITE_FILE"]).unlink(missing_ok=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


def drop_database(env: dict[str, str]) -> None:
    url = SERVER_URL
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    else:
        (ROOT / env["SQLITE_FILE"]).unlink(missing_ok=True)


def seed() -> None:
    """One trust whose RIS sends as BENCH: a hospital with CT and MR scanners, an exam per modality."""
    import datetime as dt

    from slots.models import ICB, ExamType, Modality, Scanner, Site, Trust
    from wmin.feeds.models import FeedProfile

    icb = ICB.objects.create(code="QBN", name="Bench ICB")
    trust = Trust.objects.create(ods_code="RBN", name="Bench Hospitals NHS Trust", short_name="Bench", icb=icb)
    site = Site.objects.create(
        code="RBN01", name="Bench General", trust=trust, icb=icb, kind="hospital", postcode="B15 2TG", outcode="B15",
        latitude=52.45, longitude=-1.94, location_precision="unit_postcode", opens_at=dt.time(8), closes_at=dt.time(20),
    )
    ct = Modality.objects.create(code="CT", name="CT")
    mr = Modality.objects.create(code="MR", name="MRI")
    ExamType.objects.create(code="CHEAD", name="CT Head", modality=ct, duration_minutes=15)
    ExamType.objects.create(code="MKNEE", name="MRI Knee", modality=mr, duration_minutes=30)
    for resource in SCANNERS:
        modality = ct if "-CT" in resource else mr
        Scanner.objects.create(site=site, modality=modality, name=resource, ris_resource_id=resource)
    # The bench's RIS sends from this machine; profiles admit only the hosts they list.
    FeedProfile.objects.create(trust=trust, sending_facilities=[FACILITY], hl7_version="2.5.1",
                               allowed_hosts=["127.0.0.1", "::1"])


def generate(count: int, *, start: int = 0) -> list[bytes]:
    """S24 releases, each followed later by an S12 for half of them; a third of S12s are new slots."""
    from wmin.feeds.simulator.messages import RisStyle, SimPatient, siu

    style = RisStyle(FACILITY)
    base = datetime.now(UTC).replace(microsecond=0)
    patient = SimPatient("9434765919", "Jones", "Rhian", date(1971, 5, 2))
    out: list[bytes] = []
    for n in range(start, start + count):
        released = n % 3 != 2
        slot = f"S{(n if released else n - 1):07d}"
        scanner = SCANNERS[n % len(SCANNERS)]
        exam = "CHEAD" if "-CT" in scanner else "MKNEE"
        starts = base + timedelta(days=1 + n % 40, minutes=15 * (n % 40))
        text = siu(
            "S24" if released else "S12",
            style=style, control_id=f"B{n:09d}", sent_at=base + timedelta(seconds=n), slot_id=slot, starts_at=starts,
            minutes=15, status="open" if released else "booked", scanner_id=scanner, site_code="RBN01",
            exam_code=exam, exam_name="CT Head", patient=None if released else patient,
        )
        out.append(text.encode("utf-8"))
    return out


# Measuring -------------------------------------------------------------------------------------


def raw_parse_rate(messages: list[bytes]) -> float:
    import hl7

    texts = [m.decode("utf-8") for m in messages]
    for text in texts[:50]:
        hl7.parse(text)
    started = time.perf_counter()
    for text in texts:
        hl7.parse(text)
    return len(texts) / (time.perf_counter() - started)


def core_parse_rate(messages: list[bytes]) -> float:
    from wmin.feeds.hl7.envelope import clean
    from wmin.feeds.hl7.parse import parse_message

    started = time.perf_counter()
    for message in messages:
        parse_message(clean(message)[0].text)
    return len(messages) / (time.perf_counter() - started)


def into_lanes(messages: list[bytes], connections: int, *, by_slot: bool = False) -> list[list[bytes]]:
    """The messages for each connection, in order: one message each in turn, so a slot's S12 goes
    on another connection than its S24, at the same moment (a race the hub settles by slot
    version, and the harder load); with `by_slot`, each slot's events on one connection, one after
    another, as a RIS sends them."""
    if not by_slot:
        return [messages[i::connections] for i in range(connections)]
    lanes: list[list[bytes]] = [[] for _ in range(connections)]
    for message in messages:
        slot_id = message.split(b"\rSCH|", 1)[1].split(b"|", 2)[1]  # SCH-2, the RIS's slot id
        lanes[zlib.crc32(slot_id) % connections].append(message)
    return lanes


async def send_all(host: str, port: int, lanes: list[list[bytes]]) -> tuple[float, list[float], dict[str, int]]:
    from wmin.feeds.hl7.mllp import MllpDecoder, frame

    latencies: list[float] = []
    codes: dict[str, int] = {}

    async def lane(messages: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        decoder = MllpDecoder()
        for message in messages:
            sent = time.perf_counter()
            writer.write(frame(message))
            await writer.drain()
            replies: list[bytes] = []
            while not replies:
                chunk = await reader.read(65536)
                if not chunk:
                    raise ConnectionError("listener closed the connection")
                replies = decoder.feed(chunk)
            latencies.append(time.perf_counter() - sent)
            code = replies[0].split(b"MSA|", 1)[1][:2].decode() if b"MSA|" in replies[0] else "??"
            codes[code] = codes.get(code, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(lane(messages) for messages in lanes))
    return time.perf_counter() - started, latencies, codes


def start_listener(env: dict[str, str], workers: int, processes: int) -> tuple[subprocess.Popen, str, int]:
    ready = Path(tempfile.mkstemp(prefix="mllp-ready-")[1])
    ready.unlink()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_mllp", "--port", "0", "--workers", str(workers),
         "--processes", str(processes), "--ready-file", str(ready)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not ready.exists() or not ready.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the listener did not start")
        time.sleep(0.1)
    host, port = ready.read_text().strip().rsplit(":", 1)
    ready.unlink()
    return process, host, int(port)


def profile_ingest(messages: list[bytes]) -> str:
    from django.db import connection

    from wmin.feeds.ingest import receive

    profiler = cProfile.Profile()
    profiler.enable()
    for message in messages:
        receive(message, peer="127.0.0.1:1")
    profiler.disable()
    connection.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(28)
    stats.sort_stats("tottime").print_stats(18)
    return out.getvalue()


def _cpu_seconds(pid: int) -> float:
    """CPU of the listener and its children (the --processes listeners)."""
    import psutil

    parent = psutil.Process(pid)
    total = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def _database_cpu() -> float:
    """CPU of the local PostgreSQL server processes (0 for SQLite, which runs inside the listener)."""
    import psutil

    total = 0.0
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("postgres"):
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True)
class Shape:
    connections: int
    processes: int

    def __str__(self) -> str:
        return f"{self.connections} connections, {self.processes} listener process(es)"


DEFAULT_SHAPES = (Shape(8, 1), Shape(32, 2))


@dataclass(frozen=True)
class Result:
    shape: Shape
    rate: float
    p50_ms: float
    p95_ms: float
    parse_rate: float


def measure(shape: Shape, args: argparse.Namespace, env: dict[str, str], database: str) -> Result:
    """One shape of load on a fresh database: the run's figures, printed and returned."""
    from django.conf import settings
    from django.db import connection

    from wmin.feeds.models import InboundMessage

    connection.close()
    fresh_database(env)
    seed()
    messages = generate(args.messages)
    warm_up = generate(100, start=args.messages + 10)
    connection.close()
    size = statistics.mean(len(m) for m in messages)
    parse_rate = raw_parse_rate(messages)
    core_rate = core_parse_rate(messages)

    process, host, port = start_listener(env, args.workers, shape.processes)
    try:
        lanes = into_lanes(messages, shape.connections, by_slot=args.by_slot)
        asyncio.run(send_all(host, port, into_lanes(warm_up, shape.connections, by_slot=args.by_slot)))
        listener_cpu, database_cpu, own_cpu = _cpu_seconds(process.pid), _database_cpu(), time.process_time()
        seconds, latencies, codes = asyncio.run(send_all(host, port, lanes))
        listener_cpu = _cpu_seconds(process.pid) - listener_cpu
        database_cpu = _database_cpu() - database_cpu
        own_cpu = time.process_time() - own_cpu
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    stored = InboundMessage.objects.filter(control_id__in=[f"B{n:09d}" for n in range(args.messages)]).count()
    result = Result(shape, args.messages / seconds, percentile(latencies, .5) * 1000,
                    percentile(latencies, .95) * 1000, parse_rate)
    print(f"\n{args.messages} SIU messages (S24/S12, {size:.0f} bytes avg), {shape.connections} connections, "
          f"{shape.processes} listener process(es) x {args.workers} workers, "
          f"{settings.MLLP_GROUP_RUNNERS} group runners, {os.cpu_count()} CPUs, {database}")
    print(f"{'':34}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'ingest over MLLP (store+apply+ACK)':34}{result.rate:9.0f}{result.p50_ms:9.1f}{result.p95_ms:9.1f}")
    print(f"{'raw hl7.parse, same messages':34}{parse_rate:9.0f}")
    print(f"{'hub core clean+parse_message':34}{core_rate:9.0f}")
    print(f"ACKs: {codes}; stored {stored}/{args.messages}")
    print(f"Listener process CPU: {listener_cpu:.1f} s = {listener_cpu / args.messages * 1000:.2f} ms/message "
          f"({listener_cpu / seconds:.0%} of one core over the run)")
    print(f"Database server CPU: {database_cpu / args.messages * 1000:.2f} ms/message (local postgres processes); "
          f"these {shape.connections} client connections: {own_cpu / args.messages * 1000:.2f} ms/message")
    print(f"Load average when the run ended (other work on the machine): {os.getloadavg()[0]:.2f}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hl7_ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=None, help="one shape: this many connections")
    parser.add_argument("--processes", type=int, default=None, help="one shape: this many listener processes")
    parser.add_argument("--workers", type=int, default=8, help="the listener's worker threads")
    parser.add_argument("--group-runners", type=int, default=None,
                        help="groups of frames each listener applies at once (default: MLLP_GROUP_RUNNERS)")
    parser.add_argument("--by-slot", action="store_true",
                        help="send each slot's events on one connection, as a RIS does (see into_lanes)")
    parser.add_argument("--profile", action="store_true", help="also profile ingest in this process")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    if args.connections is None and args.processes is None:
        shapes = DEFAULT_SHAPES
    else:
        shapes = (Shape(args.connections or 8, args.processes or 1),)

    env, database = bench_environment()
    if args.group_runners is not None:
        env["MLLP_GROUP_RUNNERS"] = str(args.group_runners)
    os.environ.update({k: v for k, v in env.items() if k in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY",
                                                             "DJANGO_ALLOWED_HOSTS", "LOG_LEVEL")})
    os.environ.pop("REDIS_URL", None)
    for key in ("DATABASE_URL", "SQLITE_FILE", "MLLP_GROUP_RUNNERS"):
        if key in env:
            os.environ[key] = env[key]
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)

    print(f"Database: {database}; a fresh schema for each shape of load ...", flush=True)
    fresh_database(env)
    import django

    django.setup()
    from django.db import connection

    results = [measure(shape, args, env, database) for shape in shapes]
    print(f"\n{'shape of load':40}{'msg/s':>8}{'p95 ms':>8}{'of raw parse':>14}  targets: >= 300/s, >= half raw parse")
    for r in results:
        half, floor = r.rate >= r.parse_rate / 2, r.rate >= 300
        print(f"{r.shape!s:40}{r.rate:8.0f}{r.p95_ms:8.1f}{r.rate / r.parse_rate:14.0%}  "
              f"{'met' if floor else 'MISSED'}, {'met' if half else 'MISSED'}")

    if args.profile:
        sample = generate(min(args.messages, 1000), start=args.messages + 1000)
        print("\nProfile of ingest.receive in this process (one thread, same database):")
        print(profile_ingest(sample))
    connection.close()
    if not args.keep:
        drop_database(env)


if __name__ == "__main__":
    main()

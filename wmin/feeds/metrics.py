"""What the MLLP listener did, as an operator's Prometheus scrape reads it.

Each listener process counts in memory (`ListenerMetrics`: a lock and a few dict updates per frame)
and every few seconds writes its running totals and its gauges to its own row of
`ListenerProcessStats` (one UPDATE per process, whatever the traffic). The web app's `/metrics`
sums the rows: counters and the ACK latency histogram over every process that ever ran (a stopped
process keeps its final totals, so the sums never go down), gauges over the processes that reported
in the last few intervals. Once a day `fold_retired` adds the rows of processes silent for a day
into one `retired` row, so the table holds one row per live process and one for all the past. The
listener runs in its own processes (pre-forked children too), and the database is the one store
every deployment has (Redis is optional here), so that is where they meet.
"""

from __future__ import annotations

import bisect
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import ListenerProcessStats

# ACK latency buckets (seconds): the bench's target is p95 <= 50 ms at 8 connections.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MESSAGE_TYPES = frozenset({"ADT", "ORM", "OMI", "OMG", "SIU", "SRM", "SQM", "SQR", "ACK", "ORU", "MDM", "QRY"})
ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
LIVE_INTERVALS = 3  # a process that has not reported for this many intervals is not counted in gauges

Labels = tuple[tuple[str, str], ...]


class ListenerMetrics:
    """One process's counters, its ACK latency histogram and the gauges it reads when asked."""

    def __init__(self, gauges: Callable[[], dict[str, float]] = dict) -> None:
        self._counters: dict[tuple[str, Labels], float] = {}
        self._buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last: slower than every bucket
        self._latency_sum = 0.0
        self._lock = threading.Lock()
        self.gauges = gauges

    def count(self, name: str, n: float = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + n

    def answered(self, payload: bytes, reply: bytes | None, seconds: float) -> None:
        """One frame answered (`reply` None: closed without an ACK, nothing stored)."""
        kind = message_type(payload)
        code = ack_code(reply) if reply is not None else "none"
        key = ("messages_total", (("code", code), ("type", kind)))
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1
            self._buckets[index] += 1
            self._latency_sum += seconds

    def snapshot(self) -> dict[str, object]:
        """Running totals and current gauges, as JSON."""
        with self._lock:
            counters = [[name, dict(labels), value] for (name, labels), value in self._counters.items()]
            buckets, total = list(self._buckets), self._latency_sum
        return {"counters": counters, "latency_buckets": buckets, "latency_sum": total, "gauges": self.gauges()}


def message_type(payload: bytes) -> str:
    """MSH-9.1 read straight from the bytes (no decoding: this runs for every frame); `other` for
    a type the hub does not know, so a hostile sender cannot invent label values."""
    start = payload.find(b"MSH")
    if start < 0 or len(payload) < start + 8:
        return "other"
    separator = payload[start + 3 : start + 4]
    line_end = min((i for i in (payload.find(b"\r", start), payload.find(b"\n", start)) if i >= 0), default=len(payload))
    fields = payload[start:line_end].split(separator, 9)
    if len(fields) < 9:
        return "other"
    kind = fields[8][:3].decode("ascii", "replace").upper()
    return kind if kind in MESSAGE_TYPES else "other"


def ack_code(reply: bytes) -> str:
    """MSA-1 of a reply (the first, for a batch)."""
    start = reply.find(b"MSA")
    code = reply[start + 4 : start + 6].decode("ascii", "replace") if start >= 0 else ""
    return code if code in ACK_CODES else "other"


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record(process: str, started_at: datetime, snapshot: dict[str, object]) -> None:
    """Write one process's snapshot over its last."""
    ListenerProcessStats.objects.update_or_create(
        process=process, started_at=started_at, defaults={"snapshot": snapshot, "updated_at": timezone.now()}
    )


RETIRED = "retired"  # the one row that holds the final totals of every stopped process
RETIRED_STARTED_AT = datetime(2000, 1, 1, tzinfo=UTC)
RETIRE_AFTER = timedelta(days=1)


def fold_retired(*, now: datetime | None = None) -> int:
    """Add every process silent for RETIRE_AFTER into the `retired` row and delete its own row;
    the counters and the latency histogram sum the same before and after. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        retired, _ = ListenerProcessStats.objects.select_for_update().get_or_create(
            process=RETIRED, started_at=RETIRED_STARTED_AT, defaults={"updated_at": now, "snapshot": {}}
        )
        stopped = list(
            ListenerProcessStats.objects.select_for_update()
            .filter(updated_at__lt=now - RETIRE_AFTER)
            .exclude(pk=retired.pk)
        )
        if not stopped:
            return 0
        retired.snapshot = _summed([retired.snapshot, *(row.snapshot for row in stopped)]).snapshot()
        retired.updated_at = now - RETIRE_AFTER  # never live: its gauges are not counted
        retired.save(update_fields=["snapshot", "updated_at"])
        ListenerProcessStats.objects.filter(pk__in=[row.pk for row in stopped]).delete()
        return len(stopped)


@dataclass
class _Totals:
    """Counters and the ACK latency histogram of several snapshots, added up."""

    counters: dict[tuple[str, Labels], float] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def add(self, snapshot: dict[str, Any]) -> None:
        for name, labels, value in snapshot.get("counters", []):
            key = (name, tuple(sorted(labels.items())))
            self.counters[key] = self.counters.get(key, 0) + value
        for index, value in enumerate(snapshot.get("latency_buckets", [])[: len(self.buckets)]):
            self.buckets[index] += value
        self.latency_sum += float(snapshot.get("latency_sum", 0.0))

    def snapshot(self) -> dict[str, object]:
        counters = [[name, dict(labels), value] for (name, labels), value in self.counters.items()]
        return {"counters": counters, "latency_buckets": self.buckets, "latency_sum": self.latency_sum, "gauges": {}}


def _summed(snapshots: Iterable[dict[str, Any]]) -> _Totals:
    totals = _Totals()
    for snapshot in snapshots:
        totals.add(snapshot)
    return totals


# Reading them all ---------------------------------------------------------------------------------


def exposition(*, interval: float, now: datetime | None = None) -> str:
    """Every listener process's figures summed, in the Prometheus text format (0.0.4)."""
    now = now or timezone.now()
    rows = list(ListenerProcessStats.objects.values_list("snapshot", "updated_at"))
    live_since = now - timedelta(seconds=interval * LIVE_INTERVALS)
    totals = _summed(snapshot for snapshot, _ in rows)
    counters, buckets, latency_sum = totals.counters, totals.buckets, totals.latency_sum
    gauges: dict[str, float] = {}
    live = 0
    for snapshot, updated_at in rows:
        if updated_at >= live_since:
            live += 1
            for name, value in snapshot.get("gauges", {}).items():
                gauges[name] = gauges.get(name, 0) + value
    lines: list[str] = []
    for name, kind, text in _FAMILIES:
        if kind == "counter":
            series = sorted((labels, value) for (family, labels), value in counters.items() if family == name)
            _family(lines, name, kind, text, series or [((), 0)])
        elif name == "processes":
            _family(lines, name, kind, text, [((), live)])
        elif kind == "gauge":
            _family(lines, name, kind, text, [((), gauges.get(name, 0))])
        else:
            _histogram(lines, name, text, buckets, latency_sum)
    return "\n".join(lines) + "\n"


PREFIX = "wmin_mllp_"
_FAMILIES = (
    ("messages_total", "counter", "Frames answered, by MSH-9 message type and MSA-1 code (none: closed unanswered)"),
    ("connections_refused_total", "counter", "Connections closed at accept, by reason (a connection cap)"),
    ("connections_closed_total", "counter", "Connections the listener closed, by reason (timeouts, junk)"),
    ("frames_refused_total", "counter", "Frames answered AR without a message: junk (no MSH) or oversize"),
    ("accept_errors_total", "counter", "accept() failures, by errno (the listener then pauses accepting)"),
    ("connections_open", "gauge", "Connections open now"),
    ("queue_depth", "gauge", "Frames waiting for a group runner"),
    ("frames_applying", "gauge", "Frames in the database with a group now"),
    ("processes", "gauge", "Listener processes reporting"),
    ("ack_latency_seconds", "histogram", "Time from a frame's last byte to its ACK being written"),
)


def _family(lines: list[str], name: str, kind: str, text: str, series: Iterable[tuple[Labels, float]]) -> None:
    lines.append(f"# HELP {PREFIX}{name} {text}")
    lines.append(f"# TYPE {PREFIX}{name} {kind}")
    for labels, value in series:
        lines.append(f"{PREFIX}{name}{_labels(labels)} {_number(value)}")


def _histogram(lines: list[str], name: str, text: str, buckets: list[int], total: float) -> None:
    lines.append(f"# HELP {PREFIX}{name} {text}")
    lines.append(f"# TYPE {PREFIX}{name} histogram")
    running = 0
    for bound, count in zip([*map(str, LATENCY_BUCKETS), "+Inf"], buckets, strict=True):
        running += count
        lines.append(f'{PREFIX}{name}_bucket{{le="{bound}"}} {running}')
    lines.append(f"{PREFIX}{name}_sum {_number(total)}")
    lines.append(f"{PREFIX}{name}_count {running}")


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))

"""The MLLP listener: every trust's RIS on long-lived connections, one ACK per frame, in order.

asyncio owns the sockets; the Django work (store, parse, apply) runs through `asyncio.to_thread` on a
bounded pool of worker threads, so many connections wait on the network at once. Frames that arrive
while the database is busy wait in one queue and are taken as a group by the next free runner
(`ingest.apply_together`: one INSERT and one transaction for the group, so a burst from many
trusts shares its commits). The runner gathering a group waits up to GROUP_LINGER_SECONDS for the
next frames of the other connections that are busy sending; a quiet feed's group is one message
and waits for nothing. Each connection has its own MllpDecoder and sends its next frame's reply
only after the last one, so its ACKs go back in the order its messages came. A bad frame is stored
and answered like any other; an oversized frame is dropped by the decoder, recorded and answered AR;
neither stops the connection. If the message cannot even be stored (the database is down) the
connection is closed without an ACK, so the RIS sends it again rather than dropping it.

A hospital network has idle, half-open and hostile clients too:
- one accept loop (with a configurable backlog) for a single process and for pre-forked ones; at a
  cap (all connections, or one host's) a new connection is closed at once, counted, and logged at
  most once a minute; when the process is out of file descriptors it pauses accepting briefly
  rather than failing in a loop;
- a connection that sends no frame for `idle_timeout`, or leaves a frame half sent for
  `partial_frame_timeout` (counted from the frame's first byte, so trickling does not extend it),
  is closed;
- a frame with no HL7 message in it (junk) is answered AR and counted, but at most one a minute per
  connection is stored, as a sample; a connection that has sent only junk is closed after a few.
Counters and gauges go to wmin/feeds/metrics.py (Prometheus, at /metrics).

TLS when settings.MLLP_TLS_CERT and MLLP_TLS_KEY are set. SIGINT/SIGTERM: stop accepting, let
messages in flight finish and answer, close idle connections, then close each worker's database
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import ipaddress
import logging
import math
import resource
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, MutableSequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.utils import timezone

from . import ingest, metrics
from .hl7 import ack as hl7ack
from .hl7.envelope import holds_message
from .hl7.mllp import FrameTooLarge, MllpDecoder, frame
from .logs import RateLimitedLog
from .models import FeedProfile, InboundMessage, InboundStatus

log = logging.getLogger(__name__)
limited = RateLimitedLog(log)

DEFAULT_MAX_MESSAGE_BYTES = 1_048_576
DEFAULT_WORKERS = 8
MAX_GROUP = 64
READ_CHUNK = 65536
SHUTDOWN_GRACE_SECONDS = 15.0
CONNECTION_CHECK_SECONDS = 1.0
# When accept() finds the process out of file descriptors (or the kernel out of buffers), wait this
# long before trying again: the waiting connections stay in the backlog, and no error loop runs.
ACCEPT_PAUSE_SECONDS = 0.5
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
ACCEPT_BATCH = 64  # connections taken per wake-up by a process that has no siblings
# Descriptors a process keeps for itself beyond its connections: database connections (one per
# worker thread), the listening socket, logs, the event loop's own.
RESERVED_DESCRIPTORS = 64
JUNK_SAMPLE_SECONDS = 60.0
JUNK_FRAMES_BEFORE_CLOSE = 5
# A runner waits this long at most for the frames of connections that are busy sending: their ACKs
# just went out, their next frames are on the way, and one group of eight costs little more than
# one of one. A connection is busy if it sent a frame in the last BUSY_SECONDS; alone, no wait.
GROUP_LINGER_SECONDS = 0.002
BUSY_SECONDS = 0.25
# While one group is in the database, the next gathers the frames that come and waits for that
# group's connections to send again, so the two become one group rather than two halves; unless
# the first takes longer than this (a lock wait), when the next goes on without it.
STALLED_SECONDS = 0.05
# Processes sharing one listening socket take new connections in turn: one that holds more than a
# sibling leaves a waiting connection to it for this long (if the sibling is slow, it takes it).
BALANCE_WAIT_SECONDS = 0.05


class DjangoWorkerPool(ThreadPoolExecutor):
    """The listener's worker threads; `close_connections` closes each thread's database connection."""

    def close_connections(self, timeout: float = 5.0) -> None:
        threads = len(self._threads)  # the threads started so far (ThreadPoolExecutor starts them lazily)
        if not threads:
            return
        barrier = threading.Barrier(threads, timeout=timeout)

        def close_here() -> None:
            connections.close_all()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # hold this thread so every other one takes a call too

        for future in [self.submit(close_here) for _ in range(threads)]:
            with contextlib.suppress(Exception):
                future.result(timeout=timeout + 1)


@dataclass
class MllpListener:
    """One listening socket and its connections. Start and stop it on a running event loop."""

    max_workers: int = DEFAULT_WORKERS
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ssl_context: ssl.SSLContext | None = None
    handle: Callable[[bytes, str], bytes] | None = None  # tests and the bench may swap the ingest
    thread_initializer: Callable[[], None] | None = None
    pool: DjangoWorkerPool | None = None
    group_runners: int | None = None  # groups in the database at once; None: settings.MLLP_GROUP_RUNNERS
    max_group: int = MAX_GROUP
    _queue: asyncio.Queue | None = None
    _gathering: asyncio.Lock | None = None
    _runners: list[asyncio.Task] = field(default_factory=list)
    _alone: set[asyncio.Task] = field(default_factory=set)
    _connections: set[asyncio.Task] = field(default_factory=set)
    _busy: set[asyncio.Task] = field(default_factory=set)
    _stopping: bool = False
    group_linger: float = GROUP_LINGER_SECONDS
    group_stall: float = STALLED_SECONDS
    busy_window: float = BUSY_SECONDS
    _last_frame_at: dict[asyncio.Task, float] = field(default_factory=dict)
    _applying: int = 0  # frames in the database with the runners' groups
    _stirred: asyncio.Event = field(default_factory=asyncio.Event)  # a frame came or a group ended
    groups_applied: int = 0
    # With a socket shared by sibling processes: every process's connection count (shared memory),
    # and which is this one's.
    connection_counts: MutableSequence[int] | None = None
    count_index: int = 0
    _accepting: asyncio.Task | None = None
    # Hostile and idle clients (None: from settings; see the module docstring).
    idle_timeout: float | None = None
    partial_frame_timeout: float | None = None
    max_connections: int | None = None  # all processes together
    max_connections_per_host: int | None = None  # per process
    max_unlisted_connections: int | None = None  # per process, from hosts no feed profile admits
    watch_profiles: bool = True  # look at the profiles' hosts again every few seconds
    accept_backlog: int | None = None
    junk_frames_before_close: int = JUNK_FRAMES_BEFORE_CLOSE
    junk_sample_seconds: float = JUNK_SAMPLE_SECONDS
    metrics_seconds: float | None = None  # how often the figures are written for /metrics
    record_metrics: bool = True
    metrics: metrics.ListenerMetrics | None = None
    _own_socket: socket.socket | None = None
    _per_host: dict[str, int] = field(default_factory=dict)
    _unlisted: int = 0
    _admitted: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    _watching: asyncio.Task | None = None
    _descriptor_budget: int = 0
    _reporting: asyncio.Task | None = None
    _started_at: datetime | None = None

    async def start(self, host: str, port: int, *, sock: socket.socket | None = None) -> tuple[str, int]:
        """Listen on host:port, or on an already listening socket shared with sibling processes."""
        loop = asyncio.get_running_loop()
        self._settle_limits()
        self.pool = DjangoWorkerPool(
            max_workers=self.max_workers, thread_name_prefix="mllp-worker", initializer=self.thread_initializer
        )
        loop.set_default_executor(self.pool)  # asyncio.to_thread runs on this bounded pool
        if self.handle is None:
            runners = self.group_runners or settings.MLLP_GROUP_RUNNERS
            self._queue = asyncio.Queue()
            self._gathering = asyncio.Lock()
            self._runners = [asyncio.create_task(self._run_groups()) for _ in range(max(1, min(runners, self.max_workers)))]
        await self._load_admitted()
        if self.watch_profiles:
            self._watching = asyncio.create_task(self._watch_profiles())
        if sock is None:
            sock = self._own_socket = listening_socket(host, port, backlog=self.accept_backlog or 1)
        if self.connection_counts is None:
            self.connection_counts = [0]  # no siblings: each connection is taken as it comes
        sock.setblocking(False)
        self._accepting = asyncio.create_task(self._accept_in_turn(sock))
        self.metrics = self.metrics or metrics.ListenerMetrics(self._gauges)
        self._started_at = timezone.now()
        if self.record_metrics:
            self._reporting = asyncio.create_task(self._report_every(self.metrics_seconds or 1.0))
        address = sock.getsockname()
        return address[0], address[1]

    def _settle_limits(self) -> None:
        """Settings for what was not given; the connection budget this process's file limit allows."""
        self.idle_timeout = self.idle_timeout or float(settings.MLLP_IDLE_TIMEOUT_SECONDS)
        self.partial_frame_timeout = self.partial_frame_timeout or float(settings.MLLP_PARTIAL_FRAME_TIMEOUT_SECONDS)
        self.max_connections = self.max_connections or settings.MLLP_MAX_CONNECTIONS
        self.max_connections_per_host = self.max_connections_per_host or settings.MLLP_MAX_CONNECTIONS_PER_HOST
        self.max_unlisted_connections = self.max_unlisted_connections or settings.MLLP_MAX_UNLISTED_CONNECTIONS
        self.accept_backlog = self.accept_backlog or settings.MLLP_ACCEPT_BACKLOG
        self.metrics_seconds = self.metrics_seconds or float(settings.MLLP_METRICS_SECONDS)
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        reserved = RESERVED_DESCRIPTORS + 2 * self.max_workers
        self._descriptor_budget = max(1, soft - reserved) if soft != resource.RLIM_INFINITY else 1 << 30
        if self._descriptor_budget < self.max_connections:
            log.warning(
                "hl7.connection_cap_lowered",
                extra={"max_connections": self.max_connections, "open_file_limit": soft,
                       "connections_this_process_can_hold": self._descriptor_budget},
            )

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting, finish the messages being handled, close every connection and the pool."""
        self._stopping = True
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(BaseException):
                await self._accepting
        if self._own_socket is not None:
            self._own_socket.close()
        for task in list(self._connections):
            if task not in self._busy:
                task.cancel()  # idle: waiting for bytes that may never come
        if self._connections:
            _, pending = await asyncio.wait(list(self._connections), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        for runner in self._runners:  # every connection has had its replies: nothing is queued
            runner.cancel()
        if self._runners:
            await asyncio.wait(self._runners, timeout=2)
        if self._watching is not None:
            self._watching.cancel()
        if self._reporting is not None:
            self._reporting.cancel()
            with contextlib.suppress(BaseException):
                await self._reporting
            await self._report()  # the final figures
        if self.pool is not None:
            # From outside the pool: close_connections needs every worker thread free.
            closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp-closer")
            try:
                await asyncio.get_running_loop().run_in_executor(closer, self._close_pool)
            finally:
                closer.shutdown(wait=False)

    def _close_pool(self) -> None:
        assert self.pool is not None
        self.pool.close_connections()
        self.pool.shutdown(wait=True)

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def _gauges(self) -> dict[str, float]:
        return {
            "connections_open": float(self.connection_count),
            "queue_depth": float(self._queue.qsize() if self._queue is not None else 0),
            "frames_applying": float(self._applying),
        }

    async def _report_every(self, seconds: float) -> None:
        while True:
            await self._report()
            await asyncio.sleep(seconds)

    async def _report(self) -> None:
        """This process's figures to its row for /metrics; a failure (the database down) waits for the next."""
        assert self.metrics is not None and self._started_at is not None
        snapshot, started_at = self.metrics.snapshot(), self._started_at
        try:
            await asyncio.to_thread(self._call, lambda: metrics.record(metrics.this_process(), started_at, snapshot))
        except Exception:
            limited.warning("hl7.metrics_not_recorded", key="", exc_info=True)

    async def _accept_in_turn(self, sock: socket.socket) -> None:
        """Accept connections, the least loaded of sibling processes first.

        asyncio's own server takes every connection waiting each time the socket is readable, so
        when the RIS all connect at once (a restart) one process would take them all and the
        other cores would sit idle. A process with no siblings takes up to ACCEPT_BATCH at a time.
        """
        loop = asyncio.get_running_loop()
        counts = self.connection_counts
        assert counts is not None
        batch = ACCEPT_BATCH if len(counts) == 1 else 1
        while not self._stopping:
            await _readable(loop, sock)
            since = loop.time()
            while self._more_loaded_than_a_sibling() and loop.time() - since < BALANCE_WAIT_SECONDS:
                await asyncio.sleep(0.002)
            for _ in range(batch):
                try:
                    accepted, address = sock.accept()
                except (BlockingIOError, InterruptedError):
                    break  # none waiting (a sibling took it)
                except OSError as exc:
                    await self._accept_failed(exc)
                    break
                try:
                    self._take(accepted, address)
                except Exception:  # a bug here must not stop the listener accepting
                    limited.warning("hl7.accept_crashed", key="", exc_info=True)
                    accepted.close()

    async def _accept_failed(self, exc: OSError) -> None:
        name = errno.errorcode.get(exc.errno or 0, "OSError")
        assert self.metrics is not None
        self.metrics.count("accept_errors_total", error=name)
        if exc.errno in _OUT_OF_RESOURCES:
            limited.warning("hl7.accept_paused", key=name, error=name, pause_seconds=ACCEPT_PAUSE_SECONDS,
                            connections=self.connection_count)
            await asyncio.sleep(ACCEPT_PAUSE_SECONDS)
        else:
            limited.warning("hl7.accept_failed", key=name, error=name, detail=str(exc))
            await asyncio.sleep(0.05)

    def _take(self, accepted: socket.socket, address: object) -> None:
        """Serve a new connection, or close it at once if a cap says so."""
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        listed = self._is_listed(host)
        counts = self.connection_counts
        assert counts is not None and self.max_connections and self.max_connections_per_host
        assert self.max_unlisted_connections
        if sum(counts) >= self.max_connections:
            reason = "max_connections"
        elif counts[self.count_index] >= self._descriptor_budget:
            reason = "open_file_limit"
        elif self._per_host.get(host, 0) >= self.max_connections_per_host:
            reason = "max_connections_per_host"
        elif not listed and self._unlisted >= self.max_unlisted_connections:
            reason = "max_unlisted_connections"
        else:
            reason = ""
        if reason:
            accepted.close()
            assert self.metrics is not None
            self.metrics.count("connections_refused_total", reason=reason)
            limited.warning("hl7.connection_refused", key=f"{reason}:{host}", reason=reason, peer_host=host,
                            connections=sum(counts), from_this_host=self._per_host.get(host, 0))
            return
        accepted.setblocking(False)
        self._counted(+1)  # now, before another accept: the task that serves it starts later
        self._per_host[host] = self._per_host.get(host, 0) + 1
        self._unlisted += not listed
        adopting = asyncio.create_task(self._adopt(accepted, host, listed))  # a slow TLS handshake holds up no other
        self._alone.add(adopting)
        adopting.add_done_callback(self._alone.discard)

    async def _adopt(self, accepted: socket.socket, host: str, listed: bool) -> None:
        """Serve an accepted connection as asyncio's server would (with the TLS handshake, if any)."""
        reader = asyncio.StreamReader(limit=READ_CHUNK * 4)
        serve = functools.partial(self._serve_connection, host=host, listed=listed)
        protocol = asyncio.StreamReaderProtocol(reader, serve)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: protocol, accepted, ssl=self.ssl_context,
                ssl_handshake_timeout=self.partial_frame_timeout if self.ssl_context else None,
            )
        except (ConnectionError, ssl.SSLError, OSError, TimeoutError):
            limited.info("hl7.connection_refused_at_handshake", key=host, peer_host=host)
            accepted.close()
            self._counted(-1)
            self._left(host, listed)

    def _left(self, host: str, listed: bool) -> None:
        remaining = self._per_host.get(host, 0) - 1
        if remaining > 0:
            self._per_host[host] = remaining
        else:
            self._per_host.pop(host, None)
        self._unlisted -= not listed

    def _is_listed(self, host: str) -> bool:
        """Whether an active feed profile admits this host (as of the last look at the profiles)."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._admitted)

    def _more_loaded_than_a_sibling(self) -> bool:
        counts = self.connection_counts
        assert counts is not None
        return counts[self.count_index] > min(counts)

    def _counted(self, change: int) -> None:
        if self.connection_counts is not None:
            self.connection_counts[self.count_index] += change

    async def _watch_profiles(self) -> None:
        while True:
            await asyncio.sleep(ingest.PROFILE_CACHE_SECONDS)
            await self._load_admitted()

    async def _load_admitted(self) -> None:
        try:
            self._admitted = await asyncio.to_thread(self._call, _admitted_networks)
        except Exception:
            limited.warning("hl7.profiles_not_read", key="", exc_info=True)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, host: str, listed: bool
    ) -> None:
        task = asyncio.current_task()
        assert task is not None and self.idle_timeout and self.partial_frame_timeout
        self._connections.add(task)
        loop = asyncio.get_running_loop()
        state = _Connection(peer_text(writer.get_extra_info("peername")), host, loop.time())
        decoder = MllpDecoder(self.max_message_bytes)
        closed_because = ""
        log.info("hl7.connection_opened", extra={"peer": state.peer})
        try:
            while not self._stopping:
                if decoder.in_frame:
                    deadline, why = state.frame_started_at + self.partial_frame_timeout, "partial_frame_timeout"
                else:
                    deadline, why = state.last_frame_at + self.idle_timeout, "idle_timeout"
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await reader.read(READ_CHUNK)
                except TimeoutError:
                    closed_because = why
                    break
                except (ConnectionError, ssl.SSLError, OSError):
                    break
                if not chunk:
                    break
                self._busy.add(task)
                try:
                    closed_because = await self._take_chunk(chunk, decoder, state, writer)
                finally:
                    self._busy.discard(task)
                if closed_because:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(task)
            self._counted(-1)
            self._left(state.host, listed)
            self._last_frame_at.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=2)
            if closed_because:
                assert self.metrics is not None
                self.metrics.count("connections_closed_total", reason=closed_because)
                limited.info("hl7.connection_closed", key=f"{closed_because}:{state.host}", peer=state.peer,
                             reason=closed_because, frames=state.frames, refused_frames=state.refused_frames)
            else:
                log.info("hl7.connection_closed", extra={"peer": state.peer})

    async def _take_chunk(
        self, chunk: bytes, decoder: MllpDecoder, state: _Connection, writer: asyncio.StreamWriter
    ) -> str:
        """Answer every frame the chunk completes, in order; why the connection must close, or ""."""
        loop = asyncio.get_running_loop()
        assert self.metrics is not None
        was_in_frame = decoder.in_frame
        completed = 0
        while True:
            try:
                payloads = decoder.feed(chunk)
            except FrameTooLarge as exc:
                if await self._refuse_frame(state, writer, b"", f"Frame refused: {exc}; send smaller messages", "oversize"):
                    return "refused_frames_only"
                payloads = []
            chunk = b""
            if not payloads:
                break
            completed += len(payloads)
            for payload in payloads:
                started = loop.time()
                if not await _holds_message(payload):
                    reason = "Frame refused: it holds no HL7 message (no MSH, BHS or FHS segment)"
                    if await self._refuse_frame(state, writer, payload, reason, "junk"):
                        return "refused_frames_only"
                    continue
                state.frames += 1
                reply = await self._reply(payload, state.peer)
                self.metrics.answered(payload, reply, loop.time() - started)
                if reply is None:
                    return "not_stored"  # closed without an ACK so the RIS sends it again
                writer.write(frame(reply))
                state.last_frame_at = loop.time()
                await writer.drain()
        await writer.drain()
        if decoder.in_frame and (not was_in_frame or completed):
            state.frame_started_at = loop.time()
        return ""

    async def _refuse_frame(
        self, state: _Connection, writer: asyncio.StreamWriter, payload: bytes, reason: str, kind: str
    ) -> bool:
        """Answer AR for a frame with no message (junk) or too big to take: counted every time,
        stored at most once a minute per connection as a sample. True: close the connection, it
        has sent nothing else."""
        assert self.metrics is not None
        loop = asyncio.get_running_loop()
        self.metrics.count("frames_refused_total", reason=kind)
        state.refused_frames += 1
        limited.warning("hl7.frame_refused", key=f"{kind}:{state.host}", reason=kind, peer=state.peer,
                        bytes=len(payload), refused_frames=state.refused_frames)
        if loop.time() - state.sampled_at >= self.junk_sample_seconds:
            held_back, state.held_back, state.sampled_at = state.held_back, 0, loop.time()
            await asyncio.to_thread(_store_sample, payload, state.peer, reason, held_back)
        else:
            state.held_back += 1
        reply = hl7ack.build_reject(payload[:4096], reason).encode("utf-8")
        writer.write(frame(reply))
        await writer.drain()
        return state.frames == 0 and state.refused_frames >= self.junk_frames_before_close

    async def _reply(self, payload: bytes, peer: str) -> bytes | None:
        if self._queue is None:
            return await asyncio.to_thread(self._handle, payload, peer)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes | None] = loop.create_future()
        task = asyncio.current_task()
        if task is not None:
            self._last_frame_at[task] = loop.time()
        self._queue.put_nowait((payload, peer, future))
        self._stirred.set()
        return await future

    async def _run_groups(self) -> None:
        """Take whatever frames are waiting (up to max_group), apply them together, answer each."""
        assert self._queue is not None
        while True:
            group = await self._take_group()
            futures = [future for _, _, future in group]
            self._applying += len(group)
            self.groups_applied += 1
            try:
                replies, leftovers = await asyncio.to_thread(
                    self._handle_group, [(payload, peer) for payload, peer, _ in group]
                )
            except Exception:  # not stored: close those connections without an ACK
                log.exception("hl7.group_failed", extra={"messages": len(group)})
                for future in futures:
                    _resolve(future, None)
                continue
            finally:
                self._applying -= len(group)
                self._stirred.set()
            for index, reply in replies.items():
                _resolve(futures[index], reply)
            for index, answer in leftovers:
                task = asyncio.create_task(self._answer_alone(answer, futures[index]))
                self._alone.add(task)
                task.add_done_callback(self._alone.discard)

    async def _take_group(self) -> list[tuple[bytes, str, asyncio.Future]]:
        """The frames waiting, up to max_group; while other busy connections have yet to send
        theirs, wait for them up to `group_linger` from the first. One runner gathers at a time,
        so runners do not split a burst between them. Frames that come while another group is in
        the database wait for it to end (up to `group_stall`), then gather with the frames its
        connections send next; past that, they go on beside it."""
        assert self._queue is not None and self._gathering is not None
        async with self._gathering:
            return await self._gather()

    async def _gather(self) -> list[tuple[bytes, str, asyncio.Future]]:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        group = [await self._queue.get()]
        first_at = loop.time()
        deadline = first_at + self.group_linger
        while len(group) < self.max_group:
            if not self._queue.empty():
                group.append(self._queue.get_nowait())
                continue
            now = loop.time()
            if self._applying and now - first_at < self.group_stall:
                await self._stir(first_at + self.group_stall - now)
                deadline = max(deadline, loop.time() + self.group_linger)
                continue
            remaining = deadline - now
            if remaining <= 0 or len(group) >= self._frames_expected(now):
                break
            await self._stir(remaining)
        return group

    async def _stir(self, timeout: float) -> None:
        """Wait until a frame comes or a group ends, for `timeout` at most."""
        self._stirred.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stirred.wait(), timeout)

    def _frames_expected(self, now: float) -> int:
        """Frames a group may soon hold: one per busy connection, less those being applied."""
        busy = sum(1 for at in self._last_frame_at.values() if now - at < self.busy_window)
        return busy - self._applying

    async def _answer_alone(self, answer: Callable[[], bytes | None], future: asyncio.Future) -> None:
        try:
            reply = await asyncio.to_thread(self._call, answer)
        except Exception:
            log.exception("hl7.receive_failed")
            reply = None
        _resolve(future, reply)

    def _handle_group(
        self, frames: list[tuple[bytes, str]]
    ) -> tuple[dict[int, bytes | None], list[tuple[int, Callable[[], bytes | None]]]]:
        """In a worker thread: replies to frames from several connections, and the frames left over."""
        return self._call(lambda: ingest.apply_together(frames))

    @staticmethod
    def _call(step: Callable[[], object]) -> object:
        _check_connection_if_due()
        try:
            return step()
        finally:
            if connection.errors_occurred:
                close_old_connections()  # a broken connection is closed now, not at the next check

    def _handle(self, payload: bytes, peer: str) -> bytes | None:
        """In a worker thread: the swapped-in `handle`'s reply to one frame, or None if it failed."""
        assert self.handle is not None
        handle = self.handle
        try:
            return self._call(lambda: handle(payload, peer))  # type: ignore[return-value]
        except Exception:
            log.exception("hl7.receive_failed", extra={"peer": peer, "bytes": len(payload)})
            return None


_checked = threading.local()


def _check_connection_if_due() -> None:
    """Django's per-request connection check (age, errors, and a health-check round trip), at most
    once a second per worker thread: under load a connection used a moment ago needs no `SELECT 1`
    before every group, and one that broke since is closed as soon as a statement fails on it."""
    now = time.monotonic()
    if connection.errors_occurred or now - getattr(_checked, "at", float("-inf")) >= CONNECTION_CHECK_SECONDS:
        close_old_connections()
        _checked.at = now


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Until the socket has a connection waiting (or had: a sibling process may take it first)."""
    ready = loop.create_future()
    loop.add_reader(sock.fileno(), lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


def _resolve(future: asyncio.Future, reply: bytes | None) -> None:
    if not future.done():
        future.set_result(reply)


@dataclass
class _Connection:
    """What the listener keeps about one connection."""

    peer: str
    host: str
    last_frame_at: float  # opened, or the last ACK written: the idle timeout counts from here
    frame_started_at: float = 0.0  # the partial-frame timeout counts from here
    frames: int = 0  # with an HL7 message in them
    refused_frames: int = 0  # junk or oversize
    sampled_at: float = -math.inf
    held_back: int = 0  # refused frames since the last sample stored


async def _holds_message(payload: bytes) -> bool:
    """Whether ingest would find a message in the frame; most start with MSH and need no more."""
    fourth = payload[3:4]
    if payload[:3] == b"MSH" and not fourth.isalnum() and fourth not in (b"\x00", b"\x0b", b"\x1c"):
        return True
    return await asyncio.to_thread(holds_message, payload)  # the whole of cleaning, off the event loop


def _admitted_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Every network (a host is a /32 or /128) an active feed profile admits."""
    networks = []
    for hosts in FeedProfile.objects.filter(active=True).values_list("allowed_hosts", flat=True):
        for entry in hosts or []:
            with contextlib.suppress(ValueError):
                networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
    return networks


def _store_sample(payload: bytes, peer: str, reason: str, held_back: int) -> None:
    """Keep one refused frame (junk, or an oversized one's size) so an admin can see what came."""
    close_old_connections()
    note = f" ({held_back} more refused on this connection since the last sample, counted not stored)" if held_back else ""
    try:
        InboundMessage.objects.create(
            raw=payload, peer=peer[:80], status=InboundStatus.REJECTED, error=f"{reason}{note}",
            ack=hl7ack.build_reject(payload[:4096], reason),
        )
    except Exception:
        log.exception("hl7.refused_frame_not_recorded", extra={"peer": peer})
    finally:
        close_old_connections()


def listening_socket(host: str, port: int, *, backlog: int) -> socket.socket:
    """A TCP socket listening on host:port with this accept backlog (the kernel caps it at somaxconn)."""
    family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=backlog, reuse_port=False)


def peer_text(peername: object) -> str:
    """'10.0.0.5:40112', or '[::1]:40112' for IPv6."""
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peername or "")


def tls_context() -> ssl.SSLContext | None:
    """A server TLS context from MLLP_TLS_CERT / MLLP_TLS_KEY, or None for plain MLLP. With
    MLLP_TLS_CLIENT_CA too, mutual TLS: a client must present a certificate that CA signed."""
    cert, key, client_ca = settings.MLLP_TLS_CERT, settings.MLLP_TLS_KEY, settings.MLLP_TLS_CLIENT_CA
    if not cert and not key:
        if client_ca:
            raise RuntimeError("MLLP_TLS_CLIENT_CA needs MLLP_TLS_CERT and MLLP_TLS_KEY: mutual TLS is TLS first")
        return None
    if not cert or not key:
        raise RuntimeError("Set both MLLP_TLS_CERT and MLLP_TLS_KEY, or neither")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


async def serve(
    host: str,
    port: int,
    *,
    max_workers: int = DEFAULT_WORKERS,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    on_ready: Callable[[str, int, bool], None] | None = None,
    sock: socket.socket | None = None,
    connection_counts: MutableSequence[int] | None = None,
    count_index: int = 0,
) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully."""
    context = tls_context()
    listener = MllpListener(
        max_workers=max_workers, max_message_bytes=max_message_bytes, ssl_context=context,
        connection_counts=connection_counts, count_index=count_index,
    )
    bound_host, bound_port = await listener.start(host, port, sock=sock)
    if on_ready is not None:
        on_ready(bound_host, bound_port, context is not None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("hl7.listener_stopping", extra={"connections": listener.connection_count})
        await listener.stop()


def serve_processes(
    host: str,
    port: int,
    *,
    processes: int,
    max_workers: int = DEFAULT_WORKERS,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    on_ready: Callable[[str, int, bool], None] | None = None,
) -> None:
    """Pre-fork: one listening socket, `processes` listener processes accepting from it.

    Python runs one thread at a time per process, and the listener spends its CPU in the database
    driver and the ORM; more processes use more cores. They take new connections in turn, the one
    with fewest first. A connection stays with the process that accepted it, so its ACKs stay in
    order; duplicates and slot versions are settled in the database. SIGINT/SIGTERM to this parent
    stops every child gracefully.
    """
    import os
    from multiprocessing.sharedctypes import RawArray

    listening = listening_socket(host, port, backlog=settings.MLLP_ACCEPT_BACKLOG)
    bound_host, bound_port = listening.getsockname()[:2]
    counts = RawArray("i", processes)  # each child writes only its own: no lock needed
    children: list[int] = []
    for index in range(processes):
        pid = os.fork()
        if pid == 0:  # the child: its own event loop, threads and database connections
            code = 0
            try:
                asyncio.run(serve(host, port, max_workers=max_workers, max_message_bytes=max_message_bytes,
                                  sock=listening, connection_counts=counts, count_index=index))
            except BaseException:
                log.exception("hl7.listener_child_failed")
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    listening.close()
    if on_ready is not None:
        on_ready(bound_host, bound_port, tls_context() is not None)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    for child in children:
        while True:
            try:
                os.waitpid(child, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue


class ListenerThread:
    """The listener on its own event loop in a background thread (tests, the simulator, the bench)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None, **options: object
    ) -> None:
        self.host, self.port, self.sock = host, port, sock
        self.options = options
        self.listener: MllpListener | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> tuple[str, int]:
        self._thread = threading.Thread(target=self._run, name="mllp-listener", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("The MLLP listener did not start")
        if self._error is not None:
            raise RuntimeError("The MLLP listener failed to start") from self._error
        return self.host, self.port

    def stop(self, timeout: float = 20.0) -> None:
        if self.loop is None or self.listener is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop)
        with contextlib.suppress(Exception):
            future.result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)

    def record_metrics_now(self, timeout: float = 10.0) -> None:
        """Write the listener's figures for /metrics now rather than at its next interval."""
        assert self.loop is not None and self.listener is not None
        asyncio.run_coroutine_threadsafe(self.listener._report(), self.loop).result(timeout)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.listener = MllpListener(**self.options)  # type: ignore[arg-type]
            self.host, self.port = self.loop.run_until_complete(
                self.listener.start(self.host, self.port, sock=self.sock)
            )
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

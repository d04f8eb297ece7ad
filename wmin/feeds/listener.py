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

TLS when settings.MLLP_TLS_CERT and MLLP_TLS_KEY are set. SIGINT/SIGTERM: stop accepting, let
messages in flight finish and answer, close idle connections, then close each worker's database
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, MutableSequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection, connections

from . import ingest
from .models import InboundMessage, InboundStatus

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 1_048_576
DEFAULT_WORKERS = 8
MAX_GROUP = 64
READ_CHUNK = 65536
SHUTDOWN_GRACE_SECONDS = 15.0
CONNECTION_CHECK_SECONDS = 1.0
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
    _server: asyncio.base_events.Server | None = None
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

    async def start(self, host: str, port: int, *, sock: socket.socket | None = None) -> tuple[str, int]:
        """Listen on host:port, or on an already listening socket shared with sibling processes."""
        loop = asyncio.get_running_loop()
        self.pool = DjangoWorkerPool(
            max_workers=self.max_workers, thread_name_prefix="mllp-worker", initializer=self.thread_initializer
        )
        loop.set_default_executor(self.pool)  # asyncio.to_thread runs on this bounded pool
        if self.handle is None:
            runners = self.group_runners or settings.MLLP_GROUP_RUNNERS
            self._queue = asyncio.Queue()
            self._gathering = asyncio.Lock()
            self._runners = [asyncio.create_task(self._run_groups()) for _ in range(max(1, min(runners, self.max_workers)))]
        if sock is not None:
            if self.connection_counts is None:
                self.connection_counts = [0]  # no siblings: each connection is taken as it comes
            sock.setblocking(False)
            self._accepting = asyncio.create_task(self._accept_in_turn(sock))
            address = sock.getsockname()
            return address[0], address[1]
        self._server = await asyncio.start_server(
            self._serve_connection, host, port, ssl=self.ssl_context, limit=READ_CHUNK * 4, reuse_address=True
        )
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting, finish the messages being handled, close every connection and the pool."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        if self._accepting is not None:
            self._accepting.cancel()
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
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)
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

    async def _accept_in_turn(self, sock: socket.socket) -> None:
        """Accept from a socket shared with sibling processes, the least loaded first.

        asyncio's own server takes every connection waiting each time the socket is readable, so
        when the RIS all connect at once (a restart) one process would take them all and the
        other cores would sit idle.
        """
        loop = asyncio.get_running_loop()
        while not self._stopping:
            await _readable(loop, sock)
            since = loop.time()
            while self._more_loaded_than_a_sibling() and loop.time() - since < BALANCE_WAIT_SECONDS:
                await asyncio.sleep(0.002)
            try:
                accepted, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                continue  # a sibling took it
            except OSError:
                log.exception("hl7.accept_failed")
                await asyncio.sleep(0.1)
                continue
            accepted.setblocking(False)
            self._counted(+1)  # now, before another accept: the task that serves it starts later
            adopting = asyncio.create_task(self._adopt(accepted))  # a slow TLS handshake holds up no other
            self._alone.add(adopting)
            adopting.add_done_callback(self._alone.discard)

    async def _adopt(self, accepted: socket.socket) -> None:
        """Serve an accepted connection as asyncio's server would (with the TLS handshake, if any)."""
        reader = asyncio.StreamReader(limit=READ_CHUNK * 4)
        protocol = asyncio.StreamReaderProtocol(reader, self._serve_connection)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: protocol, accepted, ssl=self.ssl_context
            )
        except (ConnectionError, ssl.SSLError, OSError):
            log.info("hl7.connection_refused_at_handshake", exc_info=True)
            accepted.close()
            self._counted(-1)

    def _more_loaded_than_a_sibling(self) -> bool:
        counts = self.connection_counts
        assert counts is not None
        return counts[self.count_index] > min(counts)

    def _counted(self, change: int) -> None:
        if self.connection_counts is not None:
            self.connection_counts[self.count_index] += change

    # One connection ----------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from wmin.feeds.hl7.mllp import FrameTooLarge, MllpDecoder, frame

        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = peer_text(writer.get_extra_info("peername"))
        decoder = MllpDecoder(self.max_message_bytes)
        log.info("hl7.connection_opened", extra={"peer": peer})
        try:
            while not self._stopping:
                try:
                    chunk = await reader.read(READ_CHUNK)
                except (ConnectionError, ssl.SSLError, OSError):
                    break
                if not chunk:
                    break
                self._busy.add(task)
                try:
                    while True:
                        try:
                            payloads = decoder.feed(chunk)
                        except FrameTooLarge as exc:
                            reply = await asyncio.to_thread(_too_large, exc, peer)
                            writer.write(frame(reply))
                            payloads = []
                        chunk = b""
                        if not payloads:
                            break
                        for payload in payloads:
                            reply = await self._reply(payload, peer)
                            if reply is None:
                                return  # not stored: close without an ACK so the RIS sends it again
                            writer.write(frame(reply))
                            await writer.drain()
                    await writer.drain()
                finally:
                    self._busy.discard(task)
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(task)
            self._counted(-1)
            self._last_frame_at.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=2)
            log.info("hl7.connection_closed", extra={"peer": peer})

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


def _too_large(exc: Exception, peer: str) -> bytes:
    """An oversized frame the decoder dropped: record that it came, answer AR."""
    from wmin.feeds.hl7 import ack as hl7ack

    close_old_connections()
    reason = f"Frame refused: {exc}; send smaller messages"
    text = hl7ack.build_reject(b"", reason)
    try:
        InboundMessage.objects.create(
            raw=b"", peer=peer[:80], status=InboundStatus.REJECTED, error=reason, ack=text
        )
    except Exception:
        log.exception("hl7.too_large_not_recorded", extra={"peer": peer})
    finally:
        close_old_connections()
    return text.encode("utf-8")


def peer_text(peername: object) -> str:
    """'10.0.0.5:40112', or '[::1]:40112' for IPv6."""
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peername or "")


def tls_context() -> ssl.SSLContext | None:
    """A server TLS context from MLLP_TLS_CERT / MLLP_TLS_KEY, or None for plain MLLP."""
    cert, key = settings.MLLP_TLS_CERT, settings.MLLP_TLS_KEY
    if not cert and not key:
        return None
    if not cert or not key:
        raise RuntimeError("Set both MLLP_TLS_CERT and MLLP_TLS_KEY, or neither")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
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

    listening = socket.create_server((host, port), reuse_port=False, backlog=512)
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

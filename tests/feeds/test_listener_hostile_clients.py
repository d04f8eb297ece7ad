"""The listener on a real socket against idle, half-open, greedy and junk-sending clients."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import hl7.client
import pytest
from django.conf import settings

from tests.feeds.conftest import MllpClient, ack_code, ack_field, make_trust, running_listener
from tests.feeds.helpers import Feed
from wmin.feeds.hl7.mllp import START_BLOCK, frame
from wmin.feeds.models import InboundMessage, InboundStatus
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30.0  # generous: a loaded 2-core CI machine; the tests check that things happen, not how fast


def counted(thread, name: str, **labels: str) -> float:
    """The listener's counter, as /metrics would sum it (this process only)."""
    snapshot = thread.listener.metrics.snapshot()
    return sum(value for family, found, value in snapshot["counters"] if family == name and labels.items() <= found.items())


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {WAIT:.0f} s waiting for {what}")
        time.sleep(0.05)


def closed_by_listener(sock: socket.socket) -> bool:
    """True once the listener has closed this connection, whatever it answered first (waits up to
    WAIT for it); False if it kept it open that long."""
    sock.settimeout(WAIT)
    try:
        while sock.recv(65536):
            continue
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def connect_from(source: str, address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(WAIT)
    sock.connect(address)
    return sock


@pytest.fixture
def more_open_files():
    """Room for a few thousand sockets on both ends in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if wanted < 6000:
        pytest.skip(f"the open-file limit ({hard}) leaves no room for 2,000 idle connections and the listener's ends")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow
@pytest.mark.parametrize(
    "idle_sources",
    [["127.0.0.2"], [f"127.0.{n // 250 + 10}.{n % 250 + 1}" for n in range(500)]],
    ids=["from-one-listed-host", "from-500-unlisted-hosts"],
)
def test_two_thousand_idle_connections_do_not_stop_a_normal_client_getting_its_ack(more_open_files, idle_sources):
    make_trust("RRK", ["RRK"], allowed_hosts=["127.0.0.1", "127.0.0.2"])
    idle: list[socket.socket] = []
    with running_listener() as thread:
        address = (thread.host, thread.port)
        try:
            for n in range(2000):
                idle.append(connect_from(idle_sources[n % len(idle_sources)], address))
            wait_for(lambda: thread.listener.connection_count + counted(thread, "connections_refused_total") >= 2000,
                     "the listener to take or refuse all 2,000")

            # A client the project did not write, on the RIS's own host, while the idle ones are held.
            with contextlib.closing(hl7.client.MLLPClient(*address)) as ris:
                ris.socket.settimeout(WAIT)
                reply = ris.send_message(Feed(RisStyle("RRK")).siu("S24", "AMID-IDLE"))
        finally:
            for sock in idle:
                sock.close()
    assert ack_code(reply) == "AA"
    assert thread.listener.connection_count == 0
    reason = "max_connections_per_host" if len(idle_sources) == 1 else "max_unlisted_connections"
    assert counted(thread, "connections_refused_total", reason=reason) >= 2000 - 64


def test_a_half_sent_frame_is_closed_after_its_timeout_however_slowly_it_trickles():
    make_trust("RRK", ["RRK"])
    with running_listener(partial_frame_timeout=0.3, idle_timeout=600) as thread:
        address = (thread.host, thread.port)
        half = socket.create_connection(address, timeout=WAIT)
        half.sendall(START_BLOCK + b"MSH|^~\\&|RIS|RRK|")
        assert closed_by_listener(half)
        half.close()

        trickling = socket.create_connection(address, timeout=WAIT)
        trickling.sendall(START_BLOCK + b"MSH|")
        deadline = time.monotonic() + WAIT
        closed = False
        while not closed and time.monotonic() < deadline:  # a byte every 50 ms never completes the frame
            try:
                trickling.sendall(b"A")
                trickling.settimeout(0.05)
                closed = trickling.recv(1) == b""
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        trickling.close()
        assert closed, "a frame trickled a byte at a time was kept open"

        with MllpClient(address) as ris:  # a whole frame is untouched by it
            assert ack_code(ris.exchange(Feed(RisStyle("RRK")).siu("S24", "WHOLE"))) == "AA"
    assert counted(thread, "connections_closed_total", reason="partial_frame_timeout") == 2


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout():
    with running_listener(idle_timeout=0.3) as thread:
        silent = socket.create_connection((thread.host, thread.port), timeout=WAIT)
        assert closed_by_listener(silent)
        silent.close()
    assert counted(thread, "connections_closed_total", reason="idle_timeout") == 1


def test_caps_close_a_connection_at_once_and_count_why():
    make_trust("RRK", ["RRK"], allowed_hosts=["127.0.0.0/24"])
    feed = Feed(RisStyle("RRK"))
    options = {"max_connections": 4, "max_connections_per_host": 2, "max_unlisted_connections": 1}
    with running_listener(**options) as thread:
        address = (thread.host, thread.port)
        kept = [connect_from("127.0.0.3", address) for _ in range(2)]
        over_host_cap = connect_from("127.0.0.3", address)
        stranger = connect_from("127.0.5.5", address)  # no profile admits it: its own small share
        second_stranger = connect_from("127.0.5.6", address)
        kept.append(connect_from("127.0.0.4", address))
        over_total_cap = connect_from("127.0.0.5", address)
        assert closed_by_listener(over_host_cap)
        assert closed_by_listener(second_stranger)
        assert closed_by_listener(over_total_cap)
        for sock in kept:  # the connections within the caps are served
            assert ack_code(MllpClient(None, sock=sock).exchange(feed.siu("S24", f"KEPT-{sock.getsockname()[1]}"))) == "AA"
        for sock in [*kept, stranger, over_host_cap, second_stranger, over_total_cap]:
            sock.close()
    assert {reason: counted(thread, "connections_refused_total", reason=reason)
            for reason in ("max_connections_per_host", "max_unlisted_connections", "max_connections")} == {
        "max_connections_per_host": 1, "max_unlisted_connections": 1, "max_connections": 1,
    }


def test_junk_grows_the_raw_table_by_one_sample_per_connection_minute_and_junk_only_connections_close():
    make_trust("RRK", ["RRK"])
    feed = Feed(RisStyle("RRK"))
    noise = random.Random(16).randbytes(1 << 20)  # 1 MiB, as the issue sent it
    junk = noise.replace(b"\x0b", b"").replace(b"\x1c", b"")
    junk_frames = [junk[n : n + 16384] for n in range(0, len(junk), 16384)]
    with running_listener() as thread:
        address = (thread.host, thread.port)
        raw_stream = socket.create_connection(address, timeout=WAIT)
        with contextlib.suppress(OSError):  # closed once it has sent nothing but junk
            raw_stream.sendall(noise)
        assert closed_by_listener(raw_stream)
        raw_stream.close()

        junk_only = socket.create_connection(address, timeout=WAIT)
        with contextlib.suppress(OSError):
            for junk_frame in junk_frames:
                junk_only.sendall(frame(junk_frame))
        assert closed_by_listener(junk_only)
        junk_only.close()

        with MllpClient(address) as ris:  # a RIS that sends one bad frame among good ones keeps its connection
            assert ack_code(ris.exchange(feed.siu("S24", "BEFORE-JUNK"))) == "AA"
            refusals = [ris.exchange(junk_frame) for junk_frame in junk_frames]
            assert ack_code(ris.exchange(feed.siu("S24", "AFTER-JUNK"))) == "AA"

    assert {ack_code(r) for r in refusals} == {"AR"}
    assert "holds no HL7 message" in ack_field(refusals[0], "MSA", 3)
    samples = InboundMessage.objects.filter(status=InboundStatus.REJECTED)
    assert samples.count() == 3  # one per connection within the minute, however many frames came
    assert InboundMessage.objects.filter(status=InboundStatus.APPLIED).count() == 2
    assert counted(thread, "frames_refused_total", reason="junk") == 5 + 5 + len(junk_frames)
    assert counted(thread, "connections_closed_total", reason="refused_frames_only") == 2


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss to read the accept queue's size")
def test_the_single_process_listener_uses_the_configured_accept_backlog():
    with running_listener(accept_backlog=300) as thread:
        shown = subprocess.run(["ss", "-ltnH", f"sport = :{thread.port}"], capture_output=True, text=True, check=True)
    # For a listening socket, ss's Send-Q is the accept backlog (as the kernel caps it: somaxconn).
    with open("/proc/sys/net/core/somaxconn") as somaxconn:
        expected = min(300, int(somaxconn.read()))
    assert shown.stdout.split()[2] == str(expected)


def ask(child: subprocess.Popen, command: str) -> float:
    child.stdin.write(command + "\n")
    child.stdin.flush()
    return float(child.stdout.readline())


def test_out_of_file_descriptors_the_listener_pauses_accepting_logs_once_and_serves_the_client_later():
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("out_of_descriptors.py"))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR)},
    )
    try:
        port = int(child.stdout.readline())
        child.stdin.write("exhaust\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "exhausted"
        with MllpClient(("127.0.0.1", port), timeout=WAIT) as ris:  # waits in the accept queue
            ris.send(b"MSH|^~\\&|RIS|RRK|||||SIU^S24|1|P|2.5.1\r")
            wait_for(lambda: ask(child, "errors") >= 2, "two of the listener's tries at accept() to fail")
            child.stdin.write("free\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "freed"
            assert ack_code(ris.receive()) == "AA"
        child.stdin.write("report\n")
        child.stdin.flush()
        report = json.loads(child.stdout.readline())
    finally:
        child.kill() if child.poll() is None else None
        child.wait(timeout=WAIT)
    assert report["accept_errors"] >= 1
    assert report["messages"].count("hl7.accept_paused") == 1  # not one a try
    assert report["tracebacks"] == [], report


def test_garbled_and_oversized_frames_are_answered_and_logged_at_most_once_a_minute(caplog):
    make_trust("RRK", ["RRK"])
    with (
        caplog.at_level(logging.INFO, logger="wmin.feeds"),
        running_listener(max_message_bytes=2000) as thread,
        MllpClient((thread.host, thread.port)) as ris,
    ):
        garbled = [ris.exchange(b"MSH||||") for _ in range(3)]
        oversized = [ris.exchange(b"MSH|^~\\&|X|RRK|" + b"A" * 5000) for _ in range(3)]
        assert ack_code(ris.exchange(Feed(RisStyle("RRK")).siu("S24", "AFTER"))) == "AA"
    assert {ack_code(r) for r in garbled + oversized} == {"AR"}
    logged = [r.getMessage() for r in caplog.records]
    assert logged.count("hl7.message_unreadable") == 1
    assert logged.count("hl7.frame_refused") == 1
    assert InboundMessage.objects.filter(raw=b"MSH||||").count() == 3  # a message, however broken: every one kept
    assert InboundMessage.objects.filter(error__contains="exceeds").count() == 1  # one sample a minute
    assert counted(thread, "frames_refused_total", reason="oversize") == 3

"""Fixtures for the HL7 feed tests: a real MLLP listener on a real socket, and the trusts behind it."""

from __future__ import annotations

import itertools
import socket
from contextlib import contextmanager

import pytest
from django.db import connections
from nhs_number import calculate_checksum

from tests import factories
from tests.factories import (
    FeedProfileFactory,
    ICBFactory,
    ModalityFactory,
    ScannerFactory,
    SiteFactory,
    TrustFactory,
)
from tests.patient.db_helpers import empty_audit_trail_for_flush, is_transactional
from wmin.feeds.handlers.slots import forget_places
from wmin.feeds.hl7.mllp import MllpDecoder, frame
from wmin.feeds.ingest import forget_profiles
from wmin.feeds.listener import ListenerThread
from wmin.feeds.logs import forget_rate_limits


def _numbers_with_a_check_digit():
    for n in itertools.count(500_000):
        if calculate_checksum(f"999{n % 1_000_000:06d}") != 10:
            yield n


factories._nhs_sequence = _numbers_with_a_check_digit()


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_profiles()
    forget_places()
    forget_rate_limits()
    yield
    forget_profiles()
    forget_places()


@pytest.fixture(autouse=True)
def _audit_trail_flushable(request):
    if not is_transactional(request):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    empty_audit_trail_for_flush()


@contextmanager
def running_listener(**options: object):
    """The MLLP listener on 127.0.0.1, an ephemeral port, in a background event loop."""
    connection = connections["default"]
    shared = connection.vendor == "sqlite" and connection.is_in_memory_db()
    options.setdefault("max_workers", 4)
    if shared:
        # An in-memory SQLite database exists only on this connection: lend it to one worker thread.
        connection.inc_thread_sharing()

        def borrow() -> None:
            connections["default"] = connection

        # Its figures for /metrics are written from a worker thread at any moment: not on the test's connection.
        options.update(max_workers=1, thread_initializer=borrow, record_metrics=False, watch_profiles=False)
    thread = ListenerThread("127.0.0.1", 0, **options)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()
        if shared:
            connection.dec_thread_sharing()


@pytest.fixture
def listener(transactional_db):
    with running_listener() as thread:
        yield thread


class MllpClient:
    """A RIS end of one kept-open MLLP connection."""

    def __init__(self, address: tuple[str, int] | None, timeout: float = 30.0, *, sock: socket.socket | None = None) -> None:
        """Connect to `address`, or speak over `sock`, a connection already open (TLS, a bound source)."""
        self.sock = sock if sock is not None else socket.create_connection(address, timeout=timeout)
        self.decoder = MllpDecoder(10_000_000)
        self.waiting: list[bytes] = []

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, payload: bytes) -> None:
        self.sock.sendall(frame(payload))

    def receive(self) -> bytes:
        while not self.waiting:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("The listener closed the connection")
            self.waiting.extend(self.decoder.feed(chunk))
        return self.waiting.pop(0)

    def exchange(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.receive()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def client_for(listener):
    opened: list[MllpClient] = []

    def connect() -> MllpClient:
        client = MllpClient((listener.host, listener.port))
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.close()


def ack_code(reply: bytes) -> str:
    for segment in reply.replace(b"\n", b"\r").split(b"\r"):
        if segment.startswith(b"MSA"):
            return segment[4:6].decode()
    return ""


def ack_field(reply: bytes, segment_id: str, n: int) -> str:
    for segment in reply.decode("utf-8", "replace").replace("\n", "\r").split("\r"):
        if segment.startswith(segment_id):
            fields = segment.split("|")
            return fields[n] if len(fields) > n else ""
    return ""


def make_trust(ods: str, facilities: list[str], **profile: object):
    """A trust with one hospital site (code ods+'01') with a CT and an MR scanner, and its feed profile."""
    icb = ICBFactory(code="QHL")
    trust = TrustFactory(ods_code=ods, short_name=ods, name=f"{ods} NHS Trust", icb=icb)
    site = SiteFactory(code=f"{ods}01", trust=trust, icb=icb, name=f"{ods} General")
    ct, mr = ModalityFactory(code="CT"), ModalityFactory(code="MR")
    ScannerFactory(site=site, modality=ct, name="CT 1", ris_resource_id=f"{ods}01-CT1")
    ScannerFactory(site=site, modality=mr, name="MRI 1", ris_resource_id=f"{ods}01-MR1")
    values = {"sending_facilities": facilities, "status_map": {}, "exam_code_map": {}}
    values.update(profile)
    FeedProfileFactory(trust=trust, **values)
    return trust

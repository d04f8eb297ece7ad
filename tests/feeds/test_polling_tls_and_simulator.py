"""Polling a RIS with SQM^S25, TLS on the listener, graceful stop, and the RIS simulator's feeds."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import socket
import ssl
import subprocess

import pytest
from django.utils import timezone

from slots.models import Slot, SlotStatus
from tests.factories import ExamTypeFactory, ModalityFactory
from tests.feeds.conftest import MllpClient, ack_code, make_trust, running_listener
from tests.feeds.helpers import Feed
from wmin.feeds.handlers.queries import poll
from wmin.feeds.models import FeedProfile, InboundMessage, InboundStatus
from wmin.feeds.simulator.fake_ris import FakeRis, FakeRisThread
from wmin.feeds.simulator.feeds import scripts_for
from wmin.feeds.simulator.messages import RisStyle
from wmin.feeds.simulator.player import play


@pytest.mark.django_db
def test_polling_a_ris_with_sqm_opens_the_slots_its_sqr_lists():
    trust = make_trust("RJE", ["RJE"], slot_release_mode="sqm_poll", status_map={"Free": "open"})
    starts = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    slots = [
        {"slot_id": f"Q{n}", "starts_at": starts + dt.timedelta(minutes=30 * n), "minutes": 30, "scanner_id": "RJE01-MR1"}
        for n in range(3)
    ]
    ris = FakeRis(RisStyle("RJE", status_words={"open": "Free"}), open_slots=lambda: slots)
    with FakeRisThread(ris) as running:
        FeedProfile.objects.filter(trust=trust).update(ris_host="127.0.0.1", ris_port=running.port)
        profile = FeedProfile.objects.get(trust=trust)
        assert poll(profile.pk) == "AA"
        assert poll(profile.pk) == "AA"  # polling again changes nothing
    opened = Slot.objects.filter(trust=trust).order_by("ris_slot_id")
    assert [(s.ris_slot_id, s.status, s.pooled, s.modality.code, s.version) for s in opened] == [
        (f"Q{n}", SlotStatus.OPEN, True, "MR", 2) for n in range(3)
    ]
    assert ris.queries == 2
    assert InboundMessage.objects.filter(message_type="SQR", status=InboundStatus.APPLIED).count() == 2


def _self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
@pytest.mark.django_db(transaction=True)
def test_mllp_over_tls(tmp_path, settings):
    from wmin.feeds.listener import tls_context

    cert, key = _self_signed(tmp_path)
    settings.MLLP_TLS_CERT, settings.MLLP_TLS_KEY = str(cert), str(key)
    make_trust("RRK", ["RRK"])
    with running_listener(ssl_context=tls_context()) as listener:
        client_context = ssl.create_default_context(cafile=str(cert))
        client_context.check_hostname = False
        raw = socket.create_connection((listener.host, listener.port), timeout=20)
        with client_context.wrap_socket(raw, server_hostname="localhost") as tls:
            reply = MllpClient(None, sock=tls).exchange(Feed(RisStyle("RRK")).siu("S24", "TLS1"))
        assert ack_code(reply) == "AA"
    assert Slot.objects.filter(ris_slot_id="TLS1").exists()


def _client_certificate(tmp_path):
    """A CA, and a RIS certificate it signed."""
    ca, ca_key, csr = tmp_path / "ca.pem", tmp_path / "ca.key", tmp_path / "ris.csr"
    cert, key = tmp_path / "ris.pem", tmp_path / "ris.key"
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=WMIN RIS CA",
         "-keyout", str(ca_key), "-out", str(ca)],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rrk-ris", "-keyout", str(key), "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "1",
         "-out", str(cert)],
    ):
        subprocess.run(["openssl", *command], check=True, capture_output=True)
    return ca, cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make certificates")
@pytest.mark.django_db(transaction=True)
def test_mutual_tls_takes_a_ris_whose_certificate_the_ca_signed_and_no_other(tmp_path, settings):
    from wmin.feeds.listener import tls_context

    server_cert, server_key = _self_signed(tmp_path)
    ca, ris_cert, ris_key = _client_certificate(tmp_path)
    settings.MLLP_TLS_CERT, settings.MLLP_TLS_KEY, settings.MLLP_TLS_CLIENT_CA = str(server_cert), str(server_key), str(ca)
    make_trust("RRK", ["RRK"])
    feed = Feed(RisStyle("RRK"))

    def exchange(listener, *, certificate: bool) -> bytes:
        context = ssl.create_default_context(cafile=str(server_cert))
        context.check_hostname = False
        if certificate:
            context.load_cert_chain(str(ris_cert), str(ris_key))
        raw = socket.create_connection((listener.host, listener.port), timeout=20)
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return MllpClient(None, sock=tls).exchange(feed.siu("S24", f"MTLS-{certificate}"))

    with running_listener(ssl_context=tls_context()) as listener:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            exchange(listener, certificate=False)
        assert ack_code(exchange(listener, certificate=True)) == "AA"
    assert list(Slot.objects.values_list("ris_slot_id", flat=True)) == ["MTLS-True"]


def test_mutual_tls_without_tls_is_refused(settings):
    from wmin.feeds.listener import tls_context

    settings.MLLP_TLS_CERT = settings.MLLP_TLS_KEY = None
    settings.MLLP_TLS_CLIENT_CA = "/etc/ssl/ca.pem"
    with pytest.raises(RuntimeError, match="mutual TLS is TLS first"):
        tls_context()


@pytest.mark.django_db(transaction=True)
def test_stopping_closes_idle_connections_and_the_listener():
    make_trust("RRK", ["RRK"])
    with running_listener() as listener:
        idle = MllpClient((listener.host, listener.port), timeout=20)
        assert ack_code(idle.exchange(Feed(RisStyle("RRK")).siu("S24", "G1"))) == "AA"
    assert idle.sock.recv(10) == b""  # closed by the shutdown, not left hanging
    idle.close()
    with pytest.raises(OSError):
        socket.create_connection((listener.host, listener.port), timeout=2)


@pytest.mark.django_db(transaction=True)
def test_the_simulator_plays_each_trusts_quirks_and_everything_is_acknowledged():
    ct = ModalityFactory(code="CT")
    ExamTypeFactory(code="CHEAD", modality=ct)
    ExamTypeFactory(code="MKNEE", modality=ModalityFactory(code="MR"))
    make_trust("RBK", ["RBK"], hl7_version="2.3", status_map={"Scheduled": "booked", "Open": "open"})
    make_trust("RJC", ["RJC"], slot_release_mode="siu_status",
               status_map={"Confirmed": "booked", "Open": "open", "Blocked": "blocked", "Cancelled": "cancelled"})
    make_trust("RKB", ["RKB-RIS"], exam_code_map={"NICIP-CT1": "CHEAD"})
    scripts = [script for script, _ in scripts_for(None, seed=7, run_id="T1")]
    assert {s.style.line_ending for s in scripts} == {"\r", "\n"}
    assert {s.style.version for s in scripts} == {"2.3", "2.5.1"}
    with running_listener() as listener:
        results = asyncio.run(play(scripts, listener.host, listener.port, messages=40, rate=0))
    for result in results:
        assert not result.error
        assert result.acks == {"AA": 40}, (result.ods_code, result.acks)
    assert Slot.objects.filter(status=SlotStatus.OPEN, pooled=True).exists()
    assert InboundMessage.objects.filter(status=InboundStatus.APPLIED).count() > 60

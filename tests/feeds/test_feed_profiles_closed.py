"""Feed profiles are closed by default: only the RIS hosts or networks a profile lists may send."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from slots.models import Slot
from tests.feeds.conftest import ack_code, ack_field, make_trust
from tests.feeds.helpers import Feed
from wmin.feeds.logs import RateLimitedLog
from wmin.feeds.models import FeedProfile, InboundMessage, InboundStatus, validate_hosts
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)


def _refusals(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "hl7.sender_refused"]


def test_a_profile_listing_no_host_admits_nobody(client_for, caplog):
    make_trust("RRK", ["RRK"], allowed_hosts=[])
    with caplog.at_level(logging.WARNING, logger="wmin.feeds.ingest"), client_for() as ris:
        reply = ris.exchange(Feed(RisStyle("RRK")).siu("S24", "CLOSED-1"))
    assert ack_code(reply) == "AR"
    assert "lists no RIS host yet" in ack_field(reply, "MSA", 3)
    assert not Slot.objects.exists()
    assert InboundMessage.objects.get().status == InboundStatus.REJECTED
    (line,) = _refusals(caplog)
    assert (line.peer_host, line.facility, line.trust) == ("127.0.0.1", "RRK", "RRK")


def test_an_unlisted_host_is_refused_with_ar_and_logged_once_a_minute(client_for, caplog):
    make_trust("RRK", ["RRK"], allowed_hosts=["10.20.0.0/16", "192.0.2.7"])
    feed = Feed(RisStyle("RRK"))
    with caplog.at_level(logging.WARNING, logger="wmin.feeds.ingest"), client_for() as ris:
        replies = [ris.exchange(feed.siu("S24", f"ELSEWHERE-{n}")) for n in range(5)]
    assert [ack_code(r) for r in replies] == ["AR"] * 5
    assert "127.0.0.1 may not send for RRK" in ack_field(replies[0], "MSA", 3)
    assert len(_refusals(caplog)) == 1  # the other four are counted, not written


def test_a_host_in_a_listed_network_may_send(client_for):
    make_trust("RRK", ["RRK"], allowed_hosts=["10.20.0.0/16", "127.0.0.0/8"])
    with client_for() as ris:
        assert ack_code(ris.exchange(Feed(RisStyle("RRK")).siu("S24", "LISTED-1"))) == "AA"


def test_held_back_lines_are_counted_on_the_next_one_written(caplog):
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("wmin.feeds.test"), interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="wmin.feeds.test"):
        written = [limited.warning("hl7.x", key="a", n=n) for n in range(3)]
        now[0] = 61.0
        written.append(limited.warning("hl7.x", key="a", n=3))
        written.append(limited.warning("hl7.x", key="b", n=4))
    assert written == [True, False, False, True, True]
    assert [(r.n, r.suppressed) for r in caplog.records] == [(0, 0), (3, 2), (4, 0)]


@pytest.mark.parametrize(
    ("host", "admitted"),
    [("10.20.3.4", True), ("::ffff:10.20.3.4", True), ("192.0.2.7", True), ("192.0.2.8", False), ("fd00::1", False),
     ("", False), ("not-an-address", False)],
)
def test_a_profile_admits_its_listed_hosts_and_networks_only(host, admitted):
    assert FeedProfile(allowed_hosts=["10.20.0.0/16", "192.0.2.7"]).admits(host) is admitted
    assert FeedProfile(allowed_hosts=[]).admits(host) is False


def test_profile_hosts_must_be_addresses_or_networks():
    validate_hosts(["10.0.0.5", "10.20.0.0/24", "::1"])
    with pytest.raises(ValidationError, match="not an IP address or network"):
        validate_hosts(["ris.example.nhs.uk"])
    with pytest.raises(ValidationError, match="JSON list"):
        validate_hosts("10.0.0.5")


def test_on_upgrade_an_open_profile_admits_the_hosts_that_have_sent_it_messages():
    module = importlib.import_module("wmin.feeds.migrations.0005_feed_profiles_closed_by_default")
    used, _never_sent, listed = (make_trust(ods, [ods], allowed_hosts=[]) for ods in ("RAA", "RBB", "RCC"))
    FeedProfile.objects.filter(trust=listed).update(allowed_hosts=["10.9.9.9"])
    for peer, status in [("10.1.1.1:4000", "applied"), ("10.1.1.1:4001", "ignored"), ("[fd00::5]:99", "applied"),
                         ("10.6.6.6:1", "rejected")]:
        InboundMessage.objects.create(raw=b"x", peer=peer, trust=used, status=status)
    InboundMessage.objects.create(raw=b"x", peer="10.1.1.2:1", trust=listed, status="applied")

    module.allow_the_hosts_that_have_sent(apps, None)

    hosts = dict(FeedProfile.objects.values_list("trust__ods_code", "allowed_hosts"))
    assert hosts == {"RAA": ["10.1.1.1", "fd00::5"], "RBB": [], "RCC": ["10.9.9.9"]}

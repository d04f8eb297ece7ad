"""Replaying a failed message after its trust's feed profile is fixed; the row keeps its history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from slots.models import Slot, SlotStatus
from tests.factories import ExamTypeFactory, ModalityFactory
from tests.feeds.conftest import ack_code, make_trust
from tests.feeds.helpers import Feed
from wmin.feeds.models import FeedProfile, InboundMessage, InboundStatus
from wmin.feeds.replay import replay
from wmin.feeds.simulator.messages import RisStyle


@pytest.mark.django_db(transaction=True)
def test_replay_after_fixing_the_exam_map(client_for):
    trust = make_trust("RRK", ["RRK"])
    ExamTypeFactory(code="CHEAD", modality=ModalityFactory(code="CT"))
    feed = Feed(RisStyle("RRK"))
    with client_for() as ris:
        reply = ris.exchange(feed.siu("S24", "R1", scanner_id="", exam_code="LOCAL-CT-HEAD"))
    assert ack_code(reply) == "AE"
    row = InboundMessage.objects.get()
    assert (row.status, row.error_code) == (InboundStatus.CONTENT_ERROR, "103")

    FeedProfile.objects.filter(trust=trust).update(exam_code_map={"LOCAL-CT-HEAD": "CHEAD"})
    result = replay(row.pk, by="admin")

    row.refresh_from_db()
    assert (result.replayed, result.code, row.status, row.error) == (True, "AA", InboundStatus.APPLIED, "")
    assert Slot.objects.get(ris_slot_id="R1").status == SlotStatus.OPEN
    assert [(h["status"], h["error_code"], h["by"]) for h in row.history] == [(InboundStatus.CONTENT_ERROR, "103", "admin")]
    assert "|AE|" in row.history[0]["ack"] and "|AA|" in row.ack
    assert replay(row.pk).replayed is False  # applied once is enough


@pytest.mark.django_db
def test_the_admin_replays_an_unknown_senders_message_once_the_trust_is_registered(admin_client):
    from tests.feeds.helpers import apply

    feed = Feed(RisStyle("RWP"))
    ack = apply(feed.siu("S24", "W1", scanner_id="RWP01-CT1"))
    assert ack.code == "AR"
    make_trust("RWP", ["RWP"])

    response = admin_client.post(
        reverse("admin:feeds_inboundmessage_changelist"),
        {"action": "replay_messages", "_selected_action": [ack.message_id]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Replayed 1 message(s): 1 AA." in response.content.decode()
    row = InboundMessage.objects.get(pk=ack.message_id)
    assert row.status == InboundStatus.APPLIED and row.trust.ods_code == "RWP"
    assert row.history[0]["status"] == InboundStatus.REJECTED


@pytest.mark.django_db
def test_the_admin_lists_and_searches_messages(admin_client):
    from tests.feeds.helpers import apply

    make_trust("RRK", ["RRK"])
    apply(Feed(RisStyle("RRK")).siu("S24", "L1"))
    url = reverse("admin:feeds_inboundmessage_changelist")
    assert admin_client.get(url, {"q": "RRK", "status": "applied"}).status_code == 200
    row = InboundMessage.objects.get()
    assert admin_client.get(reverse("admin:feeds_inboundmessage_change", args=[row.pk])).status_code == 200

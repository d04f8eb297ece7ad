"""A message is keyed by its sender and its whole MSH-10; a reused id never hides a message."""

from __future__ import annotations

import datetime as dt

import pytest

from slots.models import Slot
from tests.feeds.conftest import ack_code, ack_field, make_trust
from tests.feeds.helpers import T0
from wmin.feeds.models import InboundMessage, InboundStatus
from wmin.feeds.simulator import messages
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)
STYLE = RisStyle("RRK")


@pytest.fixture
def trust(transactional_db):
    return make_trust("RRK", ["RRK"])


def siu(control_id: str, slot_id: str, *, trigger: str = "S24", minute: int = 1) -> bytes:
    return messages.siu(
        trigger, style=STYLE, control_id=control_id, sent_at=T0 + dt.timedelta(minutes=minute), slot_id=slot_id,
        starts_at=T0 + dt.timedelta(days=7), minutes=20, scanner_id="RRK01-CT1",
    ).encode("utf-8")


@pytest.mark.parametrize("length", [100, 199, 300])
def test_two_long_control_ids_that_differ_only_at_the_end_are_two_messages(trust, client_for, length):
    first_id, second_id = "C" * (length - 1) + "1", "C" * (length - 1) + "2"
    with client_for() as ris:
        first = ris.exchange(siu(first_id, "LONG-1"))
        second = ris.exchange(siu(second_id, "LONG-2"))
    assert [ack_code(first), ack_code(second)] == ["AA", "AA"]
    assert [ack_field(first, "MSA", 2), ack_field(second, "MSA", 2)] == [first_id, second_id]
    assert set(Slot.objects.values_list("ris_slot_id", flat=True)) == {"LONG-1", "LONG-2"}
    keys = list(InboundMessage.objects.order_by("pk").values_list("control_id", flat=True))
    assert len(set(keys)) == 2 and all(len(key) <= 199 for key in keys)
    assert keys[0] == first_id if length <= 199 else keys[0].startswith("C" * 100)


def test_a_reused_control_id_with_new_content_gets_ae_and_is_flagged_for_the_admin(trust, client_for, admin_client):
    original, reused = siu("RECYCLED-7", "SLOT-A"), siu("RECYCLED-7", "SLOT-B", trigger="S23", minute=2)
    with client_for() as ris:
        first = ris.exchange(original)
        refused = ris.exchange(reused)
        refused_again = ris.exchange(reused)
        original_again = ris.exchange(original)

    assert ack_code(first) == "AA"
    assert ack_code(refused) == "AE"
    assert ack_field(refused, "MSA", 2) == "RECYCLED-7"
    assert ack_field(refused, "MSH", 8) == "ACK^S23^ACK"  # its own trigger, not the first message's
    assert ack_field(refused, "ERR", 2) == "MSH^1^10"
    assert ack_field(refused, "ERR", 3).startswith("205^Duplicate key identifier")
    assert "Control id reused" in ack_field(refused, "ERR", 8)
    assert refused_again == refused and original_again == first  # each repeat gets its own ACK again
    assert not Slot.objects.filter(ris_slot_id="SLOT-B").exists()  # not applied

    kept = InboundMessage.objects.get(duplicate_of__isnull=False)
    assert bytes(kept.raw) == reused and kept.control_id_reused
    assert (kept.status, kept.error_code, kept.attempts) == (InboundStatus.CONTENT_ERROR, "205", 2)
    assert kept.trust is not None and kept.trust.ods_code == "RRK"

    listed = admin_client.get("/admin/feeds/inboundmessage/?control_id_reused__exact=1")
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [kept]
    assert b"control id reused" in listed.content


def test_a_resend_stamped_again_or_framed_afresh_is_the_same_message(trust, client_for):
    original = siu("RESENT-1", "SLOT-R", minute=1)
    msh, rest = original.split(b"\r", 1)
    fields = msh.split(b"|")
    fields[6] = b"20300101120000"
    restamped = b"|".join(fields) + b"\r" + rest  # MSH-7, and only MSH-7, stamped again
    reframed = b"\xef\xbb\xbf" + original.replace(b"\r", b"\r\n")
    with client_for() as ris:
        first = ris.exchange(original)
        assert ris.exchange(restamped) == first
        assert ris.exchange(reframed) == first
    first_row, *copies = InboundMessage.objects.order_by("pk")
    assert [bytes(c.raw) for c in copies] == [restamped, reframed]  # every frame's bytes kept
    assert all(c.status == InboundStatus.IGNORED and not c.control_id_reused for c in copies)
    assert first_row.applied_at is not None and Slot.objects.get().version == 1  # applied once

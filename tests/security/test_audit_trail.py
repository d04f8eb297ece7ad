"""The audit trail is append-only, in the ORM and in the database itself."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.context import Actor, acting_as
from audit.models import AppendOnlyError, AuditAction, AuditEvent
from audit.trail import record

pytestmark = pytest.mark.django_db


def test_record_takes_the_current_actor_and_address():
    with acting_as(Actor(user_id=None, label="clerk.uhb", role="clerk", ip_address="10.0.0.7", request_id="r-1")):
        event = record(AuditAction.VIEW, object_type="booking.Patient", object_id=5, patient_id=5, summary="Viewed")
    assert (event.actor_label, event.actor_role, event.ip_address, event.patient_id) == ("clerk.uhb", "clerk", "10.0.0.7", 5)


def test_events_cannot_be_changed_or_deleted_through_the_orm():
    event = record(AuditAction.VIEW, object_type="x", summary="Viewed")
    event.summary = "Rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="Rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize("statement", ["UPDATE audit_auditevent SET summary = 'x'", "DELETE FROM audit_auditevent"])
def test_the_database_refuses_raw_updates_and_deletes(statement):
    record(AuditAction.VIEW, object_type="x", summary="Viewed")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(summary="Viewed").count() == 1


def test_staff_sign_in_and_failure_are_audited(client, clerk):
    client.post("/accounts/sign-in/", {"username": "clerk", "password": "nope"})
    client.post("/accounts/sign-in/", {"username": "clerk", "password": "correct-horse-battery-staple"})
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [AuditAction.SIGN_IN_FAILED, AuditAction.SIGN_IN]


def test_admin_can_browse_but_not_edit_the_trail(admin_client):
    record(AuditAction.VIEW, object_type="x", summary="Viewed something")
    page = admin_client.get("/admin/audit/auditevent/")
    assert page.status_code == 200
    assert "Viewed something" in page.content.decode()
    event = AuditEvent.objects.first()
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_request_with_nul_characters_is_still_recorded():
    event = record(
        AuditAction.VIEW,
        object_type="booking.Booking",
        summary="Listed bookings\x00",
        detail={"query": {"\x1e\x00key": ["va\x00lue"]}},
    )
    event.refresh_from_db()
    assert event.summary == "Listed bookings\ufffd"
    assert event.detail == {"query": {"\x1e\ufffdkey": ["va\ufffdlue"]}}

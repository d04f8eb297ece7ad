"""The admin inside the audit trail: reads of patients' rows, changes, and no hand edits of bookings,
their history or the trail; users deactivated, never deleted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from audit.trail import record
from booking.models import BookingStatusChange
from tests.factories import BookingFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(trust):
    booking = BookingFactory(referral=ReferralFactory(trust=trust))
    BookingStatusChange.objects.create(booking=booking, from_status="", to_status="confirmed", reason="Booked")
    return booking


@pytest.mark.parametrize(
    ("model", "obj"),
    [("patient", lambda b: b.referral.patient), ("referral", lambda b: b.referral), ("booking", lambda b: b)],
)
def test_reading_patients_rows_in_the_admin_is_audited(admin_client, booking, model, obj):
    row = obj(booking)
    assert admin_client.get(reverse(f"admin:booking_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:booking_{model}_change", args=[row.pk])).status_code == 200
    listed, opened = AuditEvent.objects.filter(action=AuditAction.VIEW).order_by("pk")
    assert listed.object_type == f"booking.{model.capitalize()}"
    assert booking.referral.patient_id in listed.detail["patient_ids"]
    assert (opened.object_id, opened.patient_id) == (str(row.pk), booking.referral.patient_id)
    assert opened.actor_label == "admin"


def test_bookings_and_their_history_cannot_be_edited_in_the_admin(admin_client, booking):
    change = booking.status_changes.get()
    url = reverse("admin:booking_bookingstatuschange_change", args=[change.pk])
    admin_client.post(url, {"reason": "Rewritten", "booking": booking.pk, "from_status": "", "to_status": "confirmed"})
    change.refresh_from_db()
    assert change.reason == "Booked"
    page = admin_client.get(reverse("admin:booking_booking_change", args=[booking.pk])).content.decode()
    assert 'name="_save"' not in page
    assert admin_client.post(reverse("admin:booking_booking_delete", args=[booking.pk]), {"post": "yes"}).status_code == 403


def test_the_audit_trail_is_read_only_in_the_admin(admin_client):
    event = record(AuditAction.VIEW, object_type="x", summary="Viewed something")
    assert "Viewed something" in admin_client.get("/admin/audit/auditevent/").content.decode()
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"summary": "x"}).status_code == 403


def test_a_user_who_acted_is_deactivated_not_deleted(admin_client, trust):
    clerk = UserFactory(username="leaver", role=Role.CLERK, trust=trust)
    AuditEvent.objects.create(actor=clerk, actor_label="leaver", action="view", object_type="x", summary="Acted")
    delete = admin_client.post(reverse("admin:accounts_user_delete", args=[clerk.pk]), {"post": "yes"})
    assert delete.status_code == 403
    changelist = reverse("admin:accounts_user_changelist")
    assert admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [clerk.pk]}).status_code in (200, 302)
    assert User.objects.filter(pk=clerk.pk).exists()
    admin_client.post(changelist, {"action": "deactivate", "_selected_action": [clerk.pk]})
    clerk.refresh_from_db()
    assert clerk.is_active is False
    assert AuditEvent.objects.filter(object_type="accounts.User", object_id=str(clerk.pk), action=AuditAction.UPDATE).exists()


def test_changing_a_patient_in_the_admin_is_audited(admin_client, booking):
    patient = booking.referral.patient
    url = reverse("admin:booking_patient_change", args=[patient.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {"given_name": "Renamed", "date_of_birth": patient.date_of_birth.isoformat()}
    admin_client.post(url, data)
    patient.refresh_from_db()
    assert patient.given_name == "Renamed"
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="booking.Patient")
    assert event.patient_id == patient.pk and "given_name" in event.detail["fields"]


def test_a_referrals_status_and_dm01_clock_cannot_be_edited_in_the_admin(admin_client, booking):
    page = admin_client.get(reverse("admin:booking_referral_change", args=[booking.referral.pk])).content.decode()
    assert 'name="status"' not in page and 'name="dm01_clock_start' not in page

"""Patients' messages: queued with the booking, sent after commit, exactly once, retried when worth it."""

from __future__ import annotations

from unittest import mock

import pytest

from booking.models import BookingChannel, Notification, NotificationStatus
from booking.notifications import PermanentDeliveryError, TemporaryDeliveryError, get_backend
from booking.notifications.notify import NotifyBackend
from booking.services.bookings import confirm_booking
from booking.services.invitations import invitation_details
from booking.services.notifications import MAX_ATTEMPTS, queue_notification, send_notification
from booking.tasks import notify_send
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def invite(referral):
    """An invitation message for the referral's patient, with everything its template needs."""
    return queue_notification(referral.patient, "invitation", invitation_details(referral))


def test_a_booking_queues_a_message_that_is_sent_after_commit(referral, slot, now, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=now)
    assert len(callbacks) == 1
    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.SENT
    assert notification.provider_reference.startswith("locmem-")
    assert [(m.template, m.channel, m.recipient) for m in outbox] == [
        ("booking_confirmed", "email", referral.patient.email)
    ]


def test_nothing_is_sent_if_the_transaction_rolls_back(referral, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite(referral)
    assert len(callbacks) == 1  # only ever run on commit
    assert outbox == []


def test_sms_when_there_is_no_email_and_nothing_without_either(db):
    assert queue_notification(PatientFactory(email=""), "invitation", {}).channel == "sms"
    assert queue_notification(PatientFactory(email="", mobile=""), "invitation", {}) is None


def test_a_message_without_a_template_is_refused(referral):
    with pytest.raises(ValueError, match="No message template called 'x'"):
        queue_notification(referral.patient, "x", {})


def test_a_task_run_twice_sends_once(referral, outbox):
    notification = invite(referral)
    assert notify_send.apply(args=[notification.pk]).get() == NotificationStatus.SENT
    assert notify_send.apply(args=[notification.pk]).get() == NotificationStatus.SENT
    assert len(outbox) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1


def test_a_temporary_failure_goes_back_to_the_queue_for_a_retry(referral, outbox):
    notification = invite(referral)
    failing = mock.patch("booking.notifications.locmem.LocmemBackend.send", side_effect=TemporaryDeliveryError("503"))
    with failing, pytest.raises(TemporaryDeliveryError):
        send_notification(notification.pk)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.error) == (NotificationStatus.QUEUED, 1, "503")
    assert send_notification(notification.pk) == NotificationStatus.SENT


def test_giving_up_after_the_last_attempt_and_on_permanent_failure(referral, outbox):
    flaky = invite(referral)
    Notification.objects.filter(pk=flaky.pk).update(attempts=MAX_ATTEMPTS - 1)
    bad = invite(referral)
    with mock.patch("booking.notifications.locmem.LocmemBackend.send", side_effect=TemporaryDeliveryError("503")):
        assert send_notification(flaky.pk) == NotificationStatus.FAILED
    with mock.patch("booking.notifications.locmem.LocmemBackend.send", side_effect=PermanentDeliveryError("bad number")):
        assert send_notification(bad.pk) == NotificationStatus.FAILED
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.FAILED}


def test_console_backend_writes_the_message_and_logs_nothing_about_the_patient(referral, settings, caplog, tmp_path):
    settings.NOTIFICATIONS_BACKEND = "console"
    settings.NOTIFICATIONS_CONSOLE_DIR = tmp_path
    notification = invite(referral)
    with caplog.at_level("INFO", logger="booking.notifications"):
        assert send_notification(notification.pk) == NotificationStatus.SENT
    assert "invitation" in caplog.text and str(notification.pk) in caplog.text
    patient = referral.patient
    for personal in (patient.email, patient.given_name, patient.family_name, referral.booking_reference, "/my-scan/link/"):
        assert personal not in caplog.text
    (written,) = tmp_path.iterdir()
    text = written.read_text()
    assert text.startswith(f"To: {patient.email}\nSubject: Choose where and when to have your {referral.exam_type.name}\n")
    assert f"Dear {patient.given_name}," in text and referral.booking_reference in text


def test_a_message_whose_template_cannot_be_filled_fails_for_good(referral, outbox):
    notification = queue_notification(referral.patient, "invitation", {"name": "Ann"})  # no link, no reference
    assert send_notification(notification.pk) == NotificationStatus.FAILED
    notification.refresh_from_db()
    assert "'exam' is undefined" in notification.error
    assert outbox == []


def test_notify_backend_calls_gov_uk_notify_with_the_template_id(referral, settings):
    settings.NOTIFICATIONS_BACKEND = "notify"
    settings.NOTIFY_API_KEY = "test_key-" + "0" * 36 + "-" + "1" * 36
    settings.NOTIFY_TEMPLATE_IDS = {"booking_confirmed": "f33517ff-2a88-4f6e-b855-c550268ce08a"}
    backend = get_backend()
    assert isinstance(backend, NotifyBackend)
    notification = Notification.objects.create(
        patient=referral.patient, channel="email", template="booking_confirmed", personalisation={"site": "QEHB", "missing": None}
    )
    with mock.patch.object(backend.client, "send_email_notification", return_value={"id": "abc-123"}) as send:
        assert backend.send(notification) == "abc-123"
    send.assert_called_once_with(
        email_address=referral.patient.email,
        template_id="f33517ff-2a88-4f6e-b855-c550268ce08a",
        personalisation={"site": "QEHB", "missing": ""},
        reference=f"wmin-notification-{notification.pk}",
    )


def test_notify_errors_are_sorted_into_retry_or_give_up(referral, settings):
    from notifications_python_client.errors import HTTPError

    backend = NotifyBackend("k" * 74, {"booking_confirmed": "id"})
    notification = Notification.objects.create(patient=referral.patient, channel="email", template="booking_confirmed")

    def failing(status):
        error = HTTPError(mock.Mock(status_code=status, json=mock.Mock(return_value={"errors": []})))
        return mock.patch.object(backend.client, "send_email_notification", side_effect=error)

    with failing(400), pytest.raises(PermanentDeliveryError):
        backend.send(notification)
    with failing(503), pytest.raises(TemporaryDeliveryError):
        backend.send(notification)
    notification.template = "no_such_template"
    with pytest.raises(PermanentDeliveryError, match=r"No GOV\.UK Notify template"):
        backend.send(notification)

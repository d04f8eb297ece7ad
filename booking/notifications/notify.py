"""GOV.UK Notify, through its official client. Template ids come from settings.NOTIFY_TEMPLATE_IDS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from booking.models import Notification

from .base import PermanentDeliveryError, TemporaryDeliveryError, recipient_of

# Notify answers 400 (bad request, e.g. an invalid number) and 403 (bad key) for things a retry
# will not fix; 429 and 5xx are worth retrying.
PERMANENT_STATUS_CODES = frozenset({400, 403, 404})


class NotifyBackend:
    def __init__(self, api_key: str, template_ids: dict[str, str]) -> None:
        from notifications_python_client.notifications import NotificationsAPIClient

        self.client = NotificationsAPIClient(api_key)
        self.template_ids = template_ids

    @classmethod
    def from_settings(cls) -> NotifyBackend:
        api_key = settings.NOTIFY_API_KEY
        if not api_key:
            raise ImproperlyConfigured("NOTIFICATIONS_BACKEND is 'notify' but NOTIFY_API_KEY is not set.")
        return cls(api_key, dict(getattr(settings, "NOTIFY_TEMPLATE_IDS", {})))

    def send(self, notification: Notification) -> str:
        template_id = self.template_ids.get(notification.template)
        if not template_id:
            raise PermanentDeliveryError(f"No GOV.UK Notify template id for {notification.template!r}.")
        recipient = recipient_of(notification)
        personalisation = {k: "" if v is None else str(v) for k, v in notification.personalisation.items()}
        reference = f"wmin-notification-{notification.pk}"
        try:
            if notification.channel == "email":
                response = self.client.send_email_notification(
                    email_address=recipient, template_id=template_id, personalisation=personalisation, reference=reference
                )
            else:
                response = self.client.send_sms_notification(
                    phone_number=recipient, template_id=template_id, personalisation=personalisation, reference=reference
                )
        except Exception as exc:  # the client raises HTTPError subclasses or requests' errors
            raise _classify(exc) from exc
        return str(_response_id(response))


def _classify(exc: Exception) -> Exception:
    status = getattr(exc, "status_code", None)
    if status in PERMANENT_STATUS_CODES:
        return PermanentDeliveryError(f"GOV.UK Notify refused the message ({status}): {exc}")
    return TemporaryDeliveryError(f"GOV.UK Notify could not take the message now ({status}): {exc}")


def _response_id(response: Any) -> str:
    return response.get("id", "") if isinstance(response, dict) else ""

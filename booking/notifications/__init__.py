"""Where patients' messages go: settings.NOTIFICATIONS_BACKEND picks one backend by name.

- "console": writes each message to the log (the demo, development)
- "notify": GOV.UK Notify, with NOTIFY_API_KEY and NOTIFY_TEMPLATE_IDS (our template name → Notify id)
- "locmem": keeps messages in `booking.notifications.locmem.outbox` (tests)
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import NotificationBackend, PermanentDeliveryError, TemporaryDeliveryError

__all__ = ["NotificationBackend", "PermanentDeliveryError", "TemporaryDeliveryError", "get_backend"]


def get_backend(name: str | None = None) -> NotificationBackend:
    name = name or settings.NOTIFICATIONS_BACKEND
    if name == "console":
        from .console import ConsoleBackend

        return ConsoleBackend()
    if name == "notify":
        from .notify import NotifyBackend

        return NotifyBackend.from_settings()
    if name == "locmem":
        from .locmem import LocmemBackend

        return LocmemBackend()
    raise ImproperlyConfigured(f"NOTIFICATIONS_BACKEND must be console, notify or locmem, not {name!r}.")

"""What each message says: one template per message, `templates/notifications/<name>.jinja`.

Each template has three blocks: `subject` and `email` (the email), and `sms` (the text message,
kept short). They are plain text, rendered strictly: a personalisation value the template needs
and the message lacks is an error, never a blank. The console and in-memory backends render them;
in production GOV.UK Notify holds the same wording in its own templates (NOTIFY_TEMPLATE_IDS maps
our names to its ids) and fills in the same personalisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from booking.models import Notification

from .base import PermanentDeliveryError

# Every message the hub sends. queue_notification refuses any other name.
MESSAGES = frozenset({
    "invitation",
    "invitation_reminder",
    "appointment_reminder",
    "booking_confirmed",
    "booking_cancelled",
    "booking_rescheduled",
    "booking_refused",
    "offer_sent",
    "attendance_check",
    "sign_in_code",
})
# Values a message carries that must not outlive its sending: once sent (or never to be), the row
# keeps a placeholder, so the admin's list of notifications holds no working sign-in code.
SECRETS: dict[str, tuple[str, ...]] = {"sign_in_code": ("code",)}
NOT_KEPT = "(sent, not kept)"
TEMPLATE_DIR = "notifications"


@dataclass(frozen=True)
class Message:
    subject: str  # empty for a text message
    body: str


def render_message(template: str, channel: str, personalisation: Mapping[str, object]) -> Message:
    """The message as the patient reads it. Raises jinja2.UndefinedError if a value is missing."""
    if template not in MESSAGES:
        raise ValueError(f"No message template called {template!r}")
    compiled = _environment().get_template(f"{TEMPLATE_DIR}/{template}.jinja")
    context = compiled.new_context(dict(personalisation))
    if channel == "sms":
        return Message("", _tidy("".join(compiled.blocks["sms"](context))))
    subject = " ".join("".join(compiled.blocks["subject"](context)).split())
    return Message(subject, _tidy("".join(compiled.blocks["email"](context))))


def rendered(notification: Notification) -> Message:
    """The notification's message; a template that cannot be filled is a permanent failure."""
    try:
        return render_message(notification.template, notification.channel, notification.personalisation)
    except (ValueError, TemplateError) as exc:
        raise PermanentDeliveryError(f"Could not write {notification.template!r}: {exc}") from exc


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(settings.BASE_DIR / "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # plain text: an email or a text message, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _tidy(text: str) -> str:
    """Paragraphs as written, without the template's leading and trailing blank lines."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy)

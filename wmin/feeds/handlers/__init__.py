"""What each kind of inbound message does to the hub: one module per domain.

- `slots`    SIU^S12-S17, S23, S24, S26: the trust's slots and the bookings in them
- `orders`   ORM^O01 / OMI^O23: referrals joining, changing and leaving the waiting list
- `patients` ADT^A08 / A31: demographics
- `queries`  SQR^S25: released slots returned to a poll (and the SQM^S25 that asks)

`dispatch` runs inside the ingest transaction; a handler raises ContentError (→ AE) for content
the hub cannot use, returns an Outcome otherwise. Message types the hub does not take raise
Unsupported (→ AR 200/201); ADT events other than A08/A31 are acknowledged and ignored, as a
trust's ADT feed sends every event and a reject would stall its queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from slots.models import Trust
    from wmin.feeds.hl7.model import MessageHeader, ParsedMessage
    from wmin.feeds.models import FeedProfile


@dataclass(frozen=True)
class Outcome:
    applied: bool
    note: str = ""

    @property
    def ack_text(self) -> str:
        return "" if self.applied else self.note[:80]


class Unsupported(Exception):
    """A message type or trigger the hub does not take (AR, table 0357 code 200 or 201)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class FeedContext:
    """Who sent the message being applied, and when."""

    profile: FeedProfile
    header: MessageHeader
    message_id: int
    now: datetime

    @property
    def trust(self) -> Trust:
        return self.profile.trust

    @property
    def sent_at(self) -> datetime:
        """MSH-7, or the time it arrived when the RIS left it empty."""
        return aware(getattr(self.header, "sent_at", None)) or self.now

    @property
    def actor_label(self) -> str:
        return f"{self.trust.ods_code} RIS"


Handler = Callable[[Any, FeedContext], Outcome]


SIU_TRIGGERS = frozenset({"S12", "S13", "S14", "S15", "S16", "S17", "S23", "S24", "S26"})
ORDER_MESSAGES = frozenset({("ORM", "O01"), ("OMI", "O23")})
ADT_TRIGGERS = frozenset({"A08", "A31"})


def precheck(header: MessageHeader) -> Outcome | None:
    """Before parsing: None to go on, an Outcome to acknowledge without applying, or Unsupported."""
    message_type = (header.message_type or "").upper()
    trigger = (header.trigger or "").upper()
    if message_type == "SIU":
        if trigger not in SIU_TRIGGERS:
            raise Unsupported("201", f"SIU^{trigger or '(none)'} is not an event the hub takes")
        return None
    if (message_type, trigger) in ORDER_MESSAGES or (message_type, trigger) == ("SQR", "S25"):
        return None
    if message_type == "ADT":
        if trigger in ADT_TRIGGERS:
            return None
        return Outcome(False, f"ADT^{trigger or '(none)'} needs nothing from the hub")
    if message_type in {"ORM", "OMI", "SQR"}:
        raise Unsupported("201", f"{message_type}^{trigger or '(none)'} is not an event the hub takes")
    raise Unsupported("200", f"The hub does not take {message_type or 'untyped'} messages on this port")


def dispatch(parsed: ParsedMessage, *, profile: FeedProfile, message_id: int, now: datetime) -> Outcome:
    """Apply a parsed message that passed `precheck`, inside the caller's transaction."""
    from . import orders, patients, queries, slots

    header = parsed.header
    message_type = (header.message_type or "").upper()
    context = FeedContext(profile=profile, header=header, message_id=message_id, now=now)
    if message_type == "SIU":
        return slots.handle(parsed, context)
    slots.forget_slots_read_together()  # the others may change any slot of the trust's
    if message_type in {"ORM", "OMI"}:
        return orders.handle(parsed, context)
    if message_type == "ADT":
        return patients.handle(parsed, context)
    if message_type == "SQR":
        return queries.handle(parsed, context)
    raise Unsupported("200", f"The hub does not take {message_type or 'untyped'} messages on this port")


def bodies(parsed: ParsedMessage) -> list[Any]:
    """The message's body as a list (a message may carry several orders or slots)."""
    body = parsed.body
    if body is None:
        return []
    if isinstance(body, list | tuple):
        return list(body)
    return [body]


def aware(value: object) -> datetime | None:
    """A datetime made timezone-aware (naive values read in the network's zone), else None."""
    if not isinstance(value, datetime):
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)

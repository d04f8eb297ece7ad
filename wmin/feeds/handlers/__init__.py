"""What each kind of inbound message does to the hub: one module per domain.

- `slots`    SIU^S12-S17, S23, S24, S26: the trust's slots and the bookings in them
- `orders`   ORM^O01 / OMI^O23: referrals joining, changing and leaving the waiting list
- `patients` ADT^A08 / A31: demographics
- `queries`  SQR^S25: released slots returned to a poll (and the SQM^S25 that asks)

`dispatch` runs inside the ingest transaction, with its unit of work (`FeedWork`: the slots it
locked and read, the writes it holds back, the referrals waiting for its patients), passed down
explicitly to every handler in `FeedContext.work`; a handler raises ContentError (→ AE) for content
the hub cannot use, returns an Outcome otherwise. Message types the hub does not take raise
Unsupported (→ AR 200/201); ADT events other than A08/A31 are acknowledged and ignored, as a
trust's ADT feed sends every event and a reject would stall its queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from slots.services.ris_events import SlotWork

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


@dataclass
class FeedWork:
    """The unit of work of one ingest transaction, a single message or a group arriving together:
    every slot its SIU messages name, locked and read up front (`slots`, with the writes it holds
    back), and the referrals its patients wait on (`waiting`, read with them). A handler about to
    call something that may change other slots or referrals calls `forget` first."""

    slots: SlotWork
    waiting: dict[tuple[int, str, int], list[int]] | None = None

    @classmethod
    def begin(
        cls, named: Iterable[tuple[ParsedMessage, FeedProfile]], *, lock_timeout_ms: int | None = None
    ) -> FeedWork:
        """Lock and read what these messages name, in one round trip per trust."""
        from booking.models.bookings import ACTIVE_BOOKING_STATUSES
        from booking.services.ris import waiting_referrals

        from .slots import ACTIVE_BOOKING_SQL, lock_slots

        named = list(named)
        work = cls(SlotWork(claim_sql=ACTIVE_BOOKING_SQL, claim_params=tuple(ACTIVE_BOOKING_STATUSES)))
        patients = lock_slots(work.slots, named, lock_timeout_ms=lock_timeout_ms)
        if patients and len(named) > 1:  # alone, a message asks only if it has a booking to link
            work.waiting = waiting_referrals(sorted(patients))
        return work

    def forget(self) -> None:
        """Write what is held back; forget what was read (someone else may change it now)."""
        self.slots.forget()
        self.waiting = None

    def finish(self) -> None:
        self.slots.write()


@dataclass(frozen=True)
class FeedContext:
    """Who sent the message being applied, and when, and the unit of work it is applied in."""

    profile: FeedProfile
    header: MessageHeader
    message_id: int
    now: datetime
    work: FeedWork

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


def dispatch(
    parsed: ParsedMessage, *, profile: FeedProfile, message_id: int, now: datetime, work: FeedWork
) -> Outcome:
    """Apply a parsed message that passed `precheck`, inside the caller's transaction and its unit
    of work."""
    from . import orders, patients, queries, slots

    header = parsed.header
    message_type = (header.message_type or "").upper()
    context = FeedContext(profile=profile, header=header, message_id=message_id, now=now, work=work)
    if message_type == "SIU":
        return slots.handle(parsed, context)
    work.forget()  # the others may change any slot of the trust's
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

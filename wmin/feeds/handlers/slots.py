"""SIU: what a trust's RIS says about its slots, applied by slot version, not arrival order.

Each slot is keyed by (trust, SCH-2 filler appointment id). An event carries its time (EVN-2, else
MSH-7); an event older than the slot's `last_event_at` is recorded and acknowledged but changes
nothing, and an event for a slot the hub has never seen creates it in the state the event describes.
So an S15 that overtakes its S12 creates the slot open in the pool, and the late S12 is ignored.

| trigger | meaning                 | slot                        | hub booking on the slot                  |
|---------|-------------------------|-----------------------------|------------------------------------------|
| S24     | opened (released)       | OPEN, pooled                | kept (the RIS has not seen our SRM yet)  |
| S23     | blocked                 | BLOCKED, not pooled         | conflict                                 |
| S12     | booked locally          | BOOKED, not pooled          | conflict unless it is ours (NHS number   |
|         |                         |                             | or SCH-1 = our ARQ-1); if none, a waiting|
|         |                         |                             | referral of that patient is booked (RIS) |
| S13/S14 | rescheduled / modified  | times and place updated;    | kept; with none and the slot free, as S12 |
|         |                         | BOOKED if it was free       | (it overtook its S12)                    |
| S15     | cancelled               | OPEN, pooled; slot_freed    | cancelled (booking.services)             |
| S16     | discontinued            | BLOCKED, not pooled         | cancelled                                |
| S17     | deleted                 | WITHDRAWN, not pooled       | cancelled                                |
| S26     | did not attend          | unchanged                   | DNA                                      |

For trusts whose profile says SIU_STATUS, SCH-25 mapped by `status_map` to open / blocked /
cancelled turns an S12, S13 or S14 into the matching action (that is how they release slots).

Where a new slot is: AIG-3 matched to a scanner's `ris_resource_id` (site, scanner and modality),
else AIL-3's facility, point of care or room matched to one of the trust's site codes, else the
trust's main site (its hospital with the most scanners). Its modality: the scanner's, else the first
AIS-3 exam code (then the SCH-8/SCH-7 appointment type) that the profile's `exam_code_map`, or the hub
catalogue itself, knows as an exam or a modality; none → AE 103 (fix the map, then replay).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Count
from django.db.models.signals import post_save

from booking.models import Booking, BookingChannel, BookingStatus
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.services.bookings import cancel_booking, mark_conflict, transition
from booking.services.ris import WaitingReferrals, record_ris_booking, waiting_referrals
from booking.signals import slot_freed
from slots.models import ExamType, Modality, Scanner, Site, Slot, SlotStatus
from wmin.feeds.hl7.errors import ContentError
from wmin.feeds.models import SlotReleaseMode
from wmin.feeds.outbox import placer_appointment_id, told_by_ris
from wmin.feeds.rows import Statement, execute_together, insert_returning_id

from . import FeedContext, Outcome, aware, bodies

if TYPE_CHECKING:
    from wmin.feeds.hl7.model import ParsedMessage, SlotEvent
    from wmin.feeds.models import FeedProfile

OPENED = "opened"
BLOCKED = "blocked"
BOOKED = "booked"
RESCHEDULED = "rescheduled"
MODIFIED = "modified"
CANCELLED = "cancelled"
DISCONTINUED = "discontinued"
DELETED = "deleted"
NO_SHOW = "no_show"

ACTIONS: dict[str, str] = {
    "S12": BOOKED,
    "S13": RESCHEDULED,
    "S14": MODIFIED,
    "S15": CANCELLED,
    "S16": DISCONTINUED,
    "S17": DELETED,
    "S23": BLOCKED,
    "S24": OPENED,
    "S26": NO_SHOW,
}
# (status, pooled) each action leaves the slot in; None keeps what it was.
_SLOT_STATE: dict[str, tuple[str, bool] | None] = {
    OPENED: (SlotStatus.OPEN, True),
    BLOCKED: (SlotStatus.BLOCKED, False),
    BOOKED: (SlotStatus.BOOKED, False),
    RESCHEDULED: None,
    MODIFIED: None,
    CANCELLED: (SlotStatus.OPEN, True),
    DISCONTINUED: (SlotStatus.BLOCKED, False),
    DELETED: (SlotStatus.WITHDRAWN, False),
    NO_SHOW: None,
}
_STATUS_MEANINGS = {"open": OPENED, "blocked": BLOCKED, "cancelled": CANCELLED, "booked": BOOKED}
# Events that mean the RIS holds a booking in the slot: an S13/S14 that overtakes its S12 books it too.
SAYS_BOOKED = (BOOKED, RESCHEDULED, MODIFIED)
MAX_SLOT_ID = 80
PLACES_CACHE_SECONDS = 60.0


def handle(parsed: ParsedMessage, ctx: FeedContext) -> Outcome:
    notes = [apply_event(event, ctx) for event in bodies(parsed)]
    if not notes:
        raise ContentError("101", "The message holds no appointment (SCH)", "SCH")
    applied = any(outcome.applied for outcome in notes)
    return Outcome(applied, "; ".join(o.note for o in notes if o.note))


def apply_event(event: SlotEvent, ctx: FeedContext, *, action: str | None = None) -> Outcome:
    """Apply one slot event unless the slot has already seen a later one."""
    slot_id = (event.filler_appointment_id or event.placer_appointment_id or "").strip()
    if not slot_id:
        raise ContentError("101", "No filler appointment id (SCH-2) or placer appointment id (SCH-1)", "SCH^1^2")
    if len(slot_id) > MAX_SLOT_ID:
        raise ContentError("102", f"SCH-2 is longer than {MAX_SLOT_ID} characters", "SCH^1^2")
    action = action or action_for(event, ctx)
    event_time = aware(event.event_time) or ctx.sent_at
    slot = _locked_slot(ctx.trust.pk, slot_id)
    if slot is not None and slot.last_event_at is not None and event_time < slot.last_event_at:
        return Outcome(
            False,
            f"Slot {slot_id}: {action} event of {event_time:%Y-%m-%d %H:%M:%S} is older than the slot's last "
            f"({slot.last_event_at:%Y-%m-%d %H:%M:%S}); recorded, not applied",
        )
    if slot is not None and slot.active_booking_id is not None:
        forget_slots_read_together()  # the booking services read and change slots and referrals
    with told_by_ris(ctx.trust.pk):
        if slot is None:
            return _create(slot_id, event, action, event_time, ctx)
        return _update(slot, event, action, event_time, ctx)


def action_for(event: SlotEvent, ctx: FeedContext) -> str:
    trigger = (event.trigger or ctx.header.trigger or "").upper()
    action = ACTIONS.get(trigger)
    if action is None:
        raise ContentError("201", f"SIU^{trigger} is not an event the hub takes", "MSH^1^9")
    if ctx.profile.slot_release_mode == SlotReleaseMode.SIU_STATUS and action in (BOOKED, RESCHEDULED, MODIFIED):
        meaning = mapped_status(ctx.profile.status_map, event.status_code, event.status_text)
        if meaning in (OPENED, BLOCKED, CANCELLED):
            return meaning
    return action


def mapped_status(status_map: dict[str, str] | None, *values: str) -> str | None:
    """SCH-25 (code, then text) through the profile's status map, ignoring case."""
    lowered = {str(k).strip().lower(): str(v).strip().lower() for k, v in (status_map or {}).items()}
    for value in values:
        meaning = lowered.get(str(value or "").strip().lower())
        if meaning:
            return _STATUS_MEANINGS.get(meaning)
    return None


# A slot the hub has not seen -----------------------------------------------------------------


def _create(slot_id: str, event: SlotEvent, action: str, event_time: datetime, ctx: FeedContext) -> Outcome:
    place = resolve_place(event, ctx, need_modality=True)
    starts_at, ends_at = _times(event, place, required=True)
    status, pooled = _SLOT_STATE[action] or (SlotStatus.BOOKED, False)
    # No savepoint: if another connection creates this slot at the same moment the unique constraint
    # fails the whole transaction and ingest applies the message again, on top of theirs, by version.
    row = dict(
        trust_id=ctx.trust.pk,
        ris_slot_id=slot_id,
        site_id=place.site_id,
        scanner_id=place.scanner_id,
        modality_id=place.modality_id,
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        pooled=pooled,
        last_event_at=event_time,
        now=ctx.now,
    )
    books = action in SAYS_BOOKED
    frees = action == CANCELLED and pooled and starts_at > ctx.now
    if not books and not frees and _insert_later(**row):
        return Outcome(True, "")
    slot = _insert_slot(**row)
    note = ""
    if books:
        note = _link_local_booking(slot, event, ctx)
    elif frees:
        _write_held_back()
        slot_freed.send(sender=Slot, slot_id=slot.pk)
    return Outcome(True, note)


# A slot the hub knows ------------------------------------------------------------------------


def _update(slot: Slot, event: SlotEvent, action: str, event_time: datetime, ctx: FeedContext) -> Outcome:
    booking = None
    if slot.active_booking_id is not None:
        booking = Booking.objects.select_related("referral__patient").get(pk=slot.active_booking_id)
    target = _SLOT_STATE[action]
    notes: list[str] = []
    was_free = slot.status == SlotStatus.OPEN and slot.pooled
    changes = _moves(slot, event, ctx)

    if action == OPENED and booking is not None:
        target = None  # our booking stands; the RIS has not taken our SRM yet
        notes.append(f"slot {slot.ris_slot_id} opened in the RIS but booking {booking.pk} holds it in the hub")
    elif action == OPENED and slot.status == SlotStatus.HELD:
        target = (SlotStatus.HELD, True)  # a patient is choosing it right now; the hold decides
    elif action == BLOCKED and booking is not None:
        _conflict(booking, f"{ctx.trust} blocked slot {slot.ris_slot_id} in its RIS", ctx)
    elif action == BOOKED:
        if booking is not None:
            if _is_ours(booking, event):
                target = (SlotStatus.BOOKED, slot.pooled)
                if booking.status == BookingStatus.PENDING_RIS:
                    _transition(booking, BookingStatus.CONFIRMED, "Booked in the RIS", ctx)
            else:
                _conflict(booking, f"{ctx.trust} booked slot {slot.ris_slot_id} for another patient in its RIS", ctx)
    elif action in (DISCONTINUED, DELETED):
        # The slot leaves the pool first, so cancelling the booking does not reopen it or start backfill.
        _save(slot, target, changes, event_time, ctx)
        if booking is not None:
            _cancel(booking, f"Appointment {action} in {ctx.trust}'s RIS", ctx)
        return Outcome(True, "; ".join(notes))
    elif action == CANCELLED:
        freed_by_service = False
        if booking is not None:
            freed_by_service = slot.status in (SlotStatus.BOOKED, SlotStatus.HELD) and slot.starts_at > ctx.now
            _cancel(booking, f"Appointment cancelled in {ctx.trust}'s RIS", ctx)
        _save(slot, target, changes, event_time, ctx)
        starts_at = changes.get("starts_at", slot.starts_at)
        if not freed_by_service and not was_free and starts_at > ctx.now:
            _write_held_back()
            slot_freed.send(sender=Slot, slot_id=slot.pk)
        return Outcome(True, "; ".join(notes))
    elif action in (RESCHEDULED, MODIFIED) and booking is None and slot.status in (SlotStatus.OPEN, SlotStatus.HELD):
        # A move or change presupposes a booking: this one overtook its S12, which will now arrive
        # "older" and be ignored, so book the slot and link the patient here as the S12 would have.
        target = _SLOT_STATE[BOOKED]
        action = BOOKED
    elif action == NO_SHOW:
        if booking is not None and booking.status == BookingStatus.CONFIRMED:
            _transition(booking, BookingStatus.DID_NOT_ATTEND, "Did not attend (RIS)", ctx)
        else:
            notes.append(f"no confirmed hub booking in slot {slot.ris_slot_id} to mark as did not attend")

    _save(slot, target, changes, event_time, ctx)
    if action == BOOKED and booking is None:
        note = _link_local_booking(slot, event, ctx)
        if note:
            notes.append(note)
    return Outcome(True, "; ".join(notes))


def _moves(slot: Slot, event: SlotEvent, ctx: FeedContext) -> dict[str, object]:
    """New times and place the event gives for an existing slot (nothing it cannot resolve)."""
    changes: dict[str, object] = {}
    if event.location is not None or event.resource_id:
        place = resolve_place(event, ctx, need_modality=False, fallback_site=False)
        if place.site_id and place.site_id != slot.site_id:
            changes["site_id"] = place.site_id
        if place.scanner_id and place.scanner_id != slot.scanner_id:
            changes["scanner_id"] = place.scanner_id
            changes["modality_id"] = place.modality_id
    starts_at, ends_at = _times(event, None, required=False, current=(slot.starts_at, slot.ends_at))
    if starts_at != slot.starts_at:
        changes["starts_at"] = starts_at
    if ends_at != slot.ends_at:
        changes["ends_at"] = ends_at
    return changes


def _save(
    slot: Slot, target: tuple[str, bool] | None, changes: dict[str, object], event_time: datetime, ctx: FeedContext
) -> None:
    if slot.active_booking_id is not None:
        slot.refresh_from_db(fields=["status", "pooled"])  # a booking service may have just changed it
    values: dict[str, object] = dict(changes)
    if target is not None:
        status, pooled = target
        if status != slot.status:
            values["status"] = status
            values["status_changed_at"] = ctx.now
        if pooled != slot.pooled:
            values["pooled"] = pooled
    _update_slot(slot, event_time, values)


# The slot rows: plain SQL on the listener's hot path ---------------------------------------------
# Every SIU and SQR slot goes through these three statements; the ORM spent about 0.4 ms of CPU
# compiling each of them, a third of the listener's budget (bench/hl7_ingest). Same columns,
# same semantics as Slot.objects.select_for_update() / create() / update().

_WRITABLE = frozenset(
    {"site_id", "scanner_id", "modality_id", "starts_at", "ends_at", "status", "status_changed_at", "pooled"}
)
_DATETIMES = frozenset({"starts_at", "ends_at", "status_changed_at", "last_event_at", "created_at"})


def _locked_slot(trust_id: int, slot_id: str) -> Slot | None:
    """The slot, locked for this transaction, with the id of its active hub booking (one query,
    or none when `slots_locked_together` read it, or holds it back, for this message's group)."""
    group = _current_group()
    if group is not None:
        key = (trust_id, slot_id)
        if key in group.read:
            return group.read.pop(key)  # once: after this message it may have changed
        if key in group.held:
            return group.held[key]  # new in this group: later events change the row to insert
        group.write()  # this read must see the group's earlier changes
    found = _locked_slots(trust_id, [slot_id])
    return found[0] if found else None


def _locked_slots(trust_id: int, slot_ids: list[str], *, before: Sequence[Statement] | None = None) -> list[Slot]:
    """The trust's slots with these ids, locked in id order, each with `active_booking_id`.
    `before`: statements sent ahead in the same round trip; by default, the lock on each of these
    slot keys (`_key_locks`)."""
    lock = " FOR UPDATE OF s" if connection.features.has_select_for_update_of else ""
    statuses = ", ".join(["%s"] * len(ACTIVE_BOOKING_STATUSES))
    wanted = ", ".join(["%s"] * len(slot_ids))
    sql = (
        f"SELECT {', '.join('s.' + c for c in _SLOT_FIELDS)}, "
        f"(SELECT b.id FROM {Booking._meta.db_table} b WHERE b.slot_id = s.id AND b.status IN ({statuses}) "
        f"LIMIT 1) AS active_booking_id FROM {Slot._meta.db_table} s "
        f"WHERE s.trust_id = %s AND s.ris_slot_id IN ({wanted}) ORDER BY s.id{lock}"
    )
    statements = [*(_key_locks([(trust_id, slot_id) for slot_id in slot_ids]) if before is None else before)]
    statements.append((sql, [*ACTIVE_BOOKING_STATUSES, trust_id, *slot_ids]))
    with connection.cursor() as cursor:
        execute_together(cursor, statements)
        rows = cursor.fetchall()
    converters = _slot_converters()
    slots = []
    for row in rows:
        values = list(row)
        for index, (functions, expression) in converters:
            for convert in functions:
                values[index] = convert(values[index], expression, connection)
        slot = Slot.from_db(connection.alias, _SLOT_FIELDS, values[:-1])
        slot.active_booking_id = values[-1]
        slots.append(slot)
    return slots


def _key_locks(keys: Iterable[tuple[int, str]]) -> list[Statement]:
    """PostgreSQL: the statement that takes this transaction's lock on each (trust, slot id), whether
    the slot exists yet or not, in one order for every transaction. Two that name the same new slot
    then take turns rather than both inserting it (one would fail and apply again) or each holding
    what the other waits for (a deadlock)."""
    if connection.vendor != "postgresql":
        return []
    ids = sorted({_key_lock_id(trust_id, slot_id) for trust_id, slot_id in keys})
    return [("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", [ids])] if ids else []


def _key_lock_id(trust_id: int, slot_id: str) -> int:
    digest = hashlib.blake2b(f"wmin.slot:{trust_id}:{slot_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# Slot rows read by a plain cursor are built as the ORM would build them (Model.from_db, with the
# backend's converters: SQLite returns datetimes as text, booleans as integers), without its
# per-query set-up, which cost more than the query on this path.
_SLOT_FIELDS = [column.attname for column in Slot._meta.concrete_fields]
_converters_by_vendor: dict[str, list[tuple[int, tuple[list, object]]]] = {}


def _slot_converters() -> list[tuple[int, tuple[list, object]]]:
    converters = _converters_by_vendor.get(connection.vendor)
    if converters is None:
        compiler = connection.ops.compiler("SQLCompiler")(Slot.objects.none().query, connection, connection.alias)
        columns = [Slot._meta.get_field(name).get_col(Slot._meta.db_table) for name in _SLOT_FIELDS]
        converters = sorted(compiler.get_converters(columns).items())
        _converters_by_vendor[connection.vendor] = converters
    return converters


@dataclass
class _Together:
    """A group's slots: those read (and locked) for it, and its writes not yet sent.

    New slots whose id nothing needs at once are held back (`held`; a later event in the group for
    the same slot changes the row to insert), and changes to slots without a hub booking wait in
    `changed`; each kind goes to the database as one statement. For a burst of releases that is one
    INSERT rather than one per message. `write()` sends them: before any read of slots here,
    before anything outside this module is told of a slot (a freed slot, a booking), and at the end.
    `waiting` holds the referrals the group's patients wait on (see `booking.services.ris.record_ris_booking`).
    """

    read: dict[tuple[int, str], Slot | None]
    held: dict[tuple[int, str], Slot] = field(default_factory=dict)
    changed: list[tuple[int, datetime, dict[str, object]]] = field(default_factory=list)
    waiting: WaitingReferrals | None = None

    def write(self) -> None:
        if self.held:
            # In key order: two groups inserting some of the same new slots then wait for each
            # other one way round, never both ways (a deadlock, until PostgreSQL notices).
            held = sorted(self.held.values(), key=lambda slot: (slot.trust_id, slot.ris_slot_id))
            self.held = {}
            _insert_slots(held)
        if self.changed:
            changed, self.changed = self.changed, []
            _update_slots(changed)


_group = threading.local()


def _current_group() -> _Together | None:
    return getattr(_group, "together", None)


@contextmanager
def slots_locked_together(
    parsed_messages: Iterable[tuple[ParsedMessage, FeedProfile]], *, lock_timeout_ms: int | None = None
) -> Iterator[None]:
    """Lock and read every slot a group of SIU messages names, one query per trust, in id order
    (so two groups never deadlock); each message's first look at its slot then costs nothing, and
    the group's simple writes are sent together (`_Together`), all of them before this returns.
    Every slot key it names is locked first (`_key_locks`), new slots too. With `lock_timeout_ms`
    (PostgreSQL), no lock the transaction asks for is waited on for longer; both go in the same
    round trip as the first read.
    Inside, a handler that may change other slots calls `forget_slots_read_together`."""
    wanted: dict[int, set[str]] = {}
    patients: set[tuple[int, str]] = set()
    for parsed, profile in parsed_messages:
        if (parsed.header.message_type or "").upper() != "SIU":
            continue
        for event in bodies(parsed):
            slot_id = (event.filler_appointment_id or event.placer_appointment_id or "").strip()
            if slot_id and len(slot_id) <= MAX_SLOT_ID:
                wanted.setdefault(profile.trust_id, set()).add(slot_id)
            nhs = _digits(event.patient.nhs_number if event.patient else None)
            if nhs:
                patients.add((profile.trust_id, nhs))
    before: list[Statement] = []
    if lock_timeout_ms is not None and connection.vendor == "postgresql":
        before.append((f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", []))
    before += _key_locks((trust_id, slot_id) for trust_id, slot_ids in wanted.items() for slot_id in slot_ids)
    read: dict[tuple[int, str], Slot | None] = {}
    for trust_id, slot_ids in wanted.items():
        read.update({(trust_id, slot_id): None for slot_id in slot_ids})
        for slot in _locked_slots(trust_id, sorted(slot_ids), before=before):
            read[(trust_id, slot.ris_slot_id)] = slot
        before = []
    if before:  # no slot to read: the lock timeout alone
        with connection.cursor() as cursor:
            execute_together(cursor, before)
    group = _group.together = _Together(read)
    if patients:
        group.waiting = waiting_referrals(sorted(patients))
    try:
        yield
        group.write()
    finally:
        _group.together = None


def forget_slots_read_together() -> None:
    """Write what the group holds back and forget what it read (another handler may change it)."""
    group = _current_group()
    if group is not None:
        group.write()
        group.read.clear()
        group.waiting = None


def _write_held_back() -> None:
    group = _current_group()
    if group is not None:
        group.write()


def _new_slot(*, now: datetime, **values: object) -> Slot:
    slot = Slot(**values, version=1, status_changed_at=now, created_at=now)
    slot.active_booking_id = None
    return slot


def _insert_slot(*, now: datetime, **values: object) -> Slot:
    slot = _new_slot(now=now, **values)
    _insert_slots([slot])
    return slot


def _insert_later(*, now: datetime, **values: object) -> bool:
    """Hold a new slot back for the group's one INSERT; False outside a group (insert it now)."""
    group = _current_group()
    if group is None or not connection.features.can_return_rows_from_bulk_insert:
        return False
    slot = _new_slot(now=now, **values)
    group.held[(slot.trust_id, slot.ris_slot_id)] = slot
    return True


_INSERTED = (
    "trust_id", "ris_slot_id", "site_id", "scanner_id", "modality_id", "starts_at", "ends_at", "status", "pooled",
    "last_event_at", "version", "status_changed_at", "created_at",
)


def _insert_slots(slots: list[Slot]) -> None:
    """One INSERT for new slots; each gets its id."""
    one = f"({', '.join(['%s'] * len(_INSERTED))})"
    sql = f"INSERT INTO {Slot._meta.db_table} ({', '.join(_INSERTED)}) VALUES "
    params = [_adapt(c, getattr(slot, c)) for slot in slots for c in _INSERTED]
    if len(slots) == 1:
        ids = [insert_returning_id(sql + one, params)]
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql + ", ".join([one] * len(slots)) + " RETURNING id", params)
            ids = [found[0] for found in cursor.fetchall()]
    for pk, slot in zip(ids, slots, strict=True):
        slot.pk = pk
        slot._state.adding = False


def _update_slot(slot: Slot, event_time: datetime, values: dict[str, object]) -> None:
    unknown = set(values) - _WRITABLE
    if unknown:
        raise ValueError(f"not slot columns the feed writes: {sorted(unknown)}")
    if slot.pk is None:  # held back for the group's INSERT: the row to insert changes instead
        for column, value in values.items():
            setattr(slot, column, value)
        slot.version += 1
        slot.last_event_at = event_time
        return
    group = _current_group()
    if group is not None:
        group.changed.append((slot.pk, event_time, values))
    else:
        _update_slots([(slot.pk, event_time, values)])


def _update_slots(changes: list[tuple[int, datetime, dict[str, object]]]) -> None:
    """Each slot's event: version + 1, its time, its new values; one statement per set of columns
    on PostgreSQL (UPDATE … FROM VALUES), one per slot elsewhere."""
    by_columns: dict[tuple[str, ...], list[tuple[int, datetime, dict[str, object]]]] = {}
    for change in changes:
        by_columns.setdefault(tuple(change[2]), []).append(change)
    table = Slot._meta.db_table
    with connection.cursor() as cursor:
        for columns, same in by_columns.items():
            rows = [
                [slot_id, _adapt("last_event_at", event_time), *(_adapt(c, values[c]) for c in columns)]
                for slot_id, event_time, values in same
            ]
            if connection.vendor != "postgresql" or len(rows) == 1:
                assignments = "".join(f", {c} = %s" for c in columns)
                cursor.executemany(
                    f"UPDATE {table} SET version = version + 1, last_event_at = %s{assignments} WHERE id = %s",
                    [[*row[1:], row[0]] for row in rows],
                )
                continue
            names = ("id", "last_event_at", *columns)
            types = [Slot._meta.get_field(name).db_type(connection) for name in names]
            one = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
            cursor.execute(
                f"UPDATE {table} AS s SET version = s.version + 1, "
                + ", ".join(f"{name} = v.{name}" for name in names[1:])
                + f" FROM (VALUES {', '.join([one] * len(rows))}) AS v({', '.join(names)}) WHERE s.id = v.id",
                [value for row in rows for value in row],
            )


def _adapt(column: str, value: object) -> object:
    return connection.ops.adapt_datetimefield_value(value) if column in _DATETIMES else value


# Bookings ------------------------------------------------------------------------------------


def _is_ours(booking: Booking, event: SlotEvent) -> bool:
    """The RIS's booking is the hub's own (echoed after our SRM): same ARQ-1 or same NHS number."""
    if event.placer_appointment_id and event.placer_appointment_id == placer_appointment_id(booking):
        return True
    nhs = _digits(event.patient.nhs_number if event.patient else None)
    return bool(nhs) and nhs == _digits(booking.referral.patient.nhs_number)


def _conflict(booking: Booking, reason: str, ctx: FeedContext) -> None:
    if booking.status in (BookingStatus.PENDING_RIS, BookingStatus.CONFIRMED):
        mark_conflict(booking, reason, actor_label=ctx.actor_label, now=ctx.now)


def _cancel(booking: Booking, reason: str, ctx: FeedContext) -> None:
    cancel_booking(
        booking,
        actor_user=None,
        reason=reason,
        contact_method="RIS",
        now=ctx.now,
        notify=booking.channel != BookingChannel.RIS,  # the trust tells its own patients
    )


def _transition(booking: Booking, to_status: str, reason: str, ctx: FeedContext) -> None:
    transition(booking, to_status, actor_label=ctx.actor_label, reason=reason)


def _link_local_booking(slot: Slot, event: SlotEvent, ctx: FeedContext) -> str:
    """A patient on this trust's waiting list booked in its own RIS: booking.services links their
    referral (`record_ris_booking`), with the referrals the group read ahead, once the slot rows the
    group holds back are written."""
    nhs = _digits(event.patient.nhs_number if event.patient else None)
    if not nhs:
        return ""
    group = _current_group()
    return record_ris_booking(
        slot,
        trust=ctx.trust,
        nhs_number=nhs,
        actor_label=ctx.actor_label,
        now=ctx.now,
        inbound_message_id=ctx.message_id,
        waiting=group.waiting if group is not None else None,
        before_write=_write_held_back,
    )


def _digits(value: str | None) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


# Where and when ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    site_id: int | None
    scanner_id: int | None
    modality_id: int | None
    exam_minutes: int | None = None


@dataclass(frozen=True)
class _TrustPlaces:
    sites: dict[str, int]  # site code (upper) → site id
    scanners: dict[str, tuple[int, int, int]]  # ris_resource_id (upper) → scanner, site, modality
    main_site_id: int | None


@dataclass(frozen=True)
class _Catalogue:
    exams: dict[str, tuple[int, int, int]]  # exam code (upper) → exam type, modality, minutes
    modalities: dict[str, int]  # modality code or DICOM code (upper) → modality id


_cache_lock = threading.Lock()
_places: dict[int, tuple[float, _TrustPlaces]] = {}
_catalogue: list[tuple[float, _Catalogue]] = []


def resolve_place(event: SlotEvent, ctx: FeedContext, *, need_modality: bool, fallback_site: bool = True) -> Place:
    places = trust_places(ctx.trust.pk)
    scanner = None
    for key in (event.resource_id, *(_location_keys(event))):
        scanner = places.scanners.get(str(key or "").strip().upper())
        if scanner:
            break
    if scanner is not None:
        scanner_id, site_id, modality_id = scanner
        return Place(site_id, scanner_id, modality_id, _exam_minutes(event, ctx))
    site_id = None
    for key in _location_keys(event):
        site_id = places.sites.get(str(key or "").strip().upper())
        if site_id:
            break
    if site_id is None and fallback_site:
        site_id = places.main_site_id
        if site_id is None:
            raise ContentError("204", f"{ctx.trust} has no sites in the hub to put slot {event.filler_appointment_id} in", "AIL^1^3")
    modality_id, minutes = exam_modality(event, ctx, required=need_modality)
    return Place(site_id, None, modality_id, minutes)


def exam_modality(event: SlotEvent, ctx: FeedContext, *, required: bool) -> tuple[int | None, int | None]:
    catalogue = exam_catalogue()
    code_map = {str(k).strip().upper(): str(v).strip().upper() for k, v in (ctx.profile.exam_code_map or {}).items()}
    tried = []
    # AIS-3 exam codes first; some RIS name the exam only as the appointment type (SCH-8, SCH-7).
    candidates = [code.identifier for code in event.exam_codes or ()] + [getattr(event, "appointment_type", "")]
    for candidate in candidates:
        identifier = (candidate or "").strip().upper()
        if not identifier:
            continue
        tried.append(candidate.strip())
        ours = code_map.get(identifier, identifier)
        if ours in catalogue.exams:
            _, modality_id, minutes = catalogue.exams[ours]
            return modality_id, minutes
        if ours in catalogue.modalities:
            return catalogue.modalities[ours], None
    if not required:
        return None, None
    if tried:
        raise ContentError(
            "103",
            f"Exam code {', '.join(tried)} is not in {ctx.trust}'s exam code map, so the slot's modality is unknown",
            "AIS^1^3",
        )
    raise ContentError(
        "101", "No scanner (AIG-3), exam code (AIS-3) or appointment type (SCH-8) to tell the slot's modality", "AIS^1^3"
    )


def _exam_minutes(event: SlotEvent, ctx: FeedContext) -> int | None:
    return exam_modality(event, ctx, required=False)[1]


def _location_keys(event: SlotEvent) -> tuple[str, ...]:
    location = event.location
    if location is None:
        return ()
    return tuple(k for k in (location.facility, location.point_of_care, location.room) if k)


def _times(
    event: SlotEvent, place: Place | None, *, required: bool, current: tuple[datetime, datetime] | None = None
) -> tuple[datetime, datetime]:
    starts_at = aware(event.starts_at)
    ends_at = aware(event.ends_at)
    if starts_at is None:
        if required or current is None:
            raise ContentError("101", "No start time (TQ1-7, SCH-11 or AIS-4)", "TQ1^1^7")
        starts_at = current[0]
        if ends_at is None:
            return current
    if ends_at is None:
        minutes = event.duration_minutes or (place.exam_minutes if place else None)
        if minutes:
            ends_at = starts_at + timedelta(minutes=int(minutes))
        elif current is not None:
            ends_at = starts_at + (current[1] - current[0])
        else:
            raise ContentError("101", "No end time or duration (TQ1-8, TQ1-6, SCH-9 or AIS-7)", "TQ1^1^8")
    if ends_at <= starts_at:
        raise ContentError("102", "The slot ends before it starts", "TQ1^1^8")
    return starts_at, ends_at


def trust_places(trust_id: int) -> _TrustPlaces:
    now = time.monotonic()
    with _cache_lock:
        cached = _places.get(trust_id)
        if cached is not None and now - cached[0] < PLACES_CACHE_SECONDS:
            return cached[1]
    sites = list(
        Site.objects.filter(trust_id=trust_id).annotate(scanner_count=Count("scanners")).values_list("pk", "code", "kind", "scanner_count")
    )
    scanners = Scanner.objects.filter(site__trust_id=trust_id).exclude(ris_resource_id="")
    ranked = sorted(sites, key=lambda s: (s[2] != "hospital", -s[3], s[1]))
    places = _TrustPlaces(
        sites={code.upper(): pk for pk, code, _, _ in sites},
        scanners={s.ris_resource_id.upper(): (s.pk, s.site_id, s.modality_id) for s in scanners},
        main_site_id=ranked[0][0] if ranked else None,
    )
    with _cache_lock:
        _places[trust_id] = (now, places)
    return places


def exam_catalogue() -> _Catalogue:
    now = time.monotonic()
    with _cache_lock:
        if _catalogue and now - _catalogue[0][0] < PLACES_CACHE_SECONDS:
            return _catalogue[0][1]
    exams = {
        code.upper(): (pk, modality_id, minutes)
        for pk, code, modality_id, minutes in ExamType.objects.values_list("pk", "code", "modality_id", "duration_minutes")
    }
    modalities: dict[str, int] = {}
    for pk, code, dicom in Modality.objects.values_list("pk", "code", "dicom_code"):
        for key in (code, *dicom.split()):
            modalities.setdefault(key.upper(), pk)
    catalogue = _Catalogue(exams=exams, modalities=modalities)
    with _cache_lock:
        _catalogue[:] = [(now, catalogue)]
    return catalogue


def forget_places(**_: object) -> None:
    """Drop cached sites, scanners and exams (saved in this process, or the network reloaded)."""
    with _cache_lock:
        _places.clear()
        _catalogue.clear()


for _model in (Site, Scanner, ExamType, Modality):
    post_save.connect(forget_places, sender=_model, dispatch_uid=f"feeds.forget_places.{_model.__name__}")

"""What a trust's RIS says about its slots, applied to the slot rows: the slot state machine.

A feed handler translates an SIU into a `RisEvent` (which slot, what happened, where and when, its
`OrderingKey`) and calls `apply_event` inside a `SlotWork`, the unit of work of one ingest
transaction (one message, or a group of them arriving together). `apply_event` decides, by
`ordering`, whether the event is stale, and otherwise creates or changes the slot; it returns what
happened (`RisResult`) and the caller does the booking-side work that follows (cancel the hub booking
in a slot the RIS cancelled, tell backfill about a freed slot).

| action       | slot                        | with a hub booking in the slot            |
|--------------|-----------------------------|-------------------------------------------|
| opened       | OPEN, pooled (HELD kept)    | unchanged: the RIS has not taken our SRM   |
| blocked      | BLOCKED, not pooled         | (caller: conflict)                         |
| booked       | BOOKED, not pooled          | BOOKED, pooled kept when ours (an echo)    |
| rescheduled, | times and place updated;    |                                            |
| modified     | BOOKED if it was free (it   |                                            |
|              | overtook its S12)           |                                            |
| cancelled    | OPEN, pooled; `freed` if it | (caller: cancel it)                        |
|              | was not free and is ahead   |                                            |
| discontinued | BLOCKED, not pooled         | (caller: cancel it)                        |
| deleted      | WITHDRAWN, not pooled       | (caller: cancel it)                        |
| no_show      | unchanged                   | (caller: did not attend)                   |

The SQL is plain on this path (the listener's budget, bench/hl7_ingest): the ORM spent about 0.4 ms
of CPU compiling each statement. `SlotWork` reads every slot a group names in one query per trust,
holds new slots back for one INSERT and simple changes for one UPDATE, and takes each slot key's
advisory lock first (PostgreSQL) so two transactions naming the same new slot take turns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from slots.models import AppointmentState, Slot, SlotStatus

from .ordering import OrderingKey, next_state, stale_reason
from .statements import Statement, execute_together, insert_returning_id

OPENED = "opened"
BLOCKED = "blocked"
BOOKED = "booked"
RESCHEDULED = "rescheduled"
MODIFIED = "modified"
CANCELLED = "cancelled"
DISCONTINUED = "discontinued"
DELETED = "deleted"
NO_SHOW = "no_show"

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
# Where each action leaves the slot's RIS appointment (None: not an appointment event).
# Discontinued and deleted end the appointment too, but they are about the slot (it leaves the
# pool for good), so they go by clock alone: an S17 after an S15 still withdraws the slot.
_APPOINTMENT: dict[str, str | None] = {
    OPENED: None,
    BLOCKED: None,
    BOOKED: AppointmentState.BOOKED,
    RESCHEDULED: AppointmentState.MODIFIED,
    MODIFIED: AppointmentState.MODIFIED,
    CANCELLED: AppointmentState.CANCELLED,
    DISCONTINUED: AppointmentState.CANCELLED,
    DELETED: AppointmentState.CANCELLED,
    NO_SHOW: AppointmentState.NO_SHOW,
}
# Events that mean the RIS holds a booking in the slot: an S13/S14 that overtakes its S12 books it too.
SAYS_BOOKED = (BOOKED, RESCHEDULED, MODIFIED)


@dataclass(frozen=True)
class NewSlot:
    """Where and when a slot the hub has not seen is."""

    site_id: int
    scanner_id: int | None
    modality_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class RisEvent:
    """One SIU body, translated: the slot (trust + appointment id), the action, its ordering key.

    `new_slot` describes the slot if the hub has not seen it; `changes` are the new times and place
    of a slot it has (only the columns that differ); `ours` says the event names the hub booking in
    the slot (the RIS echoing our SRM)."""

    trust_id: int
    appointment_id: str
    action: str
    key: OrderingKey
    now: datetime
    new_slot: NewSlot | None = None
    changes: dict[str, object] = field(default_factory=dict)
    ours: bool = False


@dataclass(frozen=True)
class RisResult:
    """What `apply_event` did: `applied` False with `note` saying why when the event was stale.

    `action` is the one applied (an S13/S14 that overtook its S12 books: BOOKED; an S26 that did
    books the slot too and stays NO_SHOW, `overtook`). `freed`: the slot
    went back to the pool as a future free slot, which the caller announces once its own work is
    done. `booking_id` is the hub booking in the slot when it was read."""

    applied: bool
    slot: Slot | None
    action: str
    created: bool = False
    freed: bool = False
    booking_id: int | None = None
    note: str = ""
    overtook: bool = False  # the event presupposes a booking the slot did not have (its S12 is late)


_SLOT_LEVEL = frozenset({OPENED, BLOCKED, DISCONTINUED, DELETED})


def stale(slot: Slot | None, event: RisEvent) -> str:
    """Why this event is not applied to the slot ("" to apply it)."""
    new_appointment = event.ours and event.action in SAYS_BOOKED
    appointment = None if event.action in _SLOT_LEVEL else _APPOINTMENT[event.action]
    return stale_reason(slot, appointment, event.key, new_appointment=new_appointment)


def apply_event(work: SlotWork, slot: Slot | None, event: RisEvent, *, stale_reason: str | None = None) -> RisResult:
    """Apply one RIS event to its slot (`slot`: as `work.locked_slot` read it), unless it is stale.
    `stale_reason`: `stale(slot, event)` when the caller has already worked it out."""
    reason = stale(slot, event) if stale_reason is None else stale_reason
    if reason:
        return not_applied(slot, event, reason)
    if slot is None:
        return _create(work, event)
    return _update(work, slot, event)


def not_applied(slot: Slot | None, event: RisEvent, reason: str) -> RisResult:
    """The result of a stale event (`reason`: why), recorded and acknowledged, changing nothing."""
    return RisResult(
        False, slot, event.action, booking_id=getattr(slot, "active_booking_id", None),
        note=f"Slot {event.appointment_id}: {event.action} event not applied: {reason}; recorded",
    )


def _create(work: SlotWork, event: RisEvent) -> RisResult:
    new = event.new_slot
    if new is None:
        raise ValueError(f"slot {event.appointment_id} is new: the event must say where and when it is")
    status, pooled = _SLOT_STATE[event.action] or (SlotStatus.BOOKED, False)
    action = BOOKED if event.action in SAYS_BOOKED else event.action
    slot = _new_slot(
        trust_id=event.trust_id,
        ris_slot_id=event.appointment_id,
        site_id=new.site_id,
        scanner_id=new.scanner_id,
        modality_id=new.modality_id,
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        status=status,
        pooled=pooled,
        last_event_at=event.key.event_time,
        appointment_state=next_state(None, _APPOINTMENT[event.action]),
        last_message_id=event.key.arrival,
        now=event.now,
    )
    freed = event.action == CANCELLED and pooled and new.starts_at > event.now
    if action == BOOKED or freed or not work.hold_back(slot):
        work.write()  # the caller tells others of this slot: it must exist
        _insert_slots([slot])
    return RisResult(True, slot, action, created=True, freed=freed, overtook=event.action in (*SAYS_BOOKED, NO_SHOW))


def _update(work: SlotWork, slot: Slot, event: RisEvent) -> RisResult:
    action = event.action
    target = _SLOT_STATE[action]
    booking_id = slot.active_booking_id
    note = ""
    overtook = False
    was_free = slot.status == SlotStatus.OPEN and slot.pooled
    if action == OPENED and booking_id is not None:
        target = None  # our booking stands; the RIS has not taken our SRM yet
        note = f"slot {slot.ris_slot_id} opened in the RIS but booking {booking_id} holds it in the hub"
    elif action == OPENED and slot.status == SlotStatus.HELD:
        target = (SlotStatus.HELD, True)  # a patient is choosing it right now; the hold decides
    elif action == BOOKED and booking_id is not None and event.ours:
        target = (SlotStatus.BOOKED, slot.pooled)
    elif (
        action in (RESCHEDULED, MODIFIED, NO_SHOW)
        and booking_id is None
        and slot.status in (SlotStatus.OPEN, SlotStatus.HELD)
    ):
        # A move, change or no-show presupposes a booking: this one overtook its S12, which will
        # arrive as an earlier stage of the appointment and be ignored, so book the slot as it would.
        target = _SLOT_STATE[BOOKED]
        overtook = True
        action = action if action == NO_SHOW else BOOKED
    values: dict[str, object] = dict(event.changes)
    if target is not None:
        status, pooled = target
        if status != slot.status:
            values["status"] = status
            values["status_changed_at"] = event.now
        if pooled != slot.pooled:
            values["pooled"] = pooled
    values["appointment_state"] = next_state(slot, _APPOINTMENT[event.action])
    values["last_message_id"] = event.key.arrival
    work.update(slot, event.key.event_time, values)
    starts_at = values.get("starts_at", slot.starts_at)
    freed = action == CANCELLED and not was_free and isinstance(starts_at, datetime) and starts_at > event.now
    return RisResult(True, slot, action, freed=freed, booking_id=booking_id, note=note, overtook=overtook)


# The unit of work ----------------------------------------------------------------------------


@dataclass
class SlotWork:
    """One ingest transaction's slots: those read (and locked) for it, and its writes not yet sent.

    New slots whose id nothing needs at once are held back (`held`; a later event in the group for
    the same slot changes the row to insert), and changes to slots without a hub booking wait in
    `changed`; each kind goes to the database as one statement. `write()` sends them: before any
    read of slots here, before anyone outside is told of a slot, and at the end.

    `claim_sql` is a correlated SQL expression over the slot row `s` naming the active hub booking
    in it (the caller's: slots knows no bookings); every slot read carries it as `active_booking_id`.
    """

    claim_sql: str
    claim_params: Sequence[object]
    read: dict[tuple[int, str], Slot | None] = field(default_factory=dict)
    held: dict[tuple[int, str], Slot] = field(default_factory=dict)
    changed: list[tuple[int, datetime, dict[str, object]]] = field(default_factory=list)

    def lock(self, keys: Iterable[tuple[int, str]], *, lock_timeout_ms: int | None = None) -> None:
        """Lock every slot key named (new slots too) and read the slots, one query per trust, in
        id order (so two transactions never deadlock); each event's first look at its slot then
        costs nothing. With `lock_timeout_ms` (PostgreSQL), no lock this transaction asks for is
        waited on for longer."""
        wanted: dict[int, set[str]] = {}
        for trust_id, slot_id in keys:
            wanted.setdefault(trust_id, set()).add(slot_id)
        statements: list[Statement] = []
        if lock_timeout_ms is not None and connection.vendor == "postgresql":
            statements.append((f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", []))
        statements += _key_locks((trust_id, slot_id) for trust_id, slot_ids in wanted.items() for slot_id in slot_ids)
        for trust_id, slot_ids in wanted.items():
            self.read.update({(trust_id, slot_id): None for slot_id in slot_ids})
            for slot in self._locked_slots(trust_id, sorted(slot_ids), before=statements):
                self.read[(trust_id, slot.ris_slot_id)] = slot
            statements = []
        if statements:  # no slot to read: the lock timeout alone
            with connection.cursor() as cursor:
                execute_together(cursor, statements)

    def locked_slot(self, trust_id: int, slot_id: str) -> Slot | None:
        """The slot, locked for this transaction, with `active_booking_id` (no query when `lock`
        read it, or holds it back, for this unit of work)."""
        key = (trust_id, slot_id)
        if key in self.read:
            return self.read.pop(key)  # once: after this event it may have changed
        if key in self.held:
            return self.held[key]  # new here: later events change the row to insert
        self.write()  # this read must see the earlier changes
        found = self._locked_slots(trust_id, [slot_id])
        return found[0] if found else None

    def hold_back(self, slot: Slot) -> bool:
        """Keep a new slot for the one INSERT at `write`; False when this database cannot."""
        if not connection.features.can_return_rows_from_bulk_insert:
            return False
        self.held[(slot.trust_id, slot.ris_slot_id)] = slot
        return True

    def update(self, slot: Slot, event_time: datetime, values: dict[str, object]) -> None:
        """The slot's event: version + 1, its time, its new values (sent at `write`)."""
        unknown = set(values) - _WRITABLE
        if unknown:
            raise ValueError(f"not slot columns a RIS event writes: {sorted(unknown)}")
        for column, value in values.items():
            setattr(slot, column, value)
        if slot.pk is None:  # held back for the INSERT: the row to insert changes instead
            slot.version += 1
            slot.last_event_at = event_time
        else:
            self.changed.append((slot.pk, event_time, values))

    def write(self) -> None:
        if self.held:
            # In key order: two transactions inserting some of the same new slots then wait for
            # each other one way round, never both ways (a deadlock, until PostgreSQL notices).
            held = sorted(self.held.values(), key=lambda slot: (slot.trust_id, slot.ris_slot_id))
            self.held = {}
            _insert_slots(held)
        if self.changed:
            changed, self.changed = self.changed, []
            _update_slots(changed)

    def forget(self) -> None:
        """Write what is held back and forget what was read (someone else may change it now)."""
        self.write()
        self.read.clear()

    def _locked_slots(self, trust_id: int, slot_ids: list[str], *, before: Sequence[Statement] | None = None) -> list[Slot]:
        """The trust's slots with these ids, locked in id order, each with `active_booking_id`.
        `before`: statements sent ahead in the same round trip; by default, each key's lock."""
        lock = " FOR UPDATE OF s" if connection.features.has_select_for_update_of else ""
        wanted = ", ".join(["%s"] * len(slot_ids))
        sql = (
            f"SELECT {', '.join('s.' + c for c in _SLOT_FIELDS)}, {self.claim_sql} AS active_booking_id "
            f"FROM {Slot._meta.db_table} s WHERE s.trust_id = %s AND s.ris_slot_id IN ({wanted}) ORDER BY s.id{lock}"
        )
        statements = [*(_key_locks([(trust_id, slot_id) for slot_id in slot_ids]) if before is None else before)]
        statements.append((sql, [*self.claim_params, trust_id, *slot_ids]))
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


# The slot rows ------------------------------------------------------------------------------

_WRITABLE = frozenset(
    {
        "site_id", "scanner_id", "modality_id", "starts_at", "ends_at", "status", "status_changed_at", "pooled",
        "appointment_state", "last_message_id",
    }
)
_DATETIMES = frozenset({"starts_at", "ends_at", "status_changed_at", "last_event_at", "created_at"})
_INSERTED = (
    "trust_id", "ris_slot_id", "site_id", "scanner_id", "modality_id", "starts_at", "ends_at", "status", "pooled",
    "last_event_at", "appointment_state", "last_message_id", "version", "status_changed_at", "created_at",
)


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


def _new_slot(*, now: datetime, **values: object) -> Slot:
    slot = Slot(**values, version=1, status_changed_at=now, created_at=now)
    slot.active_booking_id = None
    return slot


def _insert_slots(slots: list[Slot]) -> None:
    """One INSERT for new slots; each gets its id."""
    one = f"({', '.join(['%s'] * len(_INSERTED))})"
    sql = f"INSERT INTO {Slot._meta.db_table} ({', '.join(_INSERTED)}) VALUES "
    params = [_adapt(c, getattr(slot, c)) for slot in slots for c in _INSERTED]
    if len(slots) == 1:
        ids = [insert_returning_id(sql + one, params)]
    else:  # only where bulk inserts return rows (`SlotWork.hold_back`)
        with connection.cursor() as cursor:
            cursor.execute(sql + ", ".join([one] * len(slots)) + " RETURNING id", params)
            ids = [found[0] for found in cursor.fetchall()]
    for pk, slot in zip(ids, slots, strict=True):
        slot.pk = pk
        slot._state.adding = False


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

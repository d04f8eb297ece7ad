"""SIU: what a trust's RIS says about its slots, translated into slot changes (slots.services).

This module only reads HL7: which slot (trust + SCH-2, else SCH-1), what happened, where and when,
and the event's ordering key (EVN-2, else MSH-7, else arrival time; then the message's arrival).
`slots.services.ris_events` applies it, or finds it stale (`slots.services.ordering`: a final
appointment, an earlier stage of it, an older time, or a replay): stored, ACKed AA, applied nothing,
with the reason on the inbound message. What the change means for a hub booking in the slot, or a
referral waiting for it, is done here afterwards through booking.services, with `origin=Origin.RIS`
so nothing is echoed back to the RIS that told us.

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
| S26     | did not attend          | unchanged; BOOKED if it was | DNA; with none and the slot free, the    |
|         |                         | free (it overtook its S12)  | waiting referral is booked, then DNA     |

An event of an appointment already cancelled or did-not-attend (S12-S15, S26), or one that would
move it back (an S12 after its S13), is stale whatever its time; see slots.services.ordering.

For trusts whose profile says SIU_STATUS, SCH-25 mapped by `status_map` to open / blocked /
cancelled turns an S12, S13 or S14 into the matching action (that is how they release slots).

Where a new slot is: AIG-3 matched to a scanner's `ris_resource_id` (site, scanner and modality),
else AIL-3's facility, point of care or room matched to one of the trust's site codes, else the
trust's main site (its hospital with the most scanners). Its modality: the scanner's, else the first
AIS-3 exam code (then the SCH-8/SCH-7 appointment type) that the profile's `exam_code_map`, or the hub
catalogue itself, knows as an exam or a modality; none → AE 103 (fix the map, then replay).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Count
from django.db.models.signals import post_save

from booking.models import Booking, BookingChannel, BookingStatus
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.services.bookings import cancel_booking, mark_conflict, transition
from booking.services.ris import record_ris_booking
from booking.signals import slot_freed
from slots.models import ExamType, Modality, Scanner, Site, Slot
from slots.services import Origin, ris_events
from slots.services.ordering import OrderingKey
from slots.services.ris_events import (
    BLOCKED,
    BOOKED,
    CANCELLED,
    DELETED,
    DISCONTINUED,
    MODIFIED,
    NO_SHOW,
    OPENED,
    RESCHEDULED,
    SlotWork,
)
from wmin.feeds.hl7.errors import ContentError
from wmin.feeds.models import SlotReleaseMode
from wmin.feeds.outbox import booking_id_from_placer, placer_appointment_id

from . import FeedContext, Outcome, aware, bodies

if TYPE_CHECKING:
    from datetime import datetime

    from wmin.feeds.hl7.model import ParsedMessage, SlotEvent
    from wmin.feeds.models import FeedProfile

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
_STATUS_MEANINGS = {"open": OPENED, "blocked": BLOCKED, "cancelled": CANCELLED, "booked": BOOKED}
MAX_SLOT_ID = 80
PLACES_CACHE_SECONDS = 60.0
# The hub booking in a slot `s` the unit of work reads (slots knows no bookings).
ACTIVE_BOOKING_SQL = (
    f"(SELECT b.id FROM {Booking._meta.db_table} b WHERE b.slot_id = s.id AND b.status IN "
    f"({', '.join(['%s'] * len(ACTIVE_BOOKING_STATUSES))}) LIMIT 1)"
)


def handle(parsed: ParsedMessage, ctx: FeedContext) -> Outcome:
    notes = [apply_event(event, ctx) for event in bodies(parsed)]
    if not notes:
        raise ContentError("101", "The message holds no appointment (SCH)", "SCH")
    applied = any(outcome.applied for outcome in notes)
    return Outcome(applied, "; ".join(o.note for o in notes if o.note))


def slot_key(event: SlotEvent) -> str:
    """The slot's key within its trust: SCH-2, else SCH-1."""
    return (event.filler_appointment_id or event.placer_appointment_id or "").strip()


def apply_event(event: SlotEvent, ctx: FeedContext, *, action: str | None = None) -> Outcome:
    """Translate one SIU body into a slot change (slots.services), then do the booking side."""
    slot_id = slot_key(event)
    if not slot_id:
        raise ContentError("101", "No filler appointment id (SCH-2) or placer appointment id (SCH-1)", "SCH^1^2")
    if len(slot_id) > MAX_SLOT_ID:
        raise ContentError("102", f"SCH-2 is longer than {MAX_SLOT_ID} characters", "SCH^1^2")
    action = action or action_for(event, ctx)
    key = OrderingKey(aware(event.event_time) or ctx.sent_at, ctx.message_id)
    work = ctx.work.slots
    slot = work.locked_slot(ctx.trust.pk, slot_id)
    change = ris_events.RisEvent(ctx.trust.pk, slot_id, action, key, ctx.now)
    reason = ris_events.stale(slot, change)
    booking = None
    if slot is not None and slot.active_booking_id is not None:
        if reason and action not in ris_events.SAYS_BOOKED:
            return _outcome(ris_events.not_applied(slot, change, reason))  # stale whoever's booking it is
        booking = Booking.objects.select_related("referral__patient").get(pk=slot.active_booking_id)
        earlier = _about_an_earlier_hub_booking(booking, event, action, slot_id)
        if earlier:
            return Outcome(False, earlier)
        if action in ris_events.SAYS_BOOKED and _is_ours(booking, event):
            # The echo of the hub's own booking may start a new appointment in a slot whose last is over.
            change = dataclasses.replace(change, ours=True)
            reason = ris_events.stale(slot, change)
    if reason:
        return _outcome(ris_events.not_applied(slot, change, reason))
    if slot is None:
        place = resolve_place(event, ctx, need_modality=True)
        starts_at, ends_at = _times(event, place, required=True)
        assert place.site_id is not None and place.modality_id is not None
        new = ris_events.NewSlot(place.site_id, place.scanner_id, place.modality_id, starts_at, ends_at)
        change = dataclasses.replace(change, new_slot=new)
    else:
        change = dataclasses.replace(change, changes=_moves(slot, event, ctx))
    result = ris_events.apply_event(work, slot, change, stale_reason="")
    return _booking_side(result, booking, event, ctx)


def _outcome(result: ris_events.RisResult, *notes: str) -> Outcome:
    return Outcome(result.applied, "; ".join(n for n in (result.note, *notes) if n))


def _booking_side(
    result: ris_events.RisResult, booking: Booking | None, event: SlotEvent, ctx: FeedContext
) -> Outcome:
    """What the slot change means for the hub booking in it (or a waiting referral)."""
    slot, action = result.slot, result.action
    assert slot is not None
    notes: list[str] = []
    if booking is not None:
        ctx.work.forget()  # the booking services read and change slots and referrals
        if action == BLOCKED:
            _conflict(booking, f"{ctx.trust} blocked slot {slot.ris_slot_id} in its RIS", ctx)
        elif action == BOOKED:
            if _is_ours(booking, event):
                if booking.status == BookingStatus.PENDING_RIS:
                    _transition(booking, BookingStatus.CONFIRMED, "Booked in the RIS", ctx)
            else:
                _conflict(booking, f"{ctx.trust} booked slot {slot.ris_slot_id} for another patient in its RIS", ctx)
        elif action in (DISCONTINUED, DELETED):
            _cancel(booking, f"Appointment {action} in {ctx.trust}'s RIS", ctx)
        elif action == CANCELLED:
            _cancel(booking, f"Appointment cancelled in {ctx.trust}'s RIS", ctx, reason_code=event.reason)
        elif action == NO_SHOW:
            if booking.status == BookingStatus.CONFIRMED:
                _transition(booking, BookingStatus.DID_NOT_ATTEND, "Did not attend (RIS)", ctx)
            else:
                notes.append(f"no confirmed hub booking in slot {slot.ris_slot_id} to mark as did not attend")
    elif action == NO_SHOW and result.overtook:
        # The S26 overtook its S12: book the waiting patient as the S12 would have, then mark them.
        note = _link_local_booking(slot, event, ctx)
        linked = Booking.objects.filter(slot_id=slot.pk, status=BookingStatus.CONFIRMED).first()
        if linked is not None:
            _transition(linked, BookingStatus.DID_NOT_ATTEND, "Did not attend (RIS)", ctx)
        if note:
            notes.append(note)
    elif action == NO_SHOW:
        notes.append(f"no confirmed hub booking in slot {slot.ris_slot_id} to mark as did not attend")
    elif action == BOOKED:
        note = _link_local_booking(slot, event, ctx)
        if note:
            notes.append(note)
    if result.freed:
        ctx.work.forget()  # backfill, told next, reads and changes slots
        slot_freed.send(sender=Slot, slot_id=slot.pk)
    return _outcome(result, *notes)


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


# The unit of work ----------------------------------------------------------------------------


def lock_slots(work: SlotWork, named: Iterable[tuple[ParsedMessage, FeedProfile]], *, lock_timeout_ms: int | None) -> set[tuple[int, str]]:
    """Lock and read every slot the SIU messages name (`SlotWork.lock`); the (trust, NHS number)
    of every patient they name, for the waiting referrals read with them."""
    keys: set[tuple[int, str]] = set()
    patients: set[tuple[int, str]] = set()
    for parsed, profile in named:
        if (parsed.header.message_type or "").upper() != "SIU":
            continue
        for event in bodies(parsed):
            slot_id = slot_key(event)
            if slot_id and len(slot_id) <= MAX_SLOT_ID:
                keys.add((profile.trust_id, slot_id))
            nhs = _digits(event.patient.nhs_number if event.patient else None)
            if nhs:
                patients.add((profile.trust_id, nhs))
    work.lock(sorted(keys), lock_timeout_ms=lock_timeout_ms)
    return patients


# Bookings ------------------------------------------------------------------------------------


# Events about one appointment that must not touch a later one in the same slot.
_APPOINTMENT_EVENTS = (CANCELLED, NO_SHOW, RESCHEDULED, MODIFIED)


def _about_an_earlier_hub_booking(booking: Booking, event: SlotEvent, action: str, slot_id: str) -> str:
    """Why the event is not applied when its SCH-1 names another hub booking than the one now in
    the slot: a late S15 for a booking the hub cancelled and replaced must not cancel its successor.
    Slot-level events (S16, S17) still take the slot out; an S12 for another booking is a conflict."""
    named = booking_id_from_placer(event.placer_appointment_id)
    if action not in _APPOINTMENT_EVENTS or named is None or named == booking.pk:
        return ""
    return (
        f"Slot {slot_id}: {action} event not applied: SCH-1 names hub booking {event.placer_appointment_id}, "
        f"not {placer_appointment_id(booking)} now in the slot (an earlier appointment's event); recorded"
    )


def _is_ours(booking: Booking, event: SlotEvent) -> bool:
    """The RIS's booking is the hub's own (echoed after our SRM): same ARQ-1 or same NHS number."""
    if event.placer_appointment_id and event.placer_appointment_id == placer_appointment_id(booking):
        return True
    nhs = _digits(event.patient.nhs_number if event.patient else None)
    return bool(nhs) and nhs == _digits(booking.referral.patient.nhs_number)


def _conflict(booking: Booking, reason: str, ctx: FeedContext) -> None:
    if booking.status in (BookingStatus.PENDING_RIS, BookingStatus.CONFIRMED):
        mark_conflict(booking, reason, actor_label=ctx.actor_label, now=ctx.now)


def _cancel(booking: Booking, reason: str, ctx: FeedContext, *, reason_code: str = "") -> None:
    """Who cancelled is the profile's mapping of the SCH-6 reason (FeedProfile.cancelled_by):
    unmapped, or none given (S16/S17), is the hospital."""
    cancel_booking(
        booking,
        actor_user=None,
        reason=reason,
        contact_method="RIS",
        now=ctx.now,
        notify=booking.channel != BookingChannel.RIS,  # the trust tells its own patients
        origin=Origin.RIS,  # the RIS cancelled it: no SRM back
        cancelled_by=ctx.profile.cancelled_by(reason_code),
    )


def _transition(booking: Booking, to_status: str, reason: str, ctx: FeedContext) -> None:
    transition(booking, to_status, actor_label=ctx.actor_label, reason=reason)


def _link_local_booking(slot: Slot, event: SlotEvent, ctx: FeedContext) -> str:
    """A patient on this trust's waiting list booked in its own RIS: booking.services links their
    referral (`record_ris_booking`), with the referrals the unit of work read ahead, once the slot
    rows it holds back are written."""
    nhs = _digits(event.patient.nhs_number if event.patient else None)
    if not nhs:
        return ""
    return record_ris_booking(
        slot,
        trust=ctx.trust,
        nhs_number=nhs,
        actor_label=ctx.actor_label,
        now=ctx.now,
        inbound_message_id=ctx.message_id,
        waiting=ctx.work.waiting,
        before_write=ctx.work.slots.write,
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

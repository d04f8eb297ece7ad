"""Offers from the optimiser, from sent to answered: the only code that moves an offer on.

An offer is a slot proposed to one patient. The optimiser records them as PROPOSED (allocation: one
per patient; backfill: a ranked cascade per freed slot); this module sends them, takes the answer
and keeps each backfill cascade moving:

    PROPOSED ─ send_offer ─▶ SENT ─┬─ accept_offer ─▶ ACCEPTED (booked through the one booking path)
                                   ├─ decline_offer ─▶ DECLINED ─┐
                                   └─ lapses (expire_lapsed_offers) ─▶ EXPIRED ─┴─▶ next in the cascade
    any open offer whose slot or patient is no longer free ─▶ WITHDRAWN

A backfill cascade sends one offer at a time, in rank order: the first to accept gets the slot, and a
decline or lapse sends the next, until the slot is too close to fill. Every answer is claimed with a
conditional update, so two answers (or an answer racing its expiry) change the offer once. A patient
already booked who is offered an earlier slot is moved (rescheduled), which frees their old slot and
so starts the next link of the chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from audit.models import AuditAction
from audit.trail import record
from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    Offer,
    OfferSource,
    OfferStatus,
    OptimiserRun,
    Referral,
    ReferralStatus,
    RunKind,
)
from booking.models.offers import OPEN_OFFER_STATUSES
from booking.optimiser.backfill import too_close_to_fill
from booking.optimiser.services import BACKFILL_RESPONSE_WINDOW, backfill_freed_slot
from booking.presenters import offer_reason_for_patient
from booking.rules.notice import SHORT_NOTICE_HOURS
from slots.models import Site, Slot, SlotStatus

from .bookings import confirm_booking, local_text, reschedule_booking
from .choices import ChoiceFilters, choices_for
from .errors import BookingError, InvalidTransition
from .holds import BOOKABLE_REFERRAL_STATUSES
from .notifications import link, queue_notification
from .referrals import change_referral_status, change_referral_statuses

if TYPE_CHECKING:
    from accounts.models import User


def start_backfill(slot_id: int, *, now: datetime) -> Offer | None:
    """A pool slot has just come free: rank the waiting list for it and send the first offer."""
    backfill_freed_slot(slot_id, now=now)
    return advance_cascade(slot_id, now=now)


def freed_slots_never_backfilled(now: datetime, *, within: timedelta = timedelta(days=14)) -> list[int]:
    """Pool slots a cancellation freed whose backfill never ran (its task was lost, say to a broker
    outage): open, soon enough to fill, freed over two minutes ago, and no backfill run since."""
    freed = dict(
        Slot.objects.filter(
            status=SlotStatus.OPEN,
            pooled=True,
            starts_at__gt=now + timedelta(hours=SHORT_NOTICE_HOURS),
            starts_at__lt=now + within,
            status_changed_at__lte=now - timedelta(minutes=2),
            bookings__status=BookingStatus.CANCELLED,
        )
        .distinct()
        .values_list("pk", "status_changed_at")
    )
    if not freed:
        return []
    last_run: dict[int, datetime] = {}
    for slot_id, started_at in OptimiserRun.objects.filter(
        kind=RunKind.BACKFILL, started_at__gte=now - within, detail__slot_id__in=list(freed)
    ).values_list("detail__slot_id", "started_at"):
        last_run[slot_id] = max(started_at, last_run.get(slot_id, started_at))
    return sorted(pk for pk, changed in freed.items() if pk not in last_run or last_run[pk] < changed)


def send_allocation_offers(run: OptimiserRun, *, now: datetime) -> int:
    """Send every offer a network allocation run proposed; returns how many went out."""
    sent = 0
    for offer_id in run.offers.filter(status=OfferStatus.PROPOSED).values_list("pk", flat=True):
        with transaction.atomic():
            offer = _lock_open(offer_id)
            if offer is None:
                continue
            if _still_wanted(offer, now=now) and reply_deadline(offer, offer.expires_at, now=now) > now:
                send_offer(offer, expires_at=offer.expires_at, now=now)
                sent += 1
            else:
                _withdraw(Q(pk=offer.pk), now=now, why="no longer suits the patient, or too late to reply")
    return sent


def reply_deadline(offer: Offer, wanted: datetime | None, *, now: datetime) -> datetime:
    """When the patient must answer by: the offer's own window, but never later than the short-notice
    limit before the appointment, so a yes still leaves time to get there and a no time to ask again."""
    latest = offer.slot.starts_at - timedelta(hours=SHORT_NOTICE_HOURS)
    return min(wanted or now + BACKFILL_RESPONSE_WINDOW, latest)


def send_offer(
    offer: Offer,
    *,
    expires_at: datetime | None,
    now: datetime,
    template: str = "offer_sent",
    personalisation: dict[str, object] | None = None,
) -> Offer:
    """Tell the patient about the offer and start its clock. Call inside the caller's transaction.
    `template` and `personalisation`: another message that carries the offer, and what it adds."""
    slot = offer.slot
    expires_at = reply_deadline(offer, expires_at, now=now)
    Offer.objects.filter(pk=offer.pk).update(status=OfferStatus.SENT, expires_at=expires_at)
    offer.status, offer.expires_at = OfferStatus.SENT, expires_at
    referral = offer.referral
    if referral.status == ReferralStatus.WAITING:
        change_referral_status(
            referral, ReferralStatus.OFFERED, now=now, reason=f"Offered slot {slot.pk} ({offer.get_source_display()})"
        )
    details = {
        "name": referral.patient.given_name,
        "booking_reference": referral.booking_reference,
        "exam": referral.exam_type.name,
        "appointment": local_text(slot.starts_at),
        "site": slot.site.name,
        "site_postcode": slot.site.postcode,
        "reply_by": local_text(expires_at),
        "reply_at": link(reverse("booking:patient-offer", args=[offer.pk])),
        "why": offer_reason_for_patient(offer, now=now, current_booking=referral.bookings.active().first()),
    }
    queue_notification(referral.patient, template, {**details, **(personalisation or {})})
    record(
        AuditAction.UPDATE,
        offer,
        summary=f"Offered slot {slot.pk} at {slot.site.name} to {referral.booking_reference}",
        patient_id=referral.patient_id,
        detail={"slot_id": slot.pk, "source": offer.source, "rank": offer.rank, "expires_at": expires_at.isoformat()},
    )
    return offer


def accept_offer(offer: Offer, *, actor_user: User | None, channel: BookingChannel | str, now: datetime) -> Booking:
    """Book the offered slot: a new booking, or a move for a patient already booked later.

    Raises InvalidTransition when the offer has lapsed or been answered, and the booking errors
    (SlotUnavailable, …) when the slot went to someone else first; the offer is then withdrawn.
    """
    try:
        with transaction.atomic():
            _claim(offer, OfferStatus.ACCEPTED, now=now)
            current = offer.referral.bookings.active().first()
            if current is not None:
                booking = reschedule_booking(current, offer.slot_id, actor_user=actor_user, now=now, channel=channel)
            else:
                booking = confirm_booking(offer.referral, offer.slot_id, actor_user=actor_user, channel=channel, now=now)
            _withdraw(
                Q(slot_id=offer.slot_id) | Q(referral_id=offer.referral_id), now=now, keep=offer.pk, why="taken"
            )
            record(
                AuditAction.UPDATE,
                offer,
                summary=f"Offer {offer.pk} accepted: booking {booking.pk}",
                patient_id=offer.referral.patient_id,
                detail={"booking_id": booking.pk, "slot_id": offer.slot_id, "channel": str(channel)},
            )
            return booking
    except InvalidTransition:
        raise
    except BookingError:
        with transaction.atomic():
            _withdraw(Q(pk=offer.pk), now=now, why="slot no longer free")
        raise


def decline_offer(offer: Offer, *, actor_user: User | None, reason: str, now: datetime) -> Offer:
    """The patient says no: record why, and offer the slot to the next in line."""
    with transaction.atomic():
        _claim(offer, OfferStatus.DECLINED, now=now)
        _back_to_waiting([offer.referral_id], now=now)
        record(
            AuditAction.UPDATE,
            offer,
            summary=f"Offer {offer.pk} declined",
            patient_id=offer.referral.patient_id,
            detail={"slot_id": offer.slot_id, "reason": reason.strip()[:200]},
        )
    if offer.source != OfferSource.ALLOCATION:
        transaction.on_commit(lambda: advance_cascade(offer.slot_id, now=now))
    return offer


def expire_lapsed_offers(now: datetime) -> int:
    """Offers sent and not answered in time lapse; each backfill cascade moves to its next patient."""
    with transaction.atomic():
        lapsed = list(
            Offer.objects.select_for_update(skip_locked=True)
            .filter(status=OfferStatus.SENT, expires_at__lte=now)
            .values_list("pk", "slot_id", "referral_id", "source")
        )
        if not lapsed:
            return 0
        Offer.objects.filter(pk__in=[row[0] for row in lapsed]).update(status=OfferStatus.EXPIRED)
        _back_to_waiting([row[2] for row in lapsed], now=now)
        record(
            AuditAction.UPDATE,
            object_type="booking.Offer",
            summary=f"{len(lapsed)} offer(s) lapsed without a reply",
            detail={"offer_ids": [row[0] for row in lapsed]},
        )
    for slot_id in sorted({row[1] for row in lapsed if row[3] != OfferSource.ALLOCATION}):
        advance_cascade(slot_id, now=now)
    return len(lapsed)


def advance_cascade(slot_id: int, *, now: datetime) -> Offer | None:
    """Send the next proposed offer for a freed slot, unless one is out already.

    The cascade stops, and its remaining offers are withdrawn, once the slot is booked, gone from the
    pool, or too close to its start for anyone to get there.
    """
    with transaction.atomic():
        slot = Slot.objects.select_for_update().select_related("site").filter(pk=slot_id).first()
        if slot is None or slot.status != SlotStatus.OPEN or not slot.pooled:
            _withdraw(Q(slot_id=slot_id), now=now, why="slot no longer free")
            return None
        if too_close_to_fill(slot.starts_at, now, SHORT_NOTICE_HOURS):
            _withdraw(Q(slot_id=slot_id), now=now, why="too close to the appointment to fill")
            return None
        open_offers = list(
            Offer.objects.select_for_update()
            .select_related("referral__patient", "referral__exam_type", "slot__site")
            .filter(slot_id=slot_id, status__in=OPEN_OFFER_STATUSES)
            .order_by("rank", "pk")
        )
        if any(offer.status == OfferStatus.SENT for offer in open_offers):
            return None
        for offer in open_offers:
            if _still_wanted(offer, now=now):
                return send_offer(offer, expires_at=now + BACKFILL_RESPONSE_WINDOW, now=now)
            _withdraw(Q(pk=offer.pk), now=now, why="patient no longer waiting")
    return None


def offer_next_best(booking: Booking, *, now: datetime) -> Offer | None:
    """The trust's RIS could not keep this booking (it is in conflict): offer its patient, at once,
    the best open pool slot for them (the ranking of their own choice page, with the needs saved on
    the referral), in one message that says what happened. With no slot to offer, the message says
    the booking team will call. Accepting moves the booking (`accept_offer` reschedules it)."""
    referral = (
        Referral.objects.select_related("patient", "exam_type__modality").filter(pk=booking.referral_id).first()
    )
    if referral is None or referral.status not in (*BOOKABLE_REFERRAL_STATUSES, ReferralStatus.BOOKED):
        return None
    refused = {
        "refused_appointment": local_text(booking.slot.starts_at),
        "refused_site": booking.slot.site.name,
    }
    free = Slot.objects.in_pool().exclude(pk=booking.slot_id).exclude(offers__status=OfferStatus.SENT)
    choices = choices_for(
        referral, slots=free, sites=Site.objects.public(), filters=ChoiceFilters.saved_for(referral), now=now, per_site=1
    )
    best = next((slot for site in choices.ranked for slot in site.slots), None)
    if best is None:
        queue_notification(
            referral.patient,
            "booking_refused",
            {
                "name": referral.patient.given_name,
                "booking_reference": referral.booking_reference,
                "exam": referral.exam_type.name,
                "offered": False,
                **refused,
            },
        )
        return None
    offer = Offer.objects.create(
        referral=referral, slot_id=best.slot_id, source=OfferSource.REFUSED, rank=1, reason="; ".join(best.reasons)[:240]
    )
    offer = Offer.objects.select_related("referral__patient", "referral__exam_type", "slot__site").get(pk=offer.pk)
    return send_offer(
        offer,
        expires_at=now + BACKFILL_RESPONSE_WINDOW,
        now=now,
        template="booking_refused",
        personalisation={"offered": True, **refused},
    )


def open_offers_for(referral: Referral, *, now: datetime):  # -> QuerySet[Offer]
    """Offers the patient can answer now."""
    return (
        referral.offers.filter(status=OfferStatus.SENT, expires_at__gt=now)
        .select_related("slot__site", "slot__modality")
        .order_by("slot__starts_at")
    )


# Internals -----------------------------------------------------------------------------------


def _claim(offer: Offer, to_status: OfferStatus, *, now: datetime) -> None:
    """Move an open, unexpired offer on; a second answer (or a lapsed offer) changes nothing."""
    still_open = Q(pk=offer.pk, status__in=OPEN_OFFER_STATUSES) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    if Offer.objects.filter(still_open).update(status=to_status, responded_at=now) != 1:
        raise InvalidTransition("This offer has expired or has already been answered.")
    offer.status, offer.responded_at = to_status, now


def _lock_open(offer_id: int) -> Offer | None:
    return (
        Offer.objects.select_for_update()
        .select_related("referral__patient", "referral__exam_type", "slot__site")
        .filter(pk=offer_id, status=OfferStatus.PROPOSED)
        .first()
    )


def _still_wanted(offer: Offer, *, now: datetime) -> bool:
    """The patient is still waiting (or booked later than this slot), and the slot is still free."""
    referral = offer.referral
    if referral.status not in (*BOOKABLE_REFERRAL_STATUSES, ReferralStatus.BOOKED):
        return False
    current = referral.bookings.active().select_related("slot").first()
    # A booking in conflict with the trust's RIS holds no time: any free slot is better than it.
    if current is not None and current.status != BookingStatus.CONFLICT and current.slot.starts_at <= offer.slot.starts_at:
        return False
    return offer.slot.status == SlotStatus.OPEN and offer.slot.starts_at > now


def _withdraw(which: Q, *, now: datetime, why: str, keep: int | None = None) -> int:
    offers = Offer.objects.filter(which, status__in=OPEN_OFFER_STATUSES)
    if keep is not None:
        offers = offers.exclude(pk=keep)
    referral_ids = list(offers.values_list("referral_id", flat=True))
    withdrawn = offers.update(status=OfferStatus.WITHDRAWN, responded_at=now)
    if withdrawn:
        _back_to_waiting(referral_ids, now=now)
        record(
            AuditAction.UPDATE,
            object_type="booking.Offer",
            summary=f"{withdrawn} offer(s) withdrawn: {why}",
            detail={"referral_ids": referral_ids[:200], "why": why},
        )
    return withdrawn


def _back_to_waiting(referral_ids: list[int], *, now: datetime) -> None:
    """Referrals marked OFFERED go back to WAITING once no offer of theirs is still out."""
    still_offered = Offer.objects.filter(referral_id__in=referral_ids, status=OfferStatus.SENT).values("referral_id")
    change_referral_statuses(
        Referral.objects.filter(pk__in=referral_ids).exclude(pk__in=still_offered),
        ReferralStatus.WAITING,
        now=now,
        reason="No offer still open",
        from_statuses=(ReferralStatus.OFFERED,),
    )



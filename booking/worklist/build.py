"""Build a clerk's worklist: plain querysets, scoped to the clerk's trust and the network pool.

Patients come only through `visible_to(user)` (the clerk's own trust); slots from the network
pool. Another trust's patient appears only as a `SiteBooking` (booked at one of this trust's
sites) with the few details the receiving trust needs. A fixed number of queries whatever the
size of the lists: one per kind of item, and one more for the freed slots' backfill offers and
the bookings' outbound messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from booking.models import (
    Booking,
    BookingQuerySet,
    BookingStatus,
    Invitation,
    InvitationChannel,
    Offer,
    OfferSource,
    OfferStatus,
    Referral,
    ReferralStatus,
    RisAnswer,
    RisDelivery,
    RisMessageKind,
)
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.models.offers import OPEN_OFFER_STATUSES
from booking.presenters import SIX_WEEKS
from booking.rules.waits import BREACH_WARNING_DAYS
from slots.models import Slot, SlotQuerySet, SlotStatus

from .candidates import candidates_for_slots
from .items import (
    BackfillProgress,
    BookingItem,
    BreachItem,
    ConflictItem,
    ExpiredOfferItem,
    FreedSlotItem,
    InvitationItem,
    ItemKind,
    PatientRef,
    SiteBooking,
    SiteBookingItem,
    SlotRef,
    WorkItem,
)
from .ris import refusal_reoffers, ris_refusals

if TYPE_CHECKING:
    from accounts.models import User

FREED_SLOT_HORIZON = timedelta(days=14)  # "starts soon": worth a phone call to fill
BREACH_WARNING = timedelta(days=BREACH_WARNING_DAYS)  # referrals this close to 6 weeks are "about to breach"
EXPIRED_OFFER_LOOKBACK = timedelta(days=14)
DNA_LOOKBACK = timedelta(days=28)
INCOMING_LOOKBACK = timedelta(days=14)
NOT_CHOSEN_LOOKBACK = SIX_WEEKS  # longer than that, and the 6-week breach item covers them
MAX_PER_KIND = 500


def build_worklist(user: User, *, now: datetime, kinds: Iterable[ItemKind] | None = None) -> list[WorkItem]:
    """Every item of the chosen kinds (all by default), newest first. Candidates are not loaded:
    call `with_candidates` on the items you show."""
    wanted = set(kinds) if kinds is not None else set(ItemKind)
    builders = {
        ItemKind.FREED_SLOT: freed_slots,
        ItemKind.CONFLICT: conflicts,
        ItemKind.RIS_TASK: ris_tasks,
        ItemKind.INCOMING: incoming_bookings,
        ItemKind.EXPIRED_OFFER: expired_offers,
        ItemKind.BREACH: breaches,
        ItemKind.DNA: did_not_attend,
        ItemKind.UNCONFIRMED: not_yet_confirmed,
        ItemKind.LETTER: letters_to_post,
        ItemKind.NOT_CHOSEN: not_yet_chosen,
    }
    items: list[WorkItem] = []
    for kind, builder in builders.items():
        if kind in wanted:
            items.extend(builder(user, now=now))
    items.sort(key=lambda item: (item.at, item.key), reverse=True)
    return items


def count_by_kind(items: Iterable[WorkItem]) -> dict[ItemKind, int]:
    counts = Counter(item.kind for item in items)
    return {kind: counts.get(kind, 0) for kind in ItemKind}


def with_candidates(user: User, items: list[WorkItem], *, now: datetime, limit: int = 3) -> list[WorkItem]:
    """The same items, freed slots now carrying their best candidates from this trust (2 queries)."""
    slot_ids = [item.slot.slot_id for item in items if isinstance(item, FreedSlotItem)]
    if not slot_ids:
        return items
    slots = Slot.objects.pool_visible_to(user).filter(pk__in=slot_ids).select_related("site")
    ranked = candidates_for_slots(user, slots, now=now, limit=limit)
    return [
        replace(item, candidates=ranked.get(item.slot.slot_id, ())) if isinstance(item, FreedSlotItem) else item
        for item in items
    ]


# Freed slots ----------------------------------------------------------------------------------


def freed_slot_queryset(user: User, *, now: datetime) -> SlotQuerySet:
    """Open pool slots starting soon that a cancellation gave back: not yet refilled."""
    return (
        Slot.objects.pool_visible_to(user)
        .filter(status=SlotStatus.OPEN, starts_at__gt=now, starts_at__lte=now + FREED_SLOT_HORIZON)
        .filter(bookings__status=BookingStatus.CANCELLED)
        .distinct()
        .select_related("site__trust", "modality")
    )


def backfill_progress(slot_ids: Iterable[int]) -> dict[int, BackfillProgress]:
    counts: dict[int, Counter[str]] = {}
    rows = Offer.objects.filter(slot_id__in=list(slot_ids), source=OfferSource.BACKFILL).values_list(
        "slot_id", "status"
    )
    for slot_id, status in rows:
        counts.setdefault(slot_id, Counter())[status] += 1
    return {
        slot_id: BackfillProgress(
            sent=c[OfferStatus.PROPOSED] + c[OfferStatus.SENT],
            accepted=c[OfferStatus.ACCEPTED],
            declined=c[OfferStatus.DECLINED],
            expired=c[OfferStatus.EXPIRED],
            withdrawn=c[OfferStatus.WITHDRAWN],
        )
        for slot_id, c in counts.items()
    }


def freed_slots(user: User, *, now: datetime) -> list[WorkItem]:
    slots = list(freed_slot_queryset(user, now=now).order_by("-status_changed_at")[:MAX_PER_KIND])
    progress = backfill_progress(s.pk for s in slots)
    items: list[WorkItem] = []
    for slot in slots:
        p = progress.get(slot.pk, BackfillProgress())
        items.append(
            FreedSlotItem(
                kind=ItemKind.FREED_SLOT,
                at=slot.status_changed_at,
                title=f"{slot.modality.name} slot free at {slot.site.name}",
                why="A patient cancelled and the slot has not been refilled.",
                next_step=(
                    "Offers are out: wait for replies, or phone one of your candidates and book them in."
                    if p.sent
                    else "Phone one of your candidates and book them in."
                ),
                action_url=reverse("booking:clerk-freed-slot", args=[slot.pk]),
                action_label="Fill this slot",
                slot=slot_ref(slot),
                progress=p,
            )
        )
    return items


# Bookings in conflict with a RIS --------------------------------------------------------------


def conflicts(user: User, *, now: datetime) -> list[WorkItem]:
    _reoffer = refusal_reoffers(OuterRef("referral_id"))
    bookings = list(
        Booking.objects.visible_to(user)
        .filter(
            Q(status=BookingStatus.CONFLICT)
            | Q(
                status__in=ACTIVE_BOOKING_STATUSES,
                ris_deliveries__answer=RisAnswer.REFUSED,
                ris_deliveries__kind=RisMessageKind.BOOK,
            )
        )
        .distinct()
        .annotate(  # the next best slot the hub offered the patient when the RIS refused (same query)
            reoffered_at=Subquery(_reoffer.values("slot__starts_at")[:1]),
            reoffered_site=Subquery(_reoffer.values("slot__site__name")[:1]),
        )
        .select_related("referral__exam_type", "slot__site__trust", "slot__modality")
        .order_by("-updated_at")[:MAX_PER_KIND]
    )
    said = ris_refusals([b.pk for b in bookings])
    return [
        ConflictItem(
            kind=ItemKind.CONFLICT,
            at=b.updated_at,
            title=f"{b.slot.site.trust}'s RIS refused a booking",
            why=(
                f"The slot at {b.slot.site.name} went to someone else in {b.slot.site.trust}'s RIS "
                "before our booking reached it."
            ),
            next_step=(
                f"The hub has offered the patient {b.reoffered_site} at "
                f"{timezone.localtime(b.reoffered_at):%-d %b %H:%M}: wait for their answer, "
                "or rebook them into the next best slot, or cancel with their reason."
                if b.reoffered_at
                else "Rebook the patient into the next best slot, or cancel with their reason."
            ),
            action_url=reverse("booking:clerk-conflict", args=[b.pk]),
            action_label="Resolve",
            patient=patient_ref(b.referral),
            booking_id=b.pk,
            slot=slot_ref(b.slot),
            ris_said=said.get(b.pk, ""),
        )
        for b in bookings
    ]


# Bookings at this trust's sites ---------------------------------------------------------------


def _site_booking(b: Booking) -> SiteBooking:
    referral = b.referral
    patient = referral.patient
    needs = [
        (referral.needs_step_free, "Step-free access"),
        (referral.needs_hearing_loop, "Hearing loop"),
        (referral.needs_bariatric, "Bariatric equipment"),
        (bool(patient.interpreter_language), f"Interpreter: {patient.interpreter_language}"),
    ]
    return SiteBooking(
        booking_id=b.pk,
        patient_name=f"{patient.given_name} {patient.family_name}",
        nhs_number=patient.formatted_nhs_number,
        date_of_birth=patient.date_of_birth,
        exam=referral.exam_type.name,
        from_trust=str(referral.trust),
        site_name=b.slot.site.name,
        starts_at=b.slot.starts_at,
        ris_slot_id=b.slot.ris_slot_id,
        access_needs=tuple(text for needed, text in needs if needed),
    )


# Only the columns SiteBooking shows are read from another trust's patient.
_SITE_BOOKING_FIELDS = (
    "id",
    "status",
    "created_at",
    "referral__needs_step_free",
    "referral__needs_hearing_loop",
    "referral__needs_bariatric",
    "referral__trust__short_name",
    "referral__trust__name",
    "referral__patient__id",
    "referral__patient__given_name",
    "referral__patient__family_name",
    "referral__patient__nhs_number",
    "referral__patient__date_of_birth",
    "referral__patient__interpreter_language",
    "referral__exam_type__name",
    "slot__starts_at",
    "slot__ris_slot_id",
    "slot__site__name",
)


def _bookings_at_trust_sites(user: User) -> BookingQuerySet:
    """Bookings in slots at this user's trust's sites, whoever's patient they are."""
    if not user.trust_id:
        return Booking.objects.none()
    return (
        Booking.objects.filter(slot__trust_id=user.trust_id)
        .select_related("referral__trust", "referral__patient", "referral__exam_type", "slot__site")
        .only(*_SITE_BOOKING_FIELDS)
    )


def ris_tasks(user: User, *, now: datetime) -> list[WorkItem]:
    """Bookings this trust's RIS could not take as an SRM message: book them in by hand."""
    if not user.trust_id:
        return []
    messages = list(
        RisDelivery.objects.filter(
            trust_id=user.trust_id,
            answer=RisAnswer.CLERK_TASK,
            booking__in=_bookings_at_trust_sites(user).filter(slot__starts_at__gt=now),
        )
        .filter(
            Q(kind=RisMessageKind.BOOK, booking__status__in=ACTIVE_BOOKING_STATUSES)
            | Q(kind=RisMessageKind.CANCEL, booking__status=BookingStatus.CANCELLED)
        )
        .order_by("-created_at")[:MAX_PER_KIND]
    )
    bookings = {b.pk: b for b in _bookings_at_trust_sites(user).filter(pk__in=[m.booking_id for m in messages])}
    items: list[WorkItem] = []
    for message in messages:
        b = bookings.get(message.booking_id)
        if b is None:
            continue
        cancel = message.kind == RisMessageKind.CANCEL
        items.append(
            SiteBookingItem(
                kind=ItemKind.RIS_TASK,
                at=message.created_at,
                title=("Cancel this in your RIS" if cancel else "Book this in your RIS"),
                why=f"Your RIS takes no booking messages from the hub, so the hub booked slot {b.slot.ris_slot_id} here.",
                next_step=(
                    f"{'Cancel' if cancel else 'Book'} {b.referral.patient.given_name} "
                    f"{b.referral.patient.family_name} in your RIS against slot {b.slot.ris_slot_id}."
                ),
                booking=_site_booking(b),
                patient_id=b.referral.patient.pk,
                ris_status=message.get_answer_display(),
            )
        )
    return items


def incoming_bookings(user: User, *, now: datetime) -> list[WorkItem]:
    """Other trusts' patients booked into this trust's slots lately: the receiving side of a move."""
    if not user.trust_id:
        return []
    bookings = list(
        _bookings_at_trust_sites(user)
        .filter(status__in=ACTIVE_BOOKING_STATUSES)
        .exclude(referral__trust_id=user.trust_id)
        .filter(slot__starts_at__gt=now, created_at__gte=now - INCOMING_LOOKBACK)
        .exclude(ris_deliveries__answer=RisAnswer.CLERK_TASK)
        .order_by("-created_at")[:MAX_PER_KIND]
    )
    statuses = _latest_outbound_status([b.pk for b in bookings])
    return [
        SiteBookingItem(
            kind=ItemKind.INCOMING,
            at=b.created_at,
            title=f"{b.referral.trust}'s patient booked at {b.slot.site.name}",
            why="A clerk or the patient chose one of your pool slots from another trust's waiting list.",
            next_step=(
                "Nothing to do unless your RIS shows a clash: the hub has sent it the booking."
                if statuses.get(b.pk)
                else "Check your RIS has the booking once the hub's message is sent."
            ),
            booking=_site_booking(b),
            patient_id=b.referral.patient.pk,
            ris_status=statuses.get(b.pk, "Not sent yet"),
        )
        for b in bookings
    ]


def _latest_outbound_status(booking_ids: list[int]) -> dict[int, str]:
    labels = dict(RisAnswer.choices)
    latest: dict[int, str] = {}
    rows = (
        RisDelivery.objects.filter(booking_id__in=booking_ids, kind=RisMessageKind.BOOK)
        .order_by("created_at", "pk")
        .values_list("booking_id", "answer")
    )
    for booking_id, status in rows:
        latest[booking_id] = labels.get(status, status)
    return latest


# This trust's patients -------------------------------------------------------------------------


def expired_offers(user: User, *, now: datetime) -> list[WorkItem]:
    waiting = Referral.objects.visible_to(user).waiting()
    offers = (
        Offer.objects.filter(
            referral__in=waiting, status=OfferStatus.EXPIRED, expires_at__gte=now - EXPIRED_OFFER_LOOKBACK
        )
        .exclude(referral__offers__status__in=OPEN_OFFER_STATUSES)
        .select_related("referral__patient", "referral__exam_type", "slot__site__trust", "slot__modality")
        .order_by("-expires_at", "-pk")
    )
    items: list[WorkItem] = []
    seen: set[int] = set()
    for offer in offers[:MAX_PER_KIND]:
        if offer.referral_id in seen:
            continue
        seen.add(offer.referral_id)
        items.append(
            ExpiredOfferItem(
                kind=ItemKind.EXPIRED_OFFER,
                at=offer.expires_at or offer.created_at,
                title="Offer expired without a reply",
                why=f"They did not answer the offer of {offer.slot.site.name} in time.",
                next_step="Phone them and book a slot that suits them from the shortlist.",
                action_url=reverse("booking:clerk-patient", args=[offer.referral.patient_id]),
                action_label="Open their record",
                patient=patient_ref(offer.referral),
                slot=slot_ref(offer.slot),
            )
        )
    return items


def breaches(user: User, *, now: datetime) -> list[WorkItem]:
    referrals = (
        Referral.objects.visible_to(user)
        .waiting()
        .filter(clock_start__lte=now - SIX_WEEKS + BREACH_WARNING)
        .order_by("-clock_start")[:MAX_PER_KIND]
    )
    items: list[WorkItem] = []
    for r in referrals:
        breach_at = r.clock_start + SIX_WEEKS
        breached = breach_at <= now
        weeks = (now - r.clock_start).days // 7
        items.append(
            BreachItem(
                kind=ItemKind.BREACH,
                at=breach_at if breached else breach_at - BREACH_WARNING,
                title="Waiting over 6 weeks" if breached else "About to wait 6 weeks",
                why=(
                    f"Waiting {weeks} weeks with no appointment."
                    if breached
                    else f"Reaches 6 weeks on {breach_at:%-d %B} with no appointment."
                ),
                next_step="Book the soonest slot that suits them, at any site in the network.",
                action_url=reverse("booking:clerk-patient", args=[r.patient_id]),
                action_label="Book for them",
                patient=patient_ref(r),
                weeks_waited=weeks,
                breaches_on=breach_at.date(),
                breached=breached,
            )
        )
    return items


def did_not_attend(user: User, *, now: datetime) -> list[WorkItem]:
    bookings = (
        Booking.objects.visible_to(user)
        .filter(status=BookingStatus.DID_NOT_ATTEND, updated_at__gte=now - DNA_LOOKBACK)
        .filter(referral__status__in=[ReferralStatus.WAITING, ReferralStatus.OFFERED])
        .exclude(referral__bookings__status__in=ACTIVE_BOOKING_STATUSES)
        .select_related("referral__exam_type", "slot__site__trust", "slot__modality")
        .order_by("-updated_at")
    )
    items: list[WorkItem] = []
    seen: set[int] = set()
    for b in bookings[:MAX_PER_KIND]:
        if b.referral_id in seen:
            continue
        seen.add(b.referral_id)
        items.append(
            _booking_item(
                b,
                ItemKind.DNA,
                at=b.updated_at,
                title="Did not attend",
                why=f"Missed their appointment at {b.slot.site.name}.",
                next_step="Phone them, and rebook at any site if they still need the scan.",
                action_label="Rebook",
            )
        )
    return items


def not_yet_confirmed(user: User, *, now: datetime) -> list[WorkItem]:
    """Patients likely to miss an appointment who were asked to confirm it and have not answered."""
    bookings = (
        Booking.objects.visible_to(user)
        .filter(
            status=BookingStatus.CONFIRMED,
            attendance_check_sent_at__isnull=False,
            attendance_confirmed_at__isnull=True,
            slot__starts_at__gt=now,
        )
        .select_related("referral__exam_type", "slot__site__trust", "slot__modality")
        .order_by("-attendance_check_sent_at")
    )
    return [
        _booking_item(
            b,
            ItemKind.UNCONFIRMED,
            at=b.attendance_check_sent_at,
            title="Likely to miss their appointment",
            why=f"Missed appointments before, and has not confirmed the one at {b.slot.site.name}.",
            next_step="Phone them: if they cannot come, cancel it so the slot can go to someone else.",
            action_label="Phone and confirm",
        )
        for b in bookings[:MAX_PER_KIND]
    ]


def letters_to_post(user: User, *, now: datetime) -> list[WorkItem]:
    """Patients with no email or mobile: their invitation is a letter a clerk prints and posts."""
    invitations = (
        Invitation.objects.visible_to(user)
        .filter(channel=InvitationChannel.LETTER, letter_posted_at__isnull=True,
                referral__status__in=[ReferralStatus.WAITING, ReferralStatus.OFFERED])
        .select_related("referral__exam_type")
        .order_by("-sent_at")[:MAX_PER_KIND]
    )
    return [
        InvitationItem(
            kind=ItemKind.LETTER,
            at=i.sent_at,
            title="Invitation letter to post",
            why="They have no email address or mobile number, so we cannot send the invitation to choose.",
            next_step="Print the letter, post it, and mark it as posted.",
            action_url=reverse("booking:clerk-invitation-letter", args=[i.referral_id]),
            action_label="Print the letter",
            patient=patient_ref(i.referral),
            invited_at=i.sent_at,
            channel=i.get_channel_display(),
        )
        for i in invitations
    ]


def not_yet_chosen(user: User, *, now: datetime) -> list[WorkItem]:
    """Invited INVITATION_REMINDER_DAYS ago or more (and reminded, if we could) and still not booked."""
    after = timedelta(days=settings.INVITATION_REMINDER_DAYS)
    invitations = (
        Invitation.objects.visible_to(user)
        .filter(sent_at__lte=now - after, sent_at__gt=now - NOT_CHOSEN_LOOKBACK,
                referral__status__in=[ReferralStatus.WAITING, ReferralStatus.OFFERED])
        .exclude(channel=InvitationChannel.LETTER, letter_posted_at__isnull=True)  # still on "Letters to post"
        .select_related("referral__exam_type")
        .order_by("-sent_at")[:MAX_PER_KIND]
    )
    items: list[WorkItem] = []
    for i in invitations:
        how = i.get_channel_display().lower().split(" (")[0]
        reminded = f" and reminded on {timezone.localtime(i.reminded_at):%-d %B}" if i.reminded_at else ""
        items.append(
            InvitationItem(
                kind=ItemKind.NOT_CHOSEN,
                at=i.reminded_at or i.sent_at + after,
                title="Invited but has not chosen",
                why=f"Invited by {how} on {timezone.localtime(i.sent_at):%-d %B}{reminded}, and has not chosen an appointment.",
                next_step="Phone them: book a slot that suits them, or find out why not.",
                action_url=reverse("booking:clerk-patient", args=[i.referral.patient_id]),
                action_label="Open their record",
                patient=patient_ref(i.referral),
                invited_at=i.sent_at,
                channel=i.get_channel_display(),
                reminded_at=i.reminded_at,
            )
        )
    return items


def _booking_item(b, kind: ItemKind, *, at: datetime, title: str, why: str, next_step: str, action_label: str) -> BookingItem:
    """An item about one of this trust's patients' bookings; its action opens the patient's page."""
    return BookingItem(
        kind=kind,
        at=at,
        title=title,
        why=why,
        next_step=next_step,
        action_url=reverse("booking:clerk-patient", args=[b.referral.patient_id]),
        action_label=action_label,
        patient=patient_ref(b.referral),
        booking_id=b.pk,
        slot=slot_ref(b.slot),
    )


# Shared -------------------------------------------------------------------------------------


def patient_ref(referral) -> PatientRef:
    patient = referral.patient
    return PatientRef(
        patient_id=patient.pk,
        referral_id=referral.pk,
        name=f"{patient.given_name} {patient.family_name}",
        nhs_number=patient.formatted_nhs_number,
        booking_reference=referral.booking_reference,
        exam=referral.exam_type.name,
    )


def slot_ref(slot: Slot) -> SlotRef:
    return SlotRef(
        slot_id=slot.pk,
        site_name=slot.site.name,
        trust_name=str(slot.site.trust),
        modality=slot.modality.name,
        starts_at=slot.starts_at,
    )

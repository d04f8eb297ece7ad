"""The eligibility rule (`booking.rules.eligibility`) for one referral and one slot, read from the
database: the booking service's last word before a booking is made.

Travel is measured as the choice page measures it: from the patient's postcode district, or from
their other (work) postcode when that is nearer. A booking the trust made in its own RIS is a fact
the hub records, not a proposal, so it is never refused here.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from booking.models import BookingChannel, Referral
from booking.optimiser.shortlist import NETWORK_TIMEZONE
from booking.optimiser.travel import TravelMode
from booking.rules.eligibility import PatientConstraints, SlotFacts, access_bits, parse_dates, refusal
from booking.rules.notice import minimum_notice_hours
from slots.geography import UnknownPostcode, locate
from slots.models import Slot

from .choices import patient_origin, travel_to


def patient_constraints(referral: Referral, *, short_notice: bool) -> PatientConstraints:
    """The referral's saved needs and exam as the rule reads them. `short_notice`: whether a
    short-notice opt-in counts (an offer of a freed slot or a clerk's call, not the patient's own choice)."""
    return PatientConstraints(
        modality_id=referral.exam_type.modality_id,
        min_notice_hours=minimum_notice_hours(
            travel_mode=referral.travel_mode,
            preparation_lead_days=referral.exam_type.preparation_lead_days,
            short_notice_opt_in=short_notice and referral.patient.short_notice_opt_in,
        ),
        birth_date=referral.patient.date_of_birth,
        unavailable_dates=parse_dates(referral.unavailable_dates),
        max_travel_km=referral.max_travel_km,
        needs=access_bits(
            step_free=referral.needs_step_free,
            hearing_loop=referral.needs_hearing_loop,
            bariatric=referral.needs_bariatric,
        ),
    )


def slot_facts(slot: Slot) -> SlotFacts:
    site = slot.site
    return SlotFacts(
        modality_id=slot.modality_id,
        starts_at=slot.starts_at,
        local_date=slot.starts_at.astimezone(NETWORK_TIMEZONE).date(),
        features=access_bits(step_free=site.step_free, hearing_loop=site.hearing_loop, bariatric=site.bariatric_scanner),
        min_age=site.min_age,
        max_age=site.max_age,
        site_name=site.name,
    )


def travel_km(referral: Referral, slot: Slot) -> float | None:
    """Estimated road km to the slot's site from the nearer of home and the other postcode; None
    when neither can be placed on the map."""
    home = patient_origin(referral)
    work = None
    if referral.work_postcode:
        with contextlib.suppress(UnknownPostcode):
            work = locate(referral.work_postcode)
    origin = home or work
    if origin is None:
        return None
    mode = TravelMode(referral.travel_mode or TravelMode.CAR)
    return travel_to([slot.site], origin, work if home else None, mode)[slot.site.pk][0]


def slot_refusal(referral: Referral, slot: Slot, *, channel: str, now: datetime) -> str:
    """Why this slot does not suit this referral ("" when it does)."""
    if channel == BookingChannel.RIS:
        return ""
    patient = patient_constraints(referral, short_notice=channel != BookingChannel.PATIENT)
    return refusal(patient, slot_facts(slot), travel_km=travel_km(referral, slot), now=now)

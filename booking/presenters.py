"""Display logic for referrals and waits, shared by patient and clerk pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from booking.rules.waits import SIX_WEEKS_DAYS, THIRTEEN_WEEKS_DAYS

from .models import Booking, Offer, OfferSource, Referral

SIX_WEEKS = timedelta(days=SIX_WEEKS_DAYS)
THIRTEEN_WEEKS = timedelta(days=THIRTEEN_WEEKS_DAYS)


def waited_text(days: int) -> str:
    """A wait in words: days under two weeks, whole weeks after ("9 days", "35 weeks")."""
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{days // 7} weeks"


def days_until_text(moment: datetime, now: datetime) -> str:
    """How far off a moment is in calendar days where the patient lives: today, tomorrow, in 3 days."""
    days = (timezone.localtime(moment).date() - timezone.localtime(now).date()).days
    if days <= 0:
        return "today"
    return "tomorrow" if days == 1 else f"in {days} days"


def offer_reason_for_patient(offer: Offer, *, now: datetime, current_booking: Booking | None = None) -> str:
    """Why the hub offers this appointment, to the patient, worked out when they read it (the stored
    `Offer.reason` is the optimiser's note for clerks, written when the offer was made)."""
    waited = waited_text((now - offer.referral.clock_start).days)
    if offer.source == OfferSource.CHAIN:
        why = "Moving you to this earlier appointment frees your later one for a patient who needs it sooner."
    elif offer.source == OfferSource.BACKFILL:
        why = "This appointment has come free because someone cancelled."
    elif offer.source == OfferSource.CLERK:
        why = "A booking clerk found this appointment for you."
    else:
        why = "We looked across all the imaging sites in the network for an appointment that suits you sooner."
    sooner = ""
    if current_booking is not None and current_booking.slot.starts_at > offer.slot.starts_at:
        gained = (current_booking.slot.starts_at - offer.slot.starts_at).days
        if gained >= 1:
            sooner = f" It is {waited_text(gained)} sooner than your current appointment."
    return f"{why} You have been waiting {waited} since you were referred.{sooner}"


@dataclass
class ReferralPresenter:
    referral: Referral
    now: datetime

    @property
    def weeks_waited(self) -> int:
        return (self.now - self.referral.clock_start).days // 7

    @property
    def wait_text(self) -> str:
        return waited_text((self.now - self.referral.clock_start).days)

    @property
    def breach_tag(self) -> tuple[str, str] | None:
        waited = self.now - self.referral.clock_start
        if waited >= THIRTEEN_WEEKS:
            return ("Over 13 weeks", "red")
        if waited >= SIX_WEEKS:
            return ("Over 6 weeks", "orange")
        if waited >= SIX_WEEKS - timedelta(weeks=1):
            return ("Breaches 6 weeks soon", "yellow")
        return None


@dataclass(frozen=True)
class WaitingListSummary:
    waiting: int
    over_six_weeks: int
    over_thirteen_weeks: int

    @property
    def share_over_six_weeks(self) -> float:
        return self.over_six_weeks / self.waiting if self.waiting else 0.0


def waiting_list_summary(referrals: QuerySet[Referral], now: datetime) -> WaitingListSummary:
    return WaitingListSummary(
        waiting=referrals.count(),
        over_six_weeks=referrals.filter(clock_start__lte=now - SIX_WEEKS).count(),
        over_thirteen_weeks=referrals.filter(clock_start__lte=now - THIRTEEN_WEEKS).count(),
    )

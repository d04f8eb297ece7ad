"""Display logic for referrals and waits, shared by patient and clerk pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from booking.rules.waits import SIX_WEEKS_DAYS, THIRTEEN_WEEKS_DAYS

from .models import Referral

SIX_WEEKS = timedelta(days=SIX_WEEKS_DAYS)
THIRTEEN_WEEKS = timedelta(days=THIRTEEN_WEEKS_DAYS)


@dataclass
class ReferralPresenter:
    referral: Referral
    now: datetime

    @property
    def weeks_waited(self) -> int:
        return (self.now - self.referral.clock_start).days // 7

    @property
    def wait_text(self) -> str:
        days = (self.now - self.referral.clock_start).days
        if days < 14:
            return f"{days} day{'s' if days != 1 else ''}"
        return f"{days // 7} weeks"

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

"""Waiting-list aggregates for network managers. No patient identifiers leave this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from booking.models import Referral, ReferralStatus

WAITING = [ReferralStatus.WAITING, ReferralStatus.OFFERED]


@dataclass(frozen=True)
class WaitRow:
    label: str
    waiting: int
    over_six_weeks: int
    over_thirteen_weeks: int

    @property
    def share_over_six_weeks(self) -> float:
        return self.over_six_weeks / self.waiting if self.waiting else 0.0


def waits_by(group_field: str, label_field: str, now: datetime) -> list[WaitRow]:
    six, thirteen = now - timedelta(weeks=6), now - timedelta(weeks=13)
    rows = (
        Referral.objects.filter(status__in=WAITING)
        .values(label_field)
        .annotate(
            waiting=Count("pk"),
            over_six=Count("pk", filter=Q(clock_start__lte=six)),
            over_thirteen=Count("pk", filter=Q(clock_start__lte=thirteen)),
        )
        .order_by(label_field)
    )
    return [WaitRow(r[label_field], r["waiting"], r["over_six"], r["over_thirteen"]) for r in rows]


def network_totals(now: datetime) -> WaitRow:
    rows = waits_by("trust__icb__code", "trust__icb__name", now)
    return WaitRow(
        "Network",
        sum(r.waiting for r in rows),
        sum(r.over_six_weeks for r in rows),
        sum(r.over_thirteen_weeks for r in rows),
    )

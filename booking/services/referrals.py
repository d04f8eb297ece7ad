"""A referral's status: the only code that changes it, and each change leaves a history row.

Every change goes through `change_referral_status` (one referral the caller holds) or
`change_referral_statuses` (many at once, e.g. offers lapsing), which update the row only if it is
still in a status the change starts from, and write one ReferralStatusChange per referral changed:
from, to, when, who (a user or a system label), why, and the booking that caused it.
A test (tests/foundation/test_status_writers.py) keeps every other module from writing the status.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet

from booking.models import Booking, Referral, ReferralStatus, ReferralStatusChange

if TYPE_CHECKING:
    from accounts.models import User


def change_referral_status(
    referral: Referral,
    to_status: ReferralStatus | str,
    *,
    now: datetime,
    reason: str,
    actor_user: User | None = None,
    actor_label: str = "",
    booking: Booking | None = None,
    from_statuses: Iterable[str] | None = None,
) -> bool:
    """Move the referral to `to_status` if it is in `from_statuses`, or, by default, still in the status
    the caller's instance shows (one conditional UPDATE, no read: for callers that hold the row, on
    the booking paths). Returns whether it changed; the instance follows."""
    if from_statuses is None:
        from_status = referral.status
        if from_status == to_status:
            return False
        if not Referral.objects.filter(pk=referral.pk, status=from_status).update(status=to_status, updated_at=now):
            return False
        _row(referral.pk, from_status, to_status, now, actor_user, actor_label, reason, booking).save()
        referral.status, referral.updated_at = to_status, now
        return True
    changed = change_referral_statuses(
        Referral.objects.filter(pk=referral.pk),
        to_status,
        now=now,
        reason=reason,
        actor_user=actor_user,
        actor_label=actor_label,
        booking=booking,
        from_statuses=from_statuses,
    )
    if changed:
        referral.status = to_status
        referral.updated_at = now
    return bool(changed)


def change_referral_statuses(
    referrals: QuerySet[Referral],
    to_status: ReferralStatus | str,
    *,
    now: datetime,
    reason: str,
    from_statuses: Iterable[str],
    actor_user: User | None = None,
    actor_label: str = "",
    booking: Booking | None = None,
) -> list[int]:
    """Move every referral of `referrals` that is in `from_statuses` to `to_status`, locked, with a
    history row each (one UPDATE and one INSERT however many). Returns the ids changed."""
    starts = [str(s) for s in from_statuses if str(s) != str(to_status)]
    if not starts:
        return []
    with transaction.atomic():
        rows = list(
            referrals.filter(status__in=starts)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "status")
        )
        if not rows:
            return []
        ids = [pk for pk, _ in rows]
        Referral.objects.filter(pk__in=ids).update(status=to_status, updated_at=now)
        ReferralStatusChange.objects.bulk_create(
            _row(pk, from_status, to_status, now, actor_user, actor_label, reason, booking) for pk, from_status in rows
        )
    return ids


def _row(
    referral_id: int,
    from_status: str,
    to_status: str,
    now: datetime,
    actor_user: User | None,
    actor_label: str,
    reason: str,
    booking: Booking | None,
) -> ReferralStatusChange:
    return ReferralStatusChange(
        referral_id=referral_id,
        from_status=from_status,
        to_status=to_status,
        changed_at=now,
        changed_by=actor_user,
        actor_label=actor_label[:80],
        reason=reason,
        booking=booking,
    )


"""A starting state from today's database (the only module of the simulator that uses Django).

The waiting list is the database's: every referral not yet scanned or removed, booked or not, with
its trust, modality, priority, both clocks (the wait since referral and today's DM01 clock) and the
patient's postcode district (no identifiers).
Whether each trust restarts the DM01 clock is the trust's own setting (`Trust.dm01_restart_on_patient_cancel`).
Everything the database does not hold (how many referrals arrive each week, today's capacity) is
calibrated as in `synthetic`, scaled to the size of that list so the two stay in proportion.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from booking.models import Referral, ReferralStatus
from booking.rules.dm01 import RESTARTS_BY_DEFAULT, is_dm01_test
from slots.models import Trust

from .assumptions import PRIORITIES, Assumptions
from .reference import load_reference
from .state import NetworkState, WaitingList
from .synthetic import TARGET_WAITING_LIST, synthetic_state

ON_LIST = [ReferralStatus.WAITING, ReferralStatus.OFFERED, ReferralStatus.BOOKED]


def state_from_database(now: datetime, *, seed: int, assumptions: Assumptions | None = None) -> NetworkState:
    reference = load_reference(Path(settings.FIXTURES_DIR))
    rows = list(
        Referral.objects.filter(status__in=ON_LIST).values_list(
            "trust__ods_code",
            "exam_type__modality__code",
            "priority",
            "clock_start",
            "dm01_clock_start",
            "patient__outcode",
            "exam_type__dm01_test",
        )
    )
    scale = max(len(rows), 1) / TARGET_WAITING_LIST
    base = synthetic_state(
        reference, seed=seed, start=timezone.localdate(now), scale=scale, assumptions=assumptions
    )
    trust_index = {code: i for i, code in enumerate(base.trusts)}
    modality_index = {code: i for i, code in enumerate(base.modalities)}
    outcode_index = {code: i for i, code in enumerate(base.outcodes)}
    columns: dict[str, list[int]] = {
        "trust": [],
        "modality": [],
        "outcode": [],
        "priority": [],
        "days": [],
        "dm01_days": [],
        "dm01": [],
    }
    skipped = 0
    for trust, modality, priority, clock_start, dm01_clock_start, outcode, dm01_test in rows:
        if trust not in trust_index or modality not in modality_index or outcode not in outcode_index:
            skipped += 1  # an unknown trust, a modality not booked from the list, or a far-away home
            continue
        columns["trust"].append(trust_index[trust])
        columns["modality"].append(modality_index[modality])
        columns["outcode"].append(outcode_index[outcode])
        columns["priority"].append(
            PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES) - 1
        )
        days = max((now - clock_start).days, 0)
        columns["days"].append(days)
        columns["dm01_days"].append(min(max((now - (dm01_clock_start or clock_start)).days, 0), days))
        columns["dm01"].append(is_dm01_test(dm01_test))
    arrays = {k: np.asarray(v, dtype=np.int64) for k, v in columns.items()}
    waiting = WaitingList(
        arrays["trust"],
        arrays["modality"],
        arrays["outcode"],
        arrays["priority"],
        arrays["days"],
        dm01_test=arrays["dm01"].astype(bool),
        dm01_days_waited=arrays["dm01_days"],
    )
    calibration = dict(base.calibration)
    calibration.update(
        {"source": "database", "starting_waiting_list": len(waiting), "referrals_not_simulated": skipped}
    )
    restarts = dict(Trust.objects.values_list("ods_code", "dm01_restart_on_patient_cancel"))
    return dataclasses.replace(
        base,
        dm01_clock_restarts=tuple(restarts.get(code, RESTARTS_BY_DEFAULT) for code in base.trusts),
        label=f"Today's waiting list from the database ({len(waiting):,} referrals), calibrated arrivals and capacity",
        waiting=waiting,
        calibration=calibration,
    )

"""Small hand-built network states for the what-if simulator's tests (no Django, no fixtures)."""

from __future__ import annotations

from datetime import date

import numpy as np

from wmin.simulation.whatif.state import NetworkState, SimSite, WaitingList


def two_trusts(*, seed: int = 0) -> NetworkState:
    """Trust 0 has one busy MRI site and a deep queue; trust 1, 12 km away, has two sites and room.

    Per week: 70 referrals to each trust; trust 0 can scan 66, trust 1 can scan 95.
    """
    rng = np.random.default_rng(seed)
    sites = [
        SimSite("S0", "Busy General", 0, 52.450, -1.950, open_weekends=True),
        SimSite("S1", "Spare Community", 1, 52.452, -1.790, open_weekends=True),
        SimSite("S2", "Northern Hospital", 1, 52.600, -2.100, open_weekends=False),
    ]
    outcodes = ["O0", "O1", "O2", "O3"]
    lat = np.array([52.455, 52.460, 52.598, 52.420])
    lon = np.array([-1.945, -1.800, -2.090, -1.900])
    home = np.array([[0.7, 0.0, 0.0, 0.3], [0.0, 0.6, 0.4, 0.0]])
    deep, shallow = 700, 100
    waiting = WaitingList(
        trust=np.r_[np.zeros(deep), np.ones(shallow)].astype(np.int64),
        modality=np.zeros(deep + shallow, dtype=np.int64),
        outcode=np.r_[rng.choice(4, size=deep, p=home[0]), rng.choice(4, size=shallow, p=home[1])].astype(
            np.int64
        ),
        priority=np.full(deep + shallow, 3, dtype=np.int64),
        days_waited=np.r_[rng.integers(0, 70, size=deep), rng.integers(0, 10, size=shallow)].astype(np.int64),
    )
    return NetworkState(
        label="Two trusts",
        start=date(2026, 11, 23),
        trusts=["T0", "T1"],
        trust_names=["Busy", "Spare"],
        trust_icb=[0, 1],
        icbs=["I0", "I1"],
        icb_names=["ICB nought", "ICB one"],
        modalities=["MR"],
        sites=sites,
        weekly_capacity=np.array([[66.0], [55.0], [40.0]]),
        weekly_arrivals=np.array([[70.0], [70.0]]),
        outcodes=outcodes,
        outcode_lat=lat,
        outcode_lon=lon,
        home_weights=home,
        waiting=waiting,
    )

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


def three_sites_for_advice(*, north_slots_a_week: float = 14.0) -> NetworkState:
    """A network to count capacity advice by hand: three MRI sites 45 km and more apart, each
    patient able to reach only the site in their own district (5 km of tolerance, see
    `ADVICE_ASSUMPTIONS`), nobody referred during the run, no DNA or cancellation.

    - South (S0, trust 0): 1 slot a day; 30 patients at O0, all waiting 50 days.
    - North (S1, trust 1): 14 slots a week by default; 10 patients at O1, also 50 days.
    - Far (S2, trust 2): 5 slots a day, out of everyone's reach.
    One extra list is 3 slots at South, 2 at North. Every site opens 7 days a week; the run starts
    on a Monday.
    """
    south, north = 30, 10
    sites = [
        SimSite("S0", "South Hospital", 0, 52.000, -2.000, open_weekends=True),
        SimSite("S1", "North Hospital", 1, 52.000, -1.500, open_weekends=True),
        SimSite("S2", "Far Hospital", 2, 53.000, -2.000, open_weekends=True),
    ]
    return NetworkState(
        label="Three sites for capacity advice",
        start=date(2026, 11, 23),
        trusts=["T0", "T1", "T2"],
        trust_names=["South", "North", "Far"],
        trust_icb=[0, 0, 0],
        icbs=["I0"],
        icb_names=["ICB nought"],
        modalities=["MR"],
        sites=sites,
        weekly_capacity=np.array([[7.0], [north_slots_a_week], [35.0]]),
        weekly_arrivals=np.zeros((3, 1)),
        outcodes=["O0", "O1"],
        outcode_lat=np.array([52.000, 52.000]),
        outcode_lon=np.array([-2.000, -1.500]),
        home_weights=np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]),
        waiting=WaitingList(
            trust=np.r_[np.zeros(south), np.ones(north)].astype(np.int64),
            modality=np.zeros(south + north, dtype=np.int64),
            outcode=np.r_[np.zeros(south), np.ones(north)].astype(np.int64),
            priority=np.full(south + north, 3, dtype=np.int64),
            days_waited=np.full(south + north, 50, dtype=np.int64),
        ),
        list_slots=np.array([[3.0], [2.0], [3.0]]),
    )

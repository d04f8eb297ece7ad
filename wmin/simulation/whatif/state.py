"""The network as the simulator sees it: sites and their weekly capacity per modality, referrals
arriving per trust and modality, where patients live, and the waiting list at the start.

Plain dataclasses and numpy arrays: built from fixtures (`synthetic.synthetic_state`) or from the
database (`from_database.state_from_database`), and never touching Django themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SimSite:
    code: str
    name: str
    trust: int  # index into NetworkState.trusts
    latitude: float
    longitude: float
    open_weekends: bool
    opens_on_day: int = 0  # simulation day the site opens (0: already open)


@dataclass(frozen=True)
class WaitingList:
    """One entry per patient waiting at the start (booked or not): indices into the state's lists."""

    trust: IntArray
    modality: IntArray
    outcode: IntArray
    priority: IntArray
    days_waited: IntArray

    def __len__(self) -> int:
        return len(self.trust)


@dataclass(frozen=True)
class NetworkState:
    label: str
    start: date
    trusts: list[str]
    trust_names: list[str]
    trust_icb: list[int]  # index into icbs: the ICB a referral is counted in
    icbs: list[str]
    icb_names: list[str]
    modalities: list[str]
    sites: list[SimSite]
    weekly_capacity: FloatArray  # [site, modality] slots a week once the site is open
    weekly_arrivals: FloatArray  # [trust, modality] new referrals a week
    outcodes: list[str]
    outcode_lat: FloatArray
    outcode_lon: FloatArray
    home_weights: FloatArray  # [trust, outcode], each row sums to 1
    waiting: WaitingList
    calibration: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_sites, n_modalities = len(self.sites), len(self.modalities)
        if self.weekly_capacity.shape != (n_sites, n_modalities):
            raise ValueError("weekly_capacity must be sites x modalities")
        if self.weekly_arrivals.shape != (len(self.trusts), n_modalities):
            raise ValueError("weekly_arrivals must be trusts x modalities")
        if self.home_weights.shape != (len(self.trusts), len(self.outcodes)):
            raise ValueError("home_weights must be trusts x outcodes")

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

from booking.rules.dm01 import RESTARTS_BY_DEFAULT

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
    # whether DM01 counts each one's exam, when known (from the database); else drawn by modality
    dm01_test: npt.NDArray[np.bool_] | None = None
    # days on the DM01 clock, which may have restarted (booking.rules.dm01), when known (from the
    # database); else the wait since referral
    dm01_days_waited: IntArray | None = None

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
    # Per modality, the share of referrals whose exam DM01 counts (fixtures: exam_types.csv's
    # dm01_test); every one when not given.
    modality_dm01_share: FloatArray | None = None
    # Per trust, whether it restarts the DM01 clock when a patient cancels or does not attend
    # (booking.rules.dm01); the rule's default for every trust when not given.
    dm01_clock_restarts: tuple[bool, ...] = ()
    # [site, modality] scanners (or rooms); one a site-modality with capacity when not given.
    scanners: FloatArray | None = None
    # [site, modality] slots in one extra list of a scanner's usual length: the site's opening
    # hours over the modality's mean exam time. When not given: what one scanner gives the waiting
    # list on an ordinary open day.
    list_slots: FloatArray | None = None

    def __post_init__(self) -> None:
        n_sites, n_modalities = len(self.sites), len(self.modalities)
        if self.modality_dm01_share is None:
            object.__setattr__(self, "modality_dm01_share", np.ones(n_modalities))
        if not self.dm01_clock_restarts:
            object.__setattr__(self, "dm01_clock_restarts", (RESTARTS_BY_DEFAULT,) * len(self.trusts))
        if self.scanners is None:
            object.__setattr__(self, "scanners", (self.weekly_capacity > 0).astype(np.float64))
        if self.list_slots is None:
            open_days = np.array([[7.0 if site.open_weekends else 5.0] for site in self.sites])
            per_scanner = np.divide(
                self.weekly_capacity,
                open_days * self.scanners,
                out=np.zeros_like(self.weekly_capacity),
                where=self.scanners > 0,
            )
            object.__setattr__(self, "list_slots", per_scanner)
        if self.weekly_capacity.shape != (n_sites, n_modalities):
            raise ValueError("weekly_capacity must be sites x modalities")
        if len(self.dm01_clock_restarts) != len(self.trusts):
            raise ValueError("dm01_clock_restarts must give one setting per trust")
        if np.shape(self.scanners) != (n_sites, n_modalities) or np.shape(self.list_slots) != (n_sites, n_modalities):
            raise ValueError("scanners and list_slots must be sites x modalities")
        if self.weekly_arrivals.shape != (len(self.trusts), n_modalities):
            raise ValueError("weekly_arrivals must be trusts x modalities")
        if self.home_weights.shape != (len(self.trusts), len(self.outcodes)):
            raise ValueError("home_weights must be trusts x outcodes")

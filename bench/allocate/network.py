"""Seeded synthetic West Midlands instances for the allocation benchmark.

Sites: the 38 confirmed rows of shared/data/wmin_sites.csv plus synthetic sites at postcode-district
centroids up to the network's 47 (marked synthetic). Slot supply per site follows its trust's 2022/23
activity (shared/data/network_facts.md) spread over its sites; CDCs get a flat share. Patients sit at
postcode-district centroids of the areas the network serves; their waits are calibrated so about one
in five has waited six weeks or more and about 7 % thirteen weeks or more, as the network reports.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from booking.optimiser.allocate import AllocationProblem
from booking.rules.eligibility import ACCESS_BARIATRIC, ACCESS_HEARING_LOOP, ACCESS_STEP_FREE
from booking.rules.priority import PRIORITY_WEIGHT

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SITES_CSV = DATA / "wmin_sites.csv"
OUTCODES_CSV = DATA / "uk_outcodes.csv"
NETWORK_SITES = 47
SERVED_AREAS = ("B", "CV", "DY", "WS", "WV", "WR", "HR", "ST", "TF", "SY")
TRUST_ACTIVITY = {  # examinations 2022/23, network_facts.md
    "RQ3": 148_405,
    "RRK": 793_755,
    "RRJ": 64_830,
    "RKB": 470_150,
    "RJC": 241_645,
    "RLT": 161_350,
    "RWP": 733_610,
    "RLQ": 164_285,
    "RJE": 563_520,
    "RL4": 311_835,
    "RBK": 210_050,
    "RXK": 364_565,
    "RNA": 314_960,
    "RXW": 306_580,
    "RL1": 84_975,
}
CDC_ACTIVITY = 60_000
MODALITIES = ("CT", "MRI", "US")
SUPPLY_SHARE = np.array([0.40, 0.30, 0.30])
DEMAND_SHARE = np.array([0.35, 0.40, 0.25])  # MRI is the scarce one, as in the network
TRAVEL_LIMITS_KM = np.array([15.0, 25.0, 40.0, 60.0])
TRAVEL_LIMIT_SHARE = np.array([0.25, 0.35, 0.25, 0.15])
PRIORITY_SHARE = {"routine": 0.70, "soon": 0.15, "cancer": 0.08, "urgent": 0.07}
HORIZON_WEEKS = 6
SITE_FEATURE_SHARE = {ACCESS_STEP_FREE: 0.95, ACCESS_HEARING_LOOP: 0.5, ACCESS_BARIATRIC: 0.3}
PATIENT_NEED_SHARE = {ACCESS_STEP_FREE: 0.05, ACCESS_HEARING_LOOP: 0.02, ACCESS_BARIATRIC: 0.01}
PREPARATION_SHARE = 0.10  # exams with a preparation lead of 2 to 7 days


@dataclass(frozen=True)
class Size:
    name: str
    patients: int
    slots: int


SIZES = {"small": Size("small", 20_000, 28_200), "large": Size("large", 100_000, 141_000)}


@dataclass(frozen=True)
class Site:
    name: str
    lat: float
    lon: float
    weight: float
    synthetic: bool


def load_sites(rng: np.random.Generator) -> list[Site]:
    with SITES_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    per_trust: dict[str, int] = {}
    for row in rows:
        per_trust[_trust_code(row["trust"])] = per_trust.get(_trust_code(row["trust"]), 0) + (
            row["kind"] == "hospital"
        )
    sites = []
    for row in rows:
        code = _trust_code(row["trust"])
        weight = CDC_ACTIVITY if row["kind"] == "cdc" else TRUST_ACTIVITY[code] / per_trust[code]
        sites.append(Site(row["name"], float(row["latitude"]), float(row["longitude"]), weight, False))
    outcodes = load_outcodes()
    extra = rng.choice(len(outcodes[0]), size=NETWORK_SITES - len(sites), replace=False)
    sites += [
        Site(f"Synthetic site {outcodes[0][i]}", outcodes[1][i], outcodes[2][i], CDC_ACTIVITY, True)
        for i in extra
    ]
    return sites


def load_outcodes() -> tuple[list[str], np.ndarray, np.ndarray]:
    names, lats, lons = [], [], []
    with OUTCODES_CSV.open(newline="") as handle:
        for row in csv.DictReader(handle):
            area = re.match(r"[A-Z]+", row["outcode"])
            if area and area.group(0) in SERVED_AREAS:
                names.append(row["outcode"])
                lats.append(float(row["latitude"]))
                lons.append(float(row["longitude"]))
    return names, np.array(lats), np.array(lons)


def _trust_code(trust: str) -> str:
    return re.search(r"\((\w+)\)\s*$", trust).group(1)


def weekday_offsets(weeks: int = HORIZON_WEEKS) -> np.ndarray:
    """Day offsets 1..7*weeks that fall on a weekday, counting from a Monday."""
    days = np.arange(1, 7 * weeks + 1)
    return days[(days % 7) < 5]


def build_instance(size: Size, seed: int) -> tuple[AllocationProblem, list[Site]]:
    rng = np.random.default_rng(seed)
    sites = load_sites(rng)
    site_lat = np.array([s.lat for s in sites])
    site_lon = np.array([s.lon for s in sites])
    weight = np.array([s.weight for s in sites])

    days = weekday_offsets()
    offers_modality = rng.random((len(sites), len(MODALITIES))) < 0.85
    offers_modality[:, 0] |= ~offers_modality.any(axis=1)
    site_idx, day_idx, modality_idx = np.meshgrid(
        np.arange(len(sites)), np.arange(len(days)), np.arange(len(MODALITIES)), indexing="ij"
    )
    site_idx, day_idx, modality_idx = site_idx.ravel(), day_idx.ravel(), modality_idx.ravel()
    bin_weight = weight[site_idx] * SUPPLY_SHARE[modality_idx] * offers_modality[site_idx, modality_idx]
    capacity = rng.multinomial(size.slots, bin_weight / bin_weight.sum())
    keep = capacity > 0
    site_features = sum(
        np.where(rng.random(len(sites)) < share, feature, 0) for feature, share in SITE_FEATURE_SHARE.items()
    )

    outcode_names, outcode_lat, outcode_lon = load_outcodes()
    home = rng.integers(len(outcode_names), size=size.patients)
    long_waiter = rng.random(size.patients) < 0.07
    days_waited = np.where(
        long_waiter, rng.integers(91, 200, size=size.patients), rng.exponential(22.0, size=size.patients)
    ).astype(np.int64)
    patient_needs = sum(
        np.where(rng.random(size.patients) < share, need, 0) for need, share in PATIENT_NEED_SHARE.items()
    )
    earliest_day = np.where(
        rng.random(size.patients) < PREPARATION_SHARE, rng.integers(2, 8, size=size.patients), 1
    )  # at least a day's notice
    priorities = list(PRIORITY_SHARE)
    priority = rng.choice(len(priorities), size=size.patients, p=list(PRIORITY_SHARE.values()))

    problem = AllocationProblem(
        patient_id=np.arange(1, size.patients + 1),
        patient_lat=outcode_lat[home],
        patient_lon=outcode_lon[home],
        days_waited=days_waited,
        priority_weight=np.array([PRIORITY_WEIGHT[p] for p in priorities])[priority],
        max_travel_km=rng.choice(TRAVEL_LIMITS_KM, size=size.patients, p=TRAVEL_LIMIT_SHARE),
        patient_compat=rng.choice(len(MODALITIES), size=size.patients, p=DEMAND_SHARE),
        bin_id=np.flatnonzero(keep) + 1,
        bin_site_id=site_idx[keep] + 1,
        bin_lat=site_lat[site_idx[keep]],
        bin_lon=site_lon[site_idx[keep]],
        bin_day_offset=days[day_idx[keep]],
        bin_capacity=capacity[keep],
        bin_compat=modality_idx[keep],
        patient_earliest_day=earliest_day,
        patient_needs=patient_needs,
        bin_features=site_features[site_idx[keep]],
    )
    return problem, sites

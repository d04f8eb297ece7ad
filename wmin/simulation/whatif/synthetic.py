"""A synthetic network state calibrated to the network's published facts.

Calibration (../shared/data/network_facts.md, fixtures/):
- Referrals per trust in proportion to its 2022/23 activity, split by the network's modality mix
  (waiting-list modalities only); only the share that comes through the waiting list (the
  "elective share", 60 %, an assumption) is simulated.
- Today's capacity keeps the waiting list level under the status quo (the network reports waits
  that persist, not a list that grows or shrinks), so 1 in 5 keep waiting 6 weeks or more: each
  trust-modality first gets the slots its referrals use under today's booking rules
  (Assumptions.status_quo_slots_per_referral), spread over its sites in proportion to their
  scanners, over the days each site opens; then one factor for the whole network is solved for, by
  simulating the status quo for 12 weeks at a tenth of the size (seed 0), so that the list is as
  long at the end as at the start.
- How long each queue is, in weeks, grows with how busy its scanners are: depth = base x
  (referrals per scanner / the modality's network average) ^ gamma. Base and gamma are solved for so
  that 20 % of the starting list has waited 6 weeks or more (1 in 5) and the list holds 125,700
  patients (8,800 over 13 weeks being 7 % of it). The model then has about 3 % over 13 weeks, not
  7 %: a shorter tail than the network's, which the calibration record states.
- Patients live within 35 km of their trust's sites, weighted by exp(-km / 8).
- Two sites are not open yet (fixtures/README.md): they open on their planned dates below.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from .assumptions import Assumptions
from .geography import great_circle_km
from .reference import ReferenceData
from .state import FloatArray, NetworkState, SimSite, WaitingList

TARGET_WAITING_LIST = 125_700
TARGET_OVER_6_WEEKS = 0.20
TARGET_OVER_13_WEEKS = 0.07
# Planned openings (fixtures/README.md: "late 2026" taken as 1 December 2026; "April 2026" as 1 April).
PLANNED_OPENINGS = {"WMIN-CDC-COV": date(2026, 12, 1), "WMIN-CDC-STK": date(2026, 4, 1)}
MIN_DEPTH_WEEKS, MAX_DEPTH_WEEKS = 0.5, 40.0
# The share of CT, MRI, ultrasound, DEXA, NM, mammography and fluoroscopy activity that comes
# through the waiting list; the rest is inpatient, emergency and planned (surveillance) work. An
# assumption: national DM01 returns put waiting-list tests at roughly 60 % of imaging activity.
ELECTIVE_SHARE = 0.60


@dataclass(frozen=True)
class QueueDepths:
    depth_weeks: FloatArray  # [trust, modality]
    base_weeks: float
    gamma: float
    share_over_6: float
    share_over_13: float


def synthetic_state(
    reference: ReferenceData,
    *,
    seed: int,
    start: date,
    scale: float = 1.0,
    assumptions: Assumptions | None = None,
    calibrate_capacity: bool = True,
) -> NetworkState:
    """The whole network at `scale` (1.0 = real volumes; 0.1 = a tenth of patients and slots)."""
    assumptions = assumptions or Assumptions()
    rng = np.random.default_rng([seed, 11])
    modalities = [m.code for m in reference.waiting_list_modalities]
    mix = np.array([m.share_of_activity for m in reference.waiting_list_modalities])
    trusts = reference.trusts
    trust_index = {t.code: i for i, t in enumerate(trusts)}
    icbs = list(reference.icbs)

    sites = [
        SimSite(
            code=s.code,
            name=s.name,
            trust=trust_index[s.trust],
            latitude=s.latitude,
            longitude=s.longitude,
            open_weekends=s.open_weekends or s.kind == "cdc",
            opens_on_day=max((PLANNED_OPENINGS[s.code] - start).days, 0) if s.code in PLANNED_OPENINGS else 0,
        )
        for s in reference.sites
    ]
    equipment = np.array(
        [[s.equipment.get(m, 0) for m in modalities] for s in reference.sites], dtype=np.float64
    )
    open_now = np.array([site.opens_on_day == 0 for site in sites])
    trust_of_site = np.array([site.trust for site in sites])
    scanners = np.zeros((len(trusts), len(modalities)))
    np.add.at(scanners, trust_of_site, equipment)
    open_scanners = np.zeros_like(scanners)
    np.add.at(open_scanners, trust_of_site[open_now], equipment[open_now])

    activity = np.array([t.annual_activity for t in trusts], dtype=np.float64)
    elective_share = ELECTIVE_SHARE
    referrals = np.outer(activity / 52.0, mix) * (open_scanners > 0) * elective_share  # a week, at full scale
    depths = solve_queue_depths(referrals, open_scanners, assumptions)
    weekly_arrivals = referrals * scale

    slots_per_referral = assumptions.status_quo_slots_per_referral()
    trust_capacity = weekly_arrivals * slots_per_referral
    per_scanner = np.divide(
        trust_capacity, open_scanners, out=np.zeros_like(trust_capacity), where=open_scanners > 0
    )
    weekly_capacity = equipment * per_scanner[trust_of_site]

    outcodes, lat, lon, home = _homes(reference, trusts, assumptions)
    waiting = _initial_waiting_list(rng, weekly_arrivals, depths.depth_weeks, home, assumptions)
    state = NetworkState(
        label=f"Synthetic network calibrated to network_facts.md (scale {scale:g})",
        start=start,
        trusts=[t.code for t in trusts],
        trust_names=[t.short_name for t in trusts],
        trust_icb=[icbs.index(t.icb) for t in trusts],
        icbs=icbs,
        icb_names=[reference.icbs[code] for code in icbs],
        modalities=modalities,
        sites=sites,
        weekly_capacity=weekly_capacity,
        weekly_arrivals=weekly_arrivals,
        outcodes=outcodes,
        outcode_lat=lat,
        outcode_lon=lon,
        home_weights=home,
        waiting=waiting,
        modality_dm01_share=np.array([m.dm01_share for m in reference.waiting_list_modalities]),
        scanners=equipment,
        list_slots=np.array(
            [
                [s.day_minutes // m.exam_minutes if s.equipment.get(m.code) else 0.0 for m in reference.waiting_list_modalities]
                for s in reference.sites
            ]
        ),
        calibration={
            "elective_share": elective_share,
            "weekly_referrals": round(float(weekly_arrivals.sum()), 1),
            "weekly_slots_today": round(float(weekly_capacity[open_now].sum()), 1),
            "slots_per_referral": round(slots_per_referral, 4),
            "queue_depth_base_weeks": round(depths.base_weeks, 3),
            "queue_depth_gamma": round(depths.gamma, 3),
            "expected_share_over_6_weeks": round(depths.share_over_6, 4),
            "expected_share_over_13_weeks": round(depths.share_over_13, 4),
            "starting_waiting_list": len(waiting),
            "scale": scale,
        },
    )
    if not calibrate_capacity:
        return state
    factor = _capacity_factor(reference, start, assumptions)
    calibration = {
        **state.calibration,
        "capacity_factor": round(factor, 4),
        "weekly_slots_today": round(float(weekly_capacity[open_now].sum() * factor), 1),
    }
    return dataclasses.replace(state, weekly_capacity=weekly_capacity * factor, calibration=calibration)


_capacity_factors: dict[tuple[object, ...], float] = {}
CAPACITY_CALIBRATION_SCALE, CAPACITY_CALIBRATION_WEEKS = 0.1, 12


def _capacity_factor(reference: ReferenceData, start: date, assumptions: Assumptions) -> float:
    """The network-wide capacity factor that keeps the status quo's waiting list level."""
    from .engine import PolicyRun, build_geometry
    from .policies import Policy
    from .population import draw_population

    key = (
        start,
        assumptions,
        tuple((s.code, tuple(sorted(s.equipment.items()))) for s in reference.sites),
        tuple((t.code, t.annual_activity) for t in reference.trusts),
    )
    if key in _capacity_factors:
        return _capacity_factors[key]
    base = synthetic_state(
        reference,
        seed=0,
        start=start,
        scale=CAPACITY_CALIBRATION_SCALE,
        assumptions=assumptions,
        calibrate_capacity=False,
    )
    days = CAPACITY_CALIBRATION_WEEKS * 7
    population = draw_population(base, days=days, seed=0, assumptions=assumptions)

    def growth(factor: float) -> int:
        state = dataclasses.replace(base, weekly_capacity=base.weekly_capacity * factor)
        geometry = build_geometry(state, assumptions, days)
        run = PolicyRun(
            Policy.STATUS_QUO,
            state,
            population,
            geometry,
            assumptions,
            weeks=CAPACITY_CALIBRATION_WEEKS,
            seed=0,
        )
        weeks = run.run().weeks
        return weeks[-1].waiting - weeks[0].waiting

    low, high = 0.85, 1.15
    for _ in range(7):
        middle = (low + high) / 2
        if growth(middle) > 0:
            low = middle  # too little capacity: the list grows
        else:
            high = middle
    _capacity_factors[key] = (low + high) / 2
    return _capacity_factors[key]


def _weeks_on_list(depth: FloatArray, a: Assumptions) -> FloatArray:
    """Expected patients on the list per weekly referral, for queues of these depths."""
    fast, soon, routine = sum(a.priority_mix[:2]), a.priority_mix[2], a.priority_mix[3]
    return (
        fast * np.minimum(depth, a.fast_max_wait_weeks)
        + soon * np.minimum(depth, a.soon_max_wait_weeks)
        + routine * depth
    )


def _weeks_over(depth: FloatArray, weeks: float, a: Assumptions) -> FloatArray:
    fast, soon, routine = sum(a.priority_mix[:2]), a.priority_mix[2], a.priority_mix[3]
    capped = [
        (fast, np.minimum(depth, a.fast_max_wait_weeks)),
        (soon, np.minimum(depth, a.soon_max_wait_weeks)),
        (routine, depth),
    ]
    return sum(share * np.maximum(d - weeks, 0.0) for share, d in capped)


def _depths(base: float, gamma: float, pressure: FloatArray) -> FloatArray:
    return np.clip(base * pressure**gamma, MIN_DEPTH_WEEKS, MAX_DEPTH_WEEKS)


def solve_queue_depths(weekly_referrals: FloatArray, scanners: FloatArray, a: Assumptions) -> QueueDepths:
    """Base and gamma so that the starting list has 20 % waiting 6 weeks or more and holds 125,700.

    Deterministic: the same network always gives the same depths.
    """
    modality_pressure = weekly_referrals.sum(axis=0) / np.maximum(scanners.sum(axis=0), 1e-9)
    pressure = np.divide(
        weekly_referrals / np.maximum(scanners, 1e-9),
        modality_pressure,
        where=scanners > 0,
        out=np.ones_like(weekly_referrals),
    )

    def measures(base: float, gamma: float) -> tuple[float, float, float]:
        depth = _depths(base, gamma, pressure)
        listed = float((weekly_referrals * _weeks_on_list(depth, a)).sum())
        return (
            listed,
            float((weekly_referrals * _weeks_over(depth, 6, a)).sum()) / listed,
            float((weekly_referrals * _weeks_over(depth, 13, a)).sum()) / listed,
        )

    best: tuple[float, float, float, float, float] | None = None
    for gamma in np.arange(0.0, 3.0001, 0.01):
        low, high = 0.05, MAX_DEPTH_WEEKS
        for _ in range(50):
            middle = (low + high) / 2
            if measures(middle, gamma)[1] < TARGET_OVER_6_WEEKS:
                low = middle
            else:
                high = middle
        listed, over_6, over_13 = measures(high, gamma)
        error = abs(listed - TARGET_WAITING_LIST)
        if best is None or error < best[0]:
            best = (error, high, float(gamma), over_6, over_13)
    assert best is not None
    _, base, gamma, over_6, over_13 = best
    return QueueDepths(_depths(base, gamma, pressure), base, gamma, over_6, over_13)


def _homes(
    reference: ReferenceData, trusts: list, a: Assumptions
) -> tuple[list[str], FloatArray, FloatArray, FloatArray]:
    site_lat = np.array([s.latitude for s in reference.sites])
    site_lon = np.array([s.longitude for s in reference.sites])
    names = sorted(reference.outcodes)
    lat = np.array([reference.outcodes[n][0] for n in names])
    lon = np.array([reference.outcodes[n][1] for n in names])
    km = great_circle_km(lat[:, None], lon[:, None], site_lat[None, :], site_lon[None, :])
    # PO-box and other non-geographic districts (B99, WV98 ...) have no residents.
    near = (km.min(axis=1) <= a.catchment_km) & np.array([n[-2:] not in {"98", "99"} for n in names])
    names = [n for n, keep in zip(names, near, strict=True) if keep]
    lat, lon, km = lat[near], lon[near], km[near]
    home = np.zeros((len(trusts), len(names)))
    for i, trust in enumerate(trusts):
        own = [j for j, s in enumerate(reference.sites) if s.trust == trust.code]
        nearest = km[:, own].min(axis=1)
        home[i] = np.where(nearest <= a.catchment_km, np.exp(-nearest / a.catchment_decay_km), 0.0)
        home[i] /= home[i].sum()
    return names, lat, lon, home


def _initial_waiting_list(
    rng: np.random.Generator, weekly_arrivals: FloatArray, depth: FloatArray, home: FloatArray, a: Assumptions
) -> WaitingList:
    columns: dict[str, list[np.ndarray]] = {
        k: [] for k in ("trust", "modality", "outcode", "priority", "days")
    }
    n_trusts, n_modalities = weekly_arrivals.shape
    for t in range(n_trusts):
        for m in range(n_modalities):
            if weekly_arrivals[t, m] <= 0:
                continue
            for priority, share in enumerate(a.priority_mix):
                cap_weeks = depth[t, m]
                if priority < 2:
                    cap_weeks = min(cap_weeks, a.fast_max_wait_weeks)
                elif priority == 2:
                    cap_weeks = min(cap_weeks, a.soon_max_wait_weeks)
                count = rng.poisson(weekly_arrivals[t, m] * share * cap_weeks)
                columns["trust"].append(np.full(count, t))
                columns["modality"].append(np.full(count, m))
                columns["priority"].append(np.full(count, priority))
                columns["days"].append(rng.integers(0, max(math.ceil(cap_weeks * 7), 1), size=count))
                columns["outcode"].append(rng.choice(home.shape[1], size=count, p=home[t]))
    arrays = {
        k: np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64) for k, v in columns.items()
    }
    return WaitingList(
        arrays["trust"], arrays["modality"], arrays["outcode"], arrays["priority"], arrays["days"]
    )

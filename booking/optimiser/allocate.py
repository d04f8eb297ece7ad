"""Network batch allocation: which waiting patient to offer which site-day, so waits even out.

The model (a transportation problem, solved exactly as a min-cost flow):

- Supply: every waiting patient is one unit. Demand: bins, the open slots of one site, day and
  modality, each with a capacity (how many slots it holds).
- A patient may go to a bin only if the eligibility rule (`booking.rules.eligibility`) allows it:
  the bin suits their exam (same compatibility key), the site has the access features they need,
  is within their travel limit (estimated road km) and scans patients of their age (for the whole
  horizon), the bin's date is not one they said they cannot do, and the bin is not sooner than
  their notice and preparation allow. Candidate sites come from a KD-tree, so
  there is never a dense patients x bins matrix.
- Cost of patient i in bin j (integer, COST_SCALE units):

      travel_per_km * road_km(i, j)  +  wait_per_day * urgency(i) * day_offset(j)
                                     +  overdue_per_day * days_overdue(i, j)

  where urgency(i) = priority_weight(i) * (1 + min(days_waited, WAIT_CAP_DAYS) / WAIT_CAP_DAYS)
  and days_overdue(i, j) = max(0, day_offset(j) - max(0, book_by_days - days_waited(i))): the days
  the scan would fall after the patient has waited `book_by_days` (4 weeks: two before DM01's 6,
  so that a patient who does not attend or cancels can still be booked again before 6 weeks).
  The longer and more urgently someone has waited, the more each further day costs, so they get the
  earlier days; a patient whose 4 weeks fall within the horizon gets, before anyone with slack, a
  slot before that day, even one further away within their travel limit.
- Each patient may stay unassigned at a penalty larger than any of their assignments, scaled by
  urgency so that one point of urgency outweighs any travel and overdue difference: nobody is left
  out while a bin they can reach has room, and nobody is left out for a patient at least one urgency
  point below them (an urgent or suspected-cancer referral always is, against a routine one) who
  holds a bin they could have had. Closer than that, a longer wait is weighed against travel.

Apart from travel, which is the same for every bin of a site, a patient-bin arc depends only on the
patient's per-day cost, earliest day and due day. Patients sharing all three form a class, so the
network routes patient -> (site, class) -> bin: exactly the costs and choices of the direct patient -> bin arcs, with
about twenty arcs per patient instead of hundreds.

The results are proposals: the services layer turns assignments into offers, never bookings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from scipy import sparse
from scipy.optimize import linprog
from scipy.spatial import cKDTree

from booking.rules.distance import EARTH_RADIUS_KM, great_circle_km, great_circle_limit, road_km
from booking.rules.eligibility import (
    ALL_ACCESS_FEATURES,
    NO_MAX_AGE,
    access_met,
    ages_allowed,
    ages_on,
)
from booking.rules.waits import SIX_WEEKS_DAYS, THIRTEEN_WEEKS_DAYS

COST_SCALE = 100  # integer cost units per unit of weighted cost (0.01 km of travel)
WAIT_CAP_DAYS = 91  # waits beyond 13 weeks count as 13 weeks when scaling urgency
NO_LATEST_DAY = 10**6  # patient_latest_day when any day of the horizon will do

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AllocationWeights:
    travel_per_km: float = 1.0
    wait_per_day: float = 2.0  # per day of delay for a fresh routine patient: 1 day sooner ~ 2 km
    # Scans due by this many days of waiting: 4 weeks, two before DM01's 6, so that a DNA or a
    # cancellation can be booked again in time (in the network simulation a patient booked again
    # after one waited a median 12 days for the new slot). Each day a scan falls later costs
    # overdue_per_day more (1 day sooner for a patient past it ~ 10 km).
    book_by_days: int = SIX_WEEKS_DAYS - 14
    overdue_per_day: float = 10.0


@dataclass(frozen=True)
class AllocationProblem:
    """The waiting list and the open bins, as parallel numpy arrays."""

    patient_id: IntArray
    patient_lat: FloatArray
    patient_lon: FloatArray
    days_waited: IntArray
    priority_weight: FloatArray  # PRIORITY_WEIGHT values
    max_travel_km: FloatArray  # estimated road km; inf when the patient set no limit
    patient_compat: IntArray  # modality / exam compatibility key
    bin_id: IntArray
    bin_site_id: IntArray
    bin_lat: FloatArray
    bin_lon: FloatArray
    bin_day_offset: IntArray  # whole days from today
    bin_capacity: IntArray
    bin_compat: IntArray
    # Optional hard constraints; None means "none".
    patient_earliest_day: IntArray | None = None  # first day offset they can do (notice, preparation)
    # Last day offset worth offering: for a patient already booked, sooner than their booking.
    patient_latest_day: IntArray | None = None
    patient_needs: IntArray | None = None  # ACCESS_* bits the site must have
    bin_features: IntArray | None = None  # ACCESS_* bits; the same for every bin of a site
    # Dates and ages (booking.rules.eligibility). A bin holds slots of one local date when these are used.
    bin_date_key: IntArray | None = None  # the bin's local date as yyyymmdd
    patient_birth_key: IntArray | None = None  # yyyymmdd; 0 when unknown
    bin_min_age: IntArray | None = None  # the site's ages; the same for every bin of a site
    bin_max_age: IntArray | None = None  # NO_MAX_AGE: no limit
    # Dates patients cannot do, as pairs: (patient index, date key).
    unavailable_patient: IntArray | None = None
    unavailable_date_key: IntArray | None = None

    def __post_init__(self) -> None:
        defaults = {
            "patient_earliest_day": lambda: np.zeros(len(self.patient_id)),
            "patient_latest_day": lambda: np.full(len(self.patient_id), NO_LATEST_DAY),
            "patient_needs": lambda: np.zeros(len(self.patient_id)),
            "bin_features": lambda: np.full(len(self.bin_id), ALL_ACCESS_FEATURES),
            "bin_date_key": lambda: np.zeros(len(self.bin_id)),
            "patient_birth_key": lambda: np.zeros(len(self.patient_id)),
            "bin_min_age": lambda: np.zeros(len(self.bin_id)),
            "bin_max_age": lambda: np.full(len(self.bin_id), NO_MAX_AGE),
            "unavailable_patient": lambda: np.zeros(0),
            "unavailable_date_key": lambda: np.zeros(0),
        }
        for name, make_default in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, make_default())
        for name, dtype in _COLUMN_TYPES.items():
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=dtype))
        patients = {len(getattr(self, n)) for n in _COLUMN_TYPES if not n.startswith(("bin", "unavailable"))}
        bins = {len(getattr(self, n)) for n in _COLUMN_TYPES if n.startswith("bin")}
        pairs = {len(getattr(self, n)) for n in _COLUMN_TYPES if n.startswith("unavailable")}
        if len(patients) > 1 or len(bins) > 1 or len(pairs) > 1:
            raise ValueError("patient columns, bin columns and unavailable pairs must each have one length")
        if len(self.unavailable_patient) and not np.all(self.bin_date_key > 0):
            raise ValueError("unavailable dates need every bin's date (bin_date_key)")

    @property
    def n_patients(self) -> int:
        return len(self.patient_id)

    @property
    def n_bins(self) -> int:
        return len(self.bin_id)

    @property
    def n_slots(self) -> int:
        return int(self.bin_capacity.sum())

    @property
    def horizon_days(self) -> int:
        return int(self.bin_day_offset.max()) if self.n_bins else 0

    def urgency(self) -> FloatArray:
        waited = np.minimum(np.maximum(self.days_waited, 0), WAIT_CAP_DAYS)
        return self.priority_weight * (1.0 + waited / WAIT_CAP_DAYS)


_COLUMN_TYPES = {
    "patient_id": np.int64,
    "patient_lat": np.float64,
    "patient_lon": np.float64,
    "days_waited": np.int64,
    "priority_weight": np.float64,
    "max_travel_km": np.float64,
    "patient_compat": np.int64,
    "bin_id": np.int64,
    "bin_site_id": np.int64,
    "bin_lat": np.float64,
    "bin_lon": np.float64,
    "bin_day_offset": np.int64,
    "bin_capacity": np.int64,
    "bin_compat": np.int64,
    "patient_earliest_day": np.int64,
    "patient_latest_day": np.int64,
    "patient_needs": np.int64,
    "bin_features": np.int64,
    "bin_date_key": np.int64,
    "patient_birth_key": np.int64,
    "bin_min_age": np.int64,
    "bin_max_age": np.int64,
    "unavailable_patient": np.int64,
    "unavailable_date_key": np.int64,
}


@dataclass(frozen=True)
class Allocation:
    method: Literal["min_cost_flow", "greedy", "local_greedy"]
    status: str
    objective: int
    assigned_bin: IntArray  # per patient (problem order): bin index, or -1 when unassigned
    patient_id: IntArray = field(repr=False)
    bin_id: IntArray = field(repr=False)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    arcs: int = 0
    patient_site_pairs: int = 0

    @property
    def assignments(self) -> dict[int, int]:
        """patient id -> bin id, for assigned patients only."""
        rows = np.flatnonzero(self.assigned_bin >= 0)
        return dict(
            zip(self.patient_id[rows].tolist(), self.bin_id[self.assigned_bin[rows]].tolist(), strict=True)
        )

    @property
    def unassigned(self) -> IntArray:
        return self.patient_id[self.assigned_bin < 0]

    @property
    def assigned_count(self) -> int:
        return int((self.assigned_bin >= 0).sum())


@dataclass(frozen=True)
class CostModel:
    """What every solver shares: who can reach which (site, modality) group, and at what cost.

    Reach pairs are sorted by patient; they already respect travel limits, exam and access needs.
    Bins are grouped by (site, compat), each group's bins by day.
    """

    problem: AllocationProblem
    pair_patient: npt.NDArray[np.intp]
    pair_group: npt.NDArray[np.intp]
    pair_travel_cost: IntArray
    per_day_cost: IntArray  # per patient
    due_day: IntArray  # per patient: the day offset they reach book_by_days (0 if already past)
    per_overdue_day_cost: int  # for each day of a bin beyond a patient's due_day
    unassigned_penalty: IntArray  # per patient
    group_bins: npt.NDArray[np.intp]  # bin indices, grouped, each group by day
    group_start: npt.NDArray[np.intp]  # group g's bins are group_bins[group_start[g]:group_start[g+1]]
    bin_group: npt.NDArray[np.intp]
    earliest_day: IntArray  # per patient, clipped to [0, horizon + 1]
    latest_day: IntArray  # per patient, clipped to [-1, horizon]
    build_seconds: float
    # Dates patients cannot do: patients sharing a set of dates share an id (0: none); a bin is
    # closed to a patient when (id * _DATE_KEY_SPAN + the bin's date key) is in `closed_keys`.
    patient_dates_id: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    closed_keys: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def closed(self, dates_id: npt.ArrayLike, bins: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each bin falls on a date the patients of `dates_id` cannot do."""
        if self.closed_keys.size == 0:
            return np.zeros(np.shape(bins), dtype=bool)
        keys = np.asarray(dates_id, dtype=np.int64) * _DATE_KEY_SPAN + self.problem.bin_date_key[bins]
        return np.isin(keys, self.closed_keys)

    def first_position(self, groups: npt.ArrayLike, earliest_day: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Index into group_bins of each group's first bin on or after `earliest_day`."""
        stride = self.problem.horizon_days + 2
        sorted_keys = self.bin_group[self.group_bins] * stride + self.problem.bin_day_offset[self.group_bins]
        return np.searchsorted(sorted_keys, np.asarray(groups) * stride + np.asarray(earliest_day))

    def assignment_costs(self, patients: npt.ArrayLike, bins: npt.ArrayLike) -> IntArray:
        """Integer cost of each (patient, bin) assignment; raises if a bin is out of reach."""
        patients, bins = np.asarray(patients, dtype=np.intp), np.asarray(bins, dtype=np.intp)
        n_groups = len(self.group_start) - 1
        pair_keys = self.pair_patient * n_groups + self.pair_group
        order = np.argsort(pair_keys)
        wanted = patients * n_groups + self.bin_group[bins]
        found = np.minimum(np.searchsorted(pair_keys[order], wanted), max(len(order) - 1, 0))
        if len(wanted) and (len(order) == 0 or np.any(pair_keys[order][found] != wanted)):
            raise ValueError("an assignment is out of the patient's reach, exam or access needs")
        if np.any(self.problem.bin_day_offset[bins] < self.earliest_day[patients]):
            raise ValueError("an assignment is sooner than the patient can do")
        if np.any(self.problem.bin_day_offset[bins] > self.latest_day[patients]):
            raise ValueError("an assignment is no sooner than the booking the patient holds")
        if np.any(self.closed(self.patient_dates_id[patients], bins)):
            raise ValueError("an assignment falls on a date the patient cannot do")
        travel = self.pair_travel_cost[order][found] if len(wanted) else np.empty(0, np.int64)
        offsets = self.problem.bin_day_offset[bins]
        return (
            travel
            + self.per_day_cost[patients] * offsets
            + self.overdue_cost(offsets, self.due_day[patients])
        )

    def overdue_cost(self, day_offset: npt.ArrayLike, due_day: npt.ArrayLike) -> IntArray:
        """The overdue term of the cost: per day of `day_offset` beyond `due_day`."""
        over = np.maximum(np.asarray(day_offset, dtype=np.int64) - np.asarray(due_day, dtype=np.int64), 0)
        return self.per_overdue_day_cost * over

    def objective(self, assigned_bin: IntArray) -> int:
        assigned = np.flatnonzero(assigned_bin >= 0)
        unassigned_total = int(self.unassigned_penalty[assigned_bin < 0].sum())
        return unassigned_total + int(self.assignment_costs(assigned, assigned_bin[assigned]).sum())


def build_cost_model(problem: AllocationProblem, weights: AllocationWeights | None = None) -> CostModel:
    weights = weights or AllocationWeights()
    started = time.perf_counter()
    site_ids, site_lat, site_lon, bin_site_row = _sites(problem)
    site_features = np.zeros(len(site_ids), dtype=np.int64)
    site_features[bin_site_row] = problem.bin_features
    site_min_age = np.zeros(len(site_ids), dtype=np.int64)
    site_min_age[bin_site_row] = problem.bin_min_age
    site_max_age = np.zeros(len(site_ids), dtype=np.int64)
    site_max_age[bin_site_row] = problem.bin_max_age
    if (
        np.any(site_features[bin_site_row] != problem.bin_features)
        or np.any(site_min_age[bin_site_row] != problem.bin_min_age)
        or np.any(site_max_age[bin_site_row] != problem.bin_max_age)
    ):
        raise ValueError("every bin of a site must have the site's access features and ages")
    compat_keys = np.unique(np.concatenate([problem.bin_compat, problem.patient_compat]))
    bin_compat_row = np.searchsorted(compat_keys, problem.bin_compat)
    patient_compat_row = np.searchsorted(compat_keys, problem.patient_compat)

    group_key = bin_site_row * len(compat_keys) + bin_compat_row
    group_keys, bin_group = np.unique(group_key, return_inverse=True)
    group_of_site_compat = np.full(len(site_ids) * len(compat_keys), -1, dtype=np.intp)
    group_of_site_compat[group_keys] = np.arange(len(group_keys))
    group_bins = np.lexsort((problem.bin_id, problem.bin_day_offset, bin_group))
    group_start = np.searchsorted(bin_group[group_bins], np.arange(len(group_keys) + 1))

    pair_patient, pair_site, pair_km = _reach(problem, site_lat, site_lon)
    pair_group = group_of_site_compat[pair_site * len(compat_keys) + patient_compat_row[pair_patient]]
    usable = (pair_group >= 0) & access_met(problem.patient_needs[pair_patient], site_features[pair_site])
    usable &= _ages_allowed_all_horizon(problem, pair_patient, site_min_age[pair_site], site_max_age[pair_site])
    pair_patient, pair_group, pair_km = pair_patient[usable], pair_group[usable], pair_km[usable]

    pair_travel_cost = np.rint(COST_SCALE * weights.travel_per_km * pair_km).astype(np.int64)
    urgency = problem.urgency()
    per_day_cost = np.rint(COST_SCALE * weights.wait_per_day * urgency).astype(np.int64)
    beyond = problem.horizon_days + 1
    due_day = np.clip(weights.book_by_days - problem.days_waited, 0, beyond).astype(np.int64)
    per_overdue_day_cost = round(COST_SCALE * weights.overdue_per_day)
    worst_travel = int(pair_travel_cost.max()) if pair_travel_cost.size else 0
    worst_overdue = per_overdue_day_cost * beyond
    unassigned_penalty = (
        per_day_cost * beyond
        + per_overdue_day_cost * (beyond - due_day)
        + np.ceil(urgency * (worst_travel + worst_overdue + 1)).astype(np.int64)
    )
    return CostModel(
        problem=problem,
        pair_patient=pair_patient,
        pair_group=pair_group,
        pair_travel_cost=pair_travel_cost,
        per_day_cost=per_day_cost,
        due_day=due_day,
        per_overdue_day_cost=per_overdue_day_cost,
        unassigned_penalty=unassigned_penalty,
        group_bins=group_bins,
        group_start=group_start,
        bin_group=bin_group,
        earliest_day=np.clip(problem.patient_earliest_day, 0, problem.horizon_days + 1),
        latest_day=np.clip(problem.patient_latest_day, -1, problem.horizon_days),
        build_seconds=time.perf_counter() - started,
        **_closed_dates(problem),
    )


_DATE_KEY_SPAN = 100_000_000  # above any yyyymmdd


def _ages_allowed_all_horizon(
    problem: AllocationProblem, patients: npt.NDArray[np.intp], min_age: IntArray, max_age: IntArray
) -> npt.NDArray[np.bool_]:
    """Whether each patient's age suits the site on the horizon's first and last day, so on every day
    between (ages only grow): a patient who turns 16 within the horizon is not sent to a children's site."""
    limited = (min_age > 0) | (max_age < NO_MAX_AGE)
    if not limited.any():
        return np.ones(len(patients), dtype=bool)
    dated = problem.bin_date_key[problem.bin_date_key > 0]
    if dated.size == 0:
        raise ValueError("sites with ages need every bin's date (bin_date_key)")
    birth = problem.patient_birth_key[patients]
    return ages_allowed(ages_on(birth, dated.min()), min_age, max_age) & ages_allowed(
        ages_on(birth, dated.max()), min_age, max_age
    )


def _closed_dates(problem: AllocationProblem) -> dict[str, IntArray]:
    """Ids for the distinct sets of dates patients cannot do, and the (id, date) keys they close."""
    dates_id = np.zeros(problem.n_patients, dtype=np.int64)
    if problem.unavailable_patient.size == 0:
        return {"patient_dates_id": dates_id, "closed_keys": np.zeros(0, np.int64)}
    sets: dict[int, set[int]] = {}
    for patient, key in zip(problem.unavailable_patient.tolist(), problem.unavailable_date_key.tolist(), strict=True):
        sets.setdefault(patient, set()).add(key)
    ids: dict[frozenset[int], int] = {}
    for patient, keys in sets.items():
        dates_id[patient] = ids.setdefault(frozenset(keys), len(ids) + 1)
    closed = [set_id * _DATE_KEY_SPAN + key for keys, set_id in ids.items() for key in keys]
    return {"patient_dates_id": dates_id, "closed_keys": np.unique(np.array(closed, dtype=np.int64))}


def _sites(problem: AllocationProblem):
    site_ids, first, bin_site_row = np.unique(problem.bin_site_id, return_index=True, return_inverse=True)
    return site_ids, problem.bin_lat[first], problem.bin_lon[first], bin_site_row


def _reach(problem: AllocationProblem, site_lat: FloatArray, site_lon: FloatArray):
    """(patient, site, road km) for every site within each patient's travel limit, sorted by patient.

    Patients are deduplicated by (origin, limit) first: most share a postcode-district centroid.
    """
    empty = (np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, np.float64))
    if problem.n_patients == 0 or len(site_lat) == 0:
        return empty
    limit = np.where(np.isfinite(problem.max_travel_km), problem.max_travel_km, 1e5)
    origins, origin_of_patient = np.unique(
        np.column_stack([problem.patient_lat, problem.patient_lon, limit]), axis=0, return_inverse=True
    )
    origin_of_patient = origin_of_patient.reshape(-1)
    reference_lat = float(np.mean(site_lat))
    site_tree = cKDTree(_project(site_lat, site_lon, reference_lat))
    # Equirectangular projection over the region errs by ~2 % at most: search a little wider, then
    # keep only what the exact haversine allows.
    radius = great_circle_limit(origins[:, 2]) * 1.03 + 0.5
    hits = site_tree.query_ball_point(_project(origins[:, 0], origins[:, 1], reference_lat), r=radius)
    hits_per_origin = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
    origin_pair_site = np.fromiter(
        (s for h in hits for s in h), dtype=np.intp, count=int(hits_per_origin.sum())
    )
    origin_pair_origin = np.repeat(np.arange(len(origins)), hits_per_origin)
    origin_pair_km = road_km(
        great_circle_km(
            origins[origin_pair_origin, 0],
            origins[origin_pair_origin, 1],
            site_lat[origin_pair_site],
            site_lon[origin_pair_site],
        )
    )
    within = origin_pair_km <= origins[origin_pair_origin, 2]
    origin_pair_site, origin_pair_origin, origin_pair_km = (
        origin_pair_site[within],
        origin_pair_origin[within],
        origin_pair_km[within],
    )
    # Expand origin pairs to patient pairs: every patient takes all pairs of its origin.
    order = np.argsort(origin_pair_origin, kind="stable")
    origin_pair_site, origin_pair_km = origin_pair_site[order], origin_pair_km[order]
    origin_start = np.searchsorted(origin_pair_origin[order], np.arange(len(origins) + 1))
    counts = (origin_start[1:] - origin_start[:-1])[origin_of_patient]
    pair_patient = np.repeat(np.arange(problem.n_patients), counts)
    offset_in_patient = np.arange(len(pair_patient)) - np.repeat(np.cumsum(counts) - counts, counts)
    source = origin_start[origin_of_patient][pair_patient] + offset_in_patient
    return pair_patient, origin_pair_site[source], origin_pair_km[source]


def _project(lat: FloatArray, lon: FloatArray, reference_lat: float) -> FloatArray:
    lat_r, lon_r = np.radians(lat), np.radians(lon)
    return np.column_stack(
        [EARTH_RADIUS_KM * lon_r * np.cos(np.radians(reference_lat)), EARTH_RADIUS_KM * lat_r]
    )


@dataclass(frozen=True)
class _Network:
    """patient -> (group, class) -> bin -> sink, plus patient -> sink for 'unassigned'."""

    tails: npt.NDArray[np.int32]
    heads: npt.NDArray[np.int32]
    capacities: IntArray
    costs: IntArray
    supplies: IntArray
    n_pair_arcs: int  # arcs [0, n_pair_arcs) are patient -> class node, one per reach pair
    class_bin_arcs: slice
    class_bin_node: npt.NDArray[np.intp]  # class node of each class -> bin arc
    class_bin_bin: npt.NDArray[np.intp]
    pair_class_node: npt.NDArray[np.intp]


def _build_network(model: CostModel) -> _Network:
    problem = model.problem
    n, n_bins = problem.n_patients, problem.n_bins
    # A class: patients with the same per-day cost, earliest, latest and due day are interchangeable
    # (the per-day cost already depends on days waited, so the due day adds hardly any classes, and
    # only patients already booked have a latest day).
    # Patients with dates they cannot do are a class of their own per set of dates (few are).
    classes, patient_class = np.unique(
        np.column_stack(
            [model.per_day_cost, model.earliest_day, model.due_day, model.latest_day, model.patient_dates_id]
        ),
        axis=0,
        return_inverse=True,
    )
    patient_class = patient_class.reshape(-1)
    class_key = model.pair_group * len(classes) + patient_class[model.pair_patient]
    class_keys, pair_class_node = np.unique(class_key, return_inverse=True)
    pair_class_node = pair_class_node.reshape(-1)
    node_group, node_class = class_keys // len(classes), class_keys % len(classes)
    node_day_cost, node_due_day = classes[node_class, 0], classes[node_class, 2]

    node_first = model.first_position(node_group, classes[node_class, 1])
    node_end = model.first_position(node_group, classes[node_class, 3] + 1)
    bins_per_node = np.maximum(node_end - node_first, 0)
    class_bin_node = np.repeat(np.arange(len(class_keys)), bins_per_node)
    offset = np.arange(len(class_bin_node)) - np.repeat(
        np.cumsum(bins_per_node) - bins_per_node, bins_per_node
    )
    class_bin_bin = model.group_bins[node_first[class_bin_node] + offset]
    open_to_class = ~model.closed(classes[node_class[class_bin_node], 4], class_bin_bin)
    class_bin_node, class_bin_bin = class_bin_node[open_to_class], class_bin_bin[open_to_class]

    first_class_node, first_bin_node, sink = n, n + len(class_keys), n + len(class_keys) + n_bins
    patients = np.arange(n)
    segments = [
        (
            model.pair_patient,
            first_class_node + pair_class_node,
            np.ones(len(pair_class_node)),
            model.pair_travel_cost,
        ),
        (patients, np.full(n, sink), np.ones(n), model.unassigned_penalty),
        (
            first_class_node + class_bin_node,
            first_bin_node + class_bin_bin,
            problem.bin_capacity[class_bin_bin],
            node_day_cost[class_bin_node] * problem.bin_day_offset[class_bin_bin]
            + model.overdue_cost(problem.bin_day_offset[class_bin_bin], node_due_day[class_bin_node]),
        ),
        (first_bin_node + np.arange(n_bins), np.full(n_bins, sink), problem.bin_capacity, np.zeros(n_bins)),
    ]
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n] = 1
    supplies[sink] = -n
    class_bin_start = len(pair_class_node) + n
    return _Network(
        tails=np.concatenate([s[0] for s in segments]).astype(np.int32),
        heads=np.concatenate([s[1] for s in segments]).astype(np.int32),
        capacities=np.concatenate([s[2] for s in segments]).astype(np.int64),
        costs=np.concatenate([s[3] for s in segments]).astype(np.int64),
        supplies=supplies,
        n_pair_arcs=len(pair_class_node),
        class_bin_arcs=slice(class_bin_start, class_bin_start + len(class_bin_node)),
        class_bin_node=class_bin_node,
        class_bin_bin=class_bin_bin,
        pair_class_node=pair_class_node,
    )


def allocate(problem: AllocationProblem, weights: AllocationWeights | None = None) -> Allocation:
    """The optimal allocation (SimpleMinCostFlow)."""
    started = time.perf_counter()
    model = build_cost_model(problem, weights)
    network = _build_network(model)
    solver = SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        network.tails, network.heads, network.capacities, network.costs
    )
    solver.set_nodes_supplies(np.arange(len(network.supplies), dtype=np.int32), network.supplies)
    built = time.perf_counter()
    status = solver.solve()
    solved = time.perf_counter()
    if status != solver.OPTIMAL:
        return _allocation(
            problem,
            "min_cost_flow",
            status.name.lower(),
            0,
            np.full(problem.n_patients, -1),
            built - started,
            solved - built,
            len(network.costs),
            len(model.pair_patient),
        )
    flows = np.asarray(solver.flows(arcs), dtype=np.int64)
    assigned_bin = _decompose(model, network, flows)
    return _allocation(
        problem,
        "min_cost_flow",
        "optimal",
        int(solver.optimal_cost()),
        assigned_bin,
        built - started,
        solved - built,
        len(network.costs),
        len(model.pair_patient),
    )


def _decompose(model: CostModel, network: _Network, flows: IntArray) -> IntArray:
    """Patients into bins: within one class node every patient costs the same in any of its bins."""
    assigned_bin = np.full(model.problem.n_patients, -1, dtype=np.int64)
    used_pairs = np.flatnonzero(flows[: network.n_pair_arcs] > 0)
    patients = model.pair_patient[used_pairs]
    patient_nodes = network.pair_class_node[used_pairs]
    patients = patients[np.argsort(patient_nodes, kind="stable")]
    bin_flows = flows[network.class_bin_arcs]
    # class -> bin arcs are laid out by class node already, so repeating them keeps that order.
    seats = np.repeat(network.class_bin_bin, bin_flows)
    assigned_bin[patients] = seats
    return assigned_bin


def greedy_baseline(
    problem: AllocationProblem, weights: AllocationWeights | None = None, *, nearest_site_only: bool = False
) -> Allocation:
    """Longest, most urgent waiter first takes the cheapest bin that still has room.

    With `nearest_site_only` each patient may only use the nearest site that does their exam: what
    happens without the network, when each trust books its own scanners.
    """
    started = time.perf_counter()
    model = build_cost_model(problem, weights)
    built = time.perf_counter()
    remaining = problem.bin_capacity.copy()
    next_position = model.group_start[:-1].copy()  # every bin of a group before this one is full
    group_end = model.group_start[1:]
    pair_start = np.searchsorted(model.pair_patient, np.arange(problem.n_patients + 1))
    first_allowed = model.first_position(model.pair_group, model.earliest_day[model.pair_patient])
    end_allowed = model.first_position(model.pair_group, model.latest_day[model.pair_patient] + 1)
    assigned_bin = np.full(problem.n_patients, -1, dtype=np.int64)
    for patient in np.lexsort((problem.patient_id, -problem.days_waited, -problem.urgency())):
        pairs = slice(pair_start[patient], pair_start[patient + 1])
        dates_id = int(model.patient_dates_id[patient])
        groups, travel = model.pair_group[pairs], model.pair_travel_cost[pairs]
        positions, ends = np.maximum(next_position[groups], first_allowed[pairs]), end_allowed[pairs]
        if nearest_site_only and len(groups):
            nearest = slice(int(np.argmin(travel)), int(np.argmin(travel)) + 1)
            groups, travel, positions, ends = (
                groups[nearest],
                travel[nearest],
                positions[nearest],
                ends[nearest],
            )
        best_cost, best = None, None
        for group, position, end, travel_cost in zip(
            groups.tolist(), positions.tolist(), ends.tolist(), travel.tolist(), strict=True
        ):
            while position < end and (
                remaining[model.group_bins[position]] == 0
                or (dates_id and model.closed(dates_id, model.group_bins[position]))
            ):
                position += 1
            if position >= end:
                continue
            bin_index = int(model.group_bins[position])
            offset = problem.bin_day_offset[bin_index]
            cost = (
                travel_cost
                + model.per_day_cost[patient] * offset
                + int(model.overdue_cost(offset, model.due_day[patient]))
            )
            if best_cost is None or cost < best_cost:
                best_cost, best = cost, (group, bin_index)
        if best is None:
            continue
        group, chosen_bin = best
        assigned_bin[patient] = chosen_bin
        remaining[chosen_bin] -= 1
        while (
            next_position[group] < group_end[group] and remaining[model.group_bins[next_position[group]]] == 0
        ):
            next_position[group] += 1
    solved = time.perf_counter()
    method = "local_greedy" if nearest_site_only else "greedy"
    return _allocation(
        problem,
        method,
        "feasible",
        model.objective(assigned_bin),
        assigned_bin,
        built - started,
        solved - built,
        0,
        len(model.pair_patient),
    )


def _allocation(problem, method, status, objective, assigned_bin, build_seconds, solve_seconds, arcs, pairs):
    return Allocation(
        method=method,
        status=status,
        objective=objective,
        assigned_bin=np.asarray(assigned_bin, dtype=np.int64),
        patient_id=problem.patient_id,
        bin_id=problem.bin_id,
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        arcs=arcs,
        patient_site_pairs=pairs,
    )


@dataclass(frozen=True)
class LpBound:
    value: float
    status: str
    seconds: float
    variables: int
    constraints: int


def lp_bound(
    problem: AllocationProblem,
    weights: AllocationWeights | None = None,
    *,
    formulation: Literal["network", "transportation"] = "network",
) -> LpBound:
    """The LP relaxation's optimum (HiGHS). The constraint matrix is totally unimodular, so this
    equals the integer optimum: a check on the flow solver, not a gap to close.

    "transportation" states the problem independently (a variable per patient-bin pair and per
    unassigned patient); "network" solves the flow network `allocate` uses and scales further.
    """
    started = time.perf_counter()
    model = build_cost_model(problem, weights)
    if formulation == "network":
        costs, a_eq, b_eq, a_ub, b_ub, upper = _network_lp(model)
    else:
        costs, a_eq, b_eq, a_ub, b_ub, upper = _transportation_lp(model)
    result = linprog(
        costs,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=np.column_stack([np.zeros(len(costs)), upper]),
        method="highs",
    )
    constraints = a_eq.shape[0] + (a_ub.shape[0] if a_ub is not None else 0)
    value = float(result.fun) if result.status == 0 else float("nan")
    return LpBound(
        value,
        result.message if result.status else "optimal",
        time.perf_counter() - started,
        len(costs),
        constraints,
    )


def _network_lp(model: CostModel):
    network = _build_network(model)
    arcs = np.arange(len(network.costs))
    incidence = sparse.csr_matrix(
        (
            np.r_[np.ones(len(arcs)), -np.ones(len(arcs))],
            (np.r_[network.tails, network.heads], np.r_[arcs, arcs]),
        ),
        shape=(len(network.supplies), len(arcs)),
    )
    return (
        network.costs.astype(float),
        incidence,
        network.supplies.astype(float),
        None,
        None,
        network.capacities,
    )


def _transportation_lp(model: CostModel):
    problem = model.problem
    bins_per_pair = model.group_start[model.pair_group + 1] - model.group_start[model.pair_group]
    var_patient = np.repeat(model.pair_patient, bins_per_pair)
    offset = np.arange(len(var_patient)) - np.repeat(np.cumsum(bins_per_pair) - bins_per_pair, bins_per_pair)
    var_bin = model.group_bins[np.repeat(model.group_start[model.pair_group], bins_per_pair) + offset]
    var_travel = np.repeat(model.pair_travel_cost, bins_per_pair)
    allowed = (
        (problem.bin_day_offset[var_bin] >= model.earliest_day[var_patient])
        & (problem.bin_day_offset[var_bin] <= model.latest_day[var_patient])
        & ~model.closed(model.patient_dates_id[var_patient], var_bin)
    )
    var_patient, var_bin, var_travel = var_patient[allowed], var_bin[allowed], var_travel[allowed]
    var_offset = problem.bin_day_offset[var_bin]
    var_cost = (
        var_travel
        + model.per_day_cost[var_patient] * var_offset
        + model.overdue_cost(var_offset, model.due_day[var_patient])
    )
    n, n_vars = problem.n_patients, len(var_patient) + problem.n_patients
    everyone = np.arange(n)
    # each patient: sum of their pair variables + their 'unassigned' variable = 1
    a_eq = sparse.csr_matrix(
        (np.ones(n_vars), (np.r_[var_patient, everyone], np.arange(n_vars))), shape=(n, n_vars)
    )
    # each bin: sum of its variables <= capacity
    a_ub = sparse.csr_matrix(
        (np.ones(len(var_bin)), (var_bin, np.arange(len(var_bin)))), shape=(problem.n_bins, n_vars)
    )
    costs = np.r_[var_cost, model.unassigned_penalty].astype(float)
    return costs, a_eq, np.ones(n), a_ub, problem.bin_capacity.astype(float), np.ones(n_vars)


@dataclass(frozen=True)
class WaitSummary:
    patients: int
    median_days: float
    p92_days: float
    share_over_6_weeks: float  # DM01 counts "6 weeks or more"
    share_over_13_weeks: float


def wait_summary(days: npt.ArrayLike) -> WaitSummary:
    days = np.asarray(days, dtype=np.float64)
    if days.size == 0:
        return WaitSummary(0, 0.0, 0.0, 0.0, 0.0)
    return WaitSummary(
        patients=int(days.size),
        median_days=float(np.median(days)),
        p92_days=float(np.percentile(days, 92)),
        share_over_6_weeks=float(np.mean(days >= SIX_WEEKS_DAYS)),
        share_over_13_weeks=float(np.mean(days >= THIRTEEN_WEEKS_DAYS)),
    )


def waits_at_scan(problem: AllocationProblem, allocation: Allocation) -> FloatArray:
    """Days each patient will have waited on the day of their scan.

    Unassigned patients are counted as still waiting the day after the horizon: a lower bound.
    """
    waits = problem.days_waited.astype(np.float64) + problem.horizon_days + 1
    assigned = allocation.assigned_bin >= 0
    waits[assigned] = (
        problem.days_waited[assigned] + problem.bin_day_offset[allocation.assigned_bin[assigned]]
    )
    return waits


def waits_before_after(problem: AllocationProblem, allocation: Allocation) -> tuple[WaitSummary, WaitSummary]:
    """(the waiting list today, the same patients on the day of their scan under `allocation`)."""
    return wait_summary(problem.days_waited), wait_summary(waits_at_scan(problem, allocation))

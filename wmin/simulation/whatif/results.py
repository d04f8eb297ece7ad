"""What a simulation reports, per policy and per week, as plain JSON-ready dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class WeekOutcome:
    """The state at the end of a week (week 0: the start), and what happened during it."""

    week: int
    waiting: int  # on the list (booked or not) at the end of the week
    unbooked: int
    share_over_6_weeks: float  # by the wait since referral, every test on the list
    dm01_waiting: int  # of those, the referrals DM01 counts
    share_over_6_weeks_dm01: float  # of those, by the DM01 clock
    share_over_13_weeks: float
    median_wait_weeks: float
    icb_median_wait_weeks: dict[str, float]
    icb_spread_weeks: float  # longest ICB median minus shortest
    bookings: int
    cancellations: int  # made this week, of slots whose day came within the run
    refilled: int  # of those, the slots someone else booked
    scans: int
    did_not_attend: int
    moved_cross_trust: int
    mean_added_travel_km: float | None  # over the week's bookings
    slots_offered: int
    slots_used: int

    @property
    def refill_rate(self) -> float | None:
        return self.refilled / self.cancellations if self.cancellations else None

    @property
    def moved_share(self) -> float | None:
        return self.moved_cross_trust / self.bookings if self.bookings else None

    @property
    def utilisation(self) -> float | None:
        return self.slots_used / self.slots_offered if self.slots_offered else None


@dataclass(frozen=True)
class PolicySummary:
    share_over_6_weeks: float  # at the end, by the wait since referral
    share_over_6_weeks_dm01: float  # at the end, by the DM01 clock over DM01 tests only
    share_over_13_weeks: float
    median_wait_weeks: float
    icb_spread_weeks: float
    refill_rate: float | None  # over the whole run
    mean_added_travel_km: float | None  # over every booking made during the run
    moved_share: float | None
    dna_rate: float | None
    utilisation: float | None


@dataclass(frozen=True)
class CensusBreakdown:
    """Who is waiting 6 weeks or more at the last census, and why, each patient counted once in
    the first cause that applies (in this order)."""

    waiting: int  # on the list at the census
    over_6_weeks: int  # by the wait since referral; the causes below add up to it
    dm01_waiting: int  # on the list for a test DM01 counts
    over_6_weeks_dm01: int  # of those, by the DM01 clock
    over_6_weeks_at_the_start: int  # on the starting list and already 6 weeks or more on day 0
    after_did_not_attend: int  # booked again after a DNA, the clock still running
    after_cancelling: int  # booked again after cancelling their own appointment
    booked_for_6_weeks_or_more: int  # booked once, for a scan at 6 weeks' wait or more
    not_booked: int  # never booked: no slot within their travel tolerance yet
    by_modality: dict[str, int]
    by_icb: dict[str, int]
    by_travel_tolerance_km: dict[str, int]  # extra km beyond their nearest site they will go
    # Of those booked again after a DNA or cancelling: their first one came so late in their wait
    # that no new booking, at the notice their priority needs, could fall before 6 weeks.
    failed_too_late_to_rebook: int = 0


@dataclass(frozen=True)
class ClockBound:
    """The fewest any policy could leave waiting 6 weeks or more at the census, by one clock."""

    clock: str  # "referral" (the wait since referral) or "dm01" (the DM01 clock, DM01 tests only)
    counted_at_start: int  # the starting list as this clock counts it: what shares are of
    must_be_cleared: int  # clocks 6 weeks or more by the census
    shortfall_within_tolerance: int  # with each patient's travel tolerance
    share_within_tolerance: float  # of counted_at_start
    shortfall_within_tolerance_by_modality: dict[str, int]
    shortfall_by_modality: dict[str, int]  # travelling anywhere in the network
    saturated: list[tuple[str, str]]  # (site code, modality) whose every slot goes: the min cut

    @property
    def shortfall_anywhere(self) -> int:
        return sum(self.shortfall_by_modality.values())


@dataclass(frozen=True)
class CensusBound:
    census_day: int
    scans_per_slot: float  # at best, after DNAs and cancellations on the day
    referral: ClockBound
    dm01: ClockBound
    # Per modality, the share of its weekly slots that new referrals need at best (every freed slot
    # refilled). Near 100 % the waiting list cannot shrink: its queue, not the booking order, sets
    # how long patients wait, and a late DNA or cancellation has no room to be booked again.
    slots_needed_share: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtraList:
    """One more list a week on one scanner: a site, a modality and a weekday."""

    site: str  # site code
    site_name: str
    trust: str  # trust code
    modality: str
    weekday: int  # 0 Monday ... 6 Sunday
    weekday_name: str
    slots: int  # in one list: what one scanner there gives the waiting list on an ordinary day
    lists_by_census: int  # how many of them would run before the census
    patients: int  # how many more patients the bound clears by the census with it
    latitude: float
    longitude: float


@dataclass(frozen=True)
class CapacityAdvice:
    """Where extra lists bring the most patients under 6 weeks, by the wait since referral."""

    clock: str
    target_share: float  # the bound is to be below this share of counted_at_start
    counted_at_start: int
    shortfall_now: int
    share_now: float
    # One more list a week at each saturated site-modality, on its best weekday, ranked by how
    # many patients it alone brings under 6 weeks at today's capacity.
    ranking: list[ExtraList]
    # The fewest lists a week found to bring the bound below the target, in the order added;
    # each one's `patients` is what it adds to those before it.
    plan: list[ExtraList]
    shortfall_after: int
    share_after: float
    reached: bool
    fewest_possible: int  # no plan with fewer lists a week can reach the target
    dm01_shortfall_after: int  # the DM01 bound with the plan's lists
    dm01_share_after: float
    method: str


@dataclass(frozen=True)
class PolicyOutcome:
    policy: str
    title: str
    allocator: str  # how network allocation was done, where the policy uses it
    weeks: list[WeekOutcome]
    summary: PolicySummary
    seconds: float
    census: CensusBreakdown | None = None


@dataclass(frozen=True)
class SimulationOutcome:
    label: str
    seed: int
    weeks: int
    start: str
    icbs: dict[str, str]  # code -> name
    calibration: dict[str, Any]
    assumptions: dict[str, Any]
    policies: list[PolicyOutcome] = field(default_factory=list)
    # the fewest any policy could leave waiting 6 weeks or more at the last census (bound.py)
    bound: CensusBound | None = None
    # the fewest extra lists a week that bring the bound below 1 % (advice.py)
    advice: CapacityAdvice | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for policy, outcome in zip(data["policies"], self.policies, strict=True):
            for week, original in zip(policy["weeks"], outcome.weeks, strict=True):
                week["refill_rate"] = original.refill_rate
                week["moved_share"] = original.moved_share
                week["utilisation"] = original.utilisation
        return data


def summarise(weeks: list[WeekOutcome], added_travel_km: float, bookings: int) -> PolicySummary:
    last = weeks[-1]
    ran = weeks[1:] or weeks
    cancellations = sum(w.cancellations for w in ran)
    refilled = sum(w.refilled for w in ran)
    moved = sum(w.moved_cross_trust for w in ran)
    scans, dna = sum(w.scans for w in ran), sum(w.did_not_attend for w in ran)
    offered, used = sum(w.slots_offered for w in ran), sum(w.slots_used for w in ran)
    return PolicySummary(
        share_over_6_weeks=last.share_over_6_weeks,
        share_over_6_weeks_dm01=last.share_over_6_weeks_dm01,
        share_over_13_weeks=last.share_over_13_weeks,
        median_wait_weeks=last.median_wait_weeks,
        icb_spread_weeks=last.icb_spread_weeks,
        refill_rate=refilled / cancellations if cancellations else None,
        mean_added_travel_km=added_travel_km / bookings if bookings else None,
        moved_share=moved / bookings if bookings else None,
        dna_rate=dna / (scans + dna) if scans + dna else None,
        utilisation=used / offered if offered else None,
    )


CSV_COLUMNS = [
    "policy",
    "week",
    "waiting",
    "unbooked",
    "share_over_6_weeks",
    "dm01_waiting",
    "share_over_6_weeks_dm01",
    "share_over_13_weeks",
    "median_wait_weeks",
    "icb_spread_weeks",
    "bookings",
    "cancellations",
    "refilled",
    "refill_rate",
    "scans",
    "did_not_attend",
    "moved_cross_trust",
    "mean_added_travel_km",
    "slots_offered",
    "slots_used",
]


def csv_rows(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """One row per policy per week from `SimulationOutcome.as_dict()`, ICB medians as extra columns."""
    icbs = list(result.get("icbs", {}))
    header = CSV_COLUMNS + [f"median_wait_weeks_{code}" for code in icbs]
    rows = []
    for policy in result.get("policies", []):
        for week in policy["weeks"]:
            row = [policy["policy"] if column == "policy" else week.get(column) for column in CSV_COLUMNS]
            row += [week["icb_median_wait_weeks"].get(code) for code in icbs]
            rows.append(row)
    return header, rows

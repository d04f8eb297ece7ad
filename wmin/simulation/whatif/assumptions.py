"""Every behavioural assumption of the what-if simulator, in one place, with its reason.

Where the network's published facts (../shared/data/network_facts.md) say nothing, the values are
plausible rates for English outpatient imaging, chosen for the demo and stated here, not facts. They
match those of the synthetic demand generator (wmin/simulation/demand.py) where both need one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from booking.rules.priority import PRIORITY_WEIGHT

PRIORITIES = ("urgent", "cancer", "soon", "routine")
FAST_PRIORITIES = 2  # urgent and suspected cancer (ranks 0 and 1) may be booked at a day's notice


@dataclass(frozen=True)
class Assumptions:
    # Who is referred: the same mix as the demand generator (an assumption).
    priority_mix: tuple[float, ...] = (0.06, 0.10, 0.16, 0.68)
    # How strongly each priority pulls a patient forward in network allocation: the product's weights.
    priority_weight: tuple[float, ...] = tuple(PRIORITY_WEIGHT[p] for p in ("urgent", "cancer", "soon", "routine"))
    # At the start, urgent and cancer patients have waited at most this long, "soon" patients at
    # most this; routine patients up to their queue's depth.
    fast_max_wait_weeks: float = 1.5
    soon_max_wait_weeks: float = 3.0

    # Where patients live: postcode districts within this distance of the referring trust's sites,
    # weighted by exp(-distance / decay) (no population per district is held).
    catchment_km: float = 35.0
    catchment_decay_km: float = 8.0

    # Booking rules.
    horizon_days: int = 42  # trusts release slots up to 6 weeks ahead
    min_notice_days: int = 3  # a routine booking needs 3 days' notice
    fast_min_notice_days: int = 1  # urgent and cancer patients can come tomorrow

    # What happens to bookings (plausible rates; the demand generator uses the same).
    dna_rate: float = 0.06  # did not attend: the slot is lost, the patient is booked again
    cancellation_rate: float = 0.08  # the patient cancels; most want another date
    cancellation_leaves_list: float = 0.10  # of those who cancel, the share who no longer need the scan
    # Notice given by a cancelling patient: 35 % on the day or the day before ("the evening before"),
    # 25 % 2-6 days ahead, 40 % a week or more ahead (never more than the booking's own lead time).
    notice_mix: tuple[tuple[int, int, float], ...] = ((0, 1, 0.35), (2, 6, 0.25), (7, 42, 0.40))

    # Short-notice refills. Without the hub a trust fills a slot freed at short notice only now and
    # then, from its own list by phone; with backfill the hub offers it to patients who opted in.
    local_short_notice_refill: float = 0.15
    short_notice_opt_in: float = 0.40
    backfill_offer_acceptance: float = 0.50
    backfill_max_offers: int = 8
    backfill_min_gain_days: int = 3  # moving a booked patient earlier must save at least this

    # Patient choice: how far beyond their nearest suitable site a patient will go, and how they
    # trade travel against waiting (km of extra travel worth one week sooner).
    tolerance_extra_km: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0)
    tolerance_mix: tuple[float, ...] = (0.30, 0.35, 0.25, 0.10)
    choice_km_per_week_sooner: float = 5.0

    # Network allocation: share of proposed offers patients accept (the rest choose for themselves),
    # and the min-cost-flow weights (booking/optimiser/allocate.py: km vs days x urgency).
    allocation_offer_acceptance: float = 0.80
    allocation_travel_per_km: float = 1.0
    allocation_wait_per_day: float = 2.0
    # The product's own defaults (AllocationWeights): scans due by 4 weeks' wait, so that a DNA or a
    # cancellation can be booked again before 6; each day past that costs as much as 10 km. (At a
    # tenth of the network, seeds 1 and 2, booking by 4 weeks left 2.1 % and 2.7 % waiting 6 weeks
    # or more at week 12; by 5 weeks 2.3 % and 3.0 %; by 3.5 weeks 2.2 % and 3.0 %.)
    allocation_book_by_days: int = 28
    allocation_overdue_per_day: float = 10.0
    allocation_every_days: int = 1
    # With network allocation, a share of every day's slots is ring-fenced: offered only to urgent
    # and cancer patients and to patients whom no open slot would see before 6 weeks (often booked
    # again after a DNA or a cancellation); the others have slack and can wait a little longer.
    # Slots still ring-fenced 5 days ahead open to anyone, so none is wasted. A policy to try, not a
    # rule anyone follows today.
    ring_fence_share: float = 0.30
    ring_fence_release_days: int = 5

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def bookings_per_referral(self) -> float:
        """Each booking may end in a DNA or a cancellation, most of which are booked again."""
        rebooked = self.dna_rate + self.cancellation_rate * (1 - self.cancellation_leaves_list)
        return 1.0 / (1.0 - rebooked)

    def short_notice_share(self) -> tuple[float, float]:
        """(share of cancellations on the day, share at 1 day to min_notice - 1 days)."""
        same_day = short = 0.0
        for low, high, weight in self.notice_mix:
            days = range(low, high + 1)
            for day in days:
                if day == 0:
                    same_day += weight / len(days)
                elif day < self.min_notice_days:
                    short += weight / len(days)
        return same_day, short

    def status_quo_slots_per_referral(self) -> float:
        """Slots a referral uses today: its bookings, less the cancelled slots someone else reuses.

        A slot cancelled with enough notice is rebooked in the normal way; at shorter notice only
        now and then (local_short_notice_refill); on the day never.
        """
        same_day, short = self.short_notice_share()
        refilled = (1.0 - same_day - short) + short * self.local_short_notice_refill
        return self.bookings_per_referral * (1.0 - self.cancellation_rate * refilled)

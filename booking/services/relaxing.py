"""When no slot suits all of a patient's needs: which one stands in the way, and relaxing it.

The shortlist honours every saved need, so a patient who asked for step-free access within 10 km
may have no slot at all. `relaxations` asks the one shortlist (`choices_for`) again with each need
dropped in turn and reports those that would open slots, so the clerk (or the patient, on their
choice page) can see what blocks and choose to relax it. Relaxing a saved need is a change to the
referral made with the patient's agreement, audited with who, how they were in touch and why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import QuerySet

from booking.models import Referral
from slots.models import Site, Slot

from .choices import ChoiceFilters, choices_for
from .patients import save_choice_preferences


@dataclass(frozen=True)
class Need:
    """One thing a patient can ask for that narrows their choice, and how to drop it."""

    key: str
    relaxed: dict[str, object]  # the ChoiceFilters fields without it
    saved: bool = True  # kept on the referral (time of day is asked afresh on each visit)

    def applies(self, filters: ChoiceFilters) -> bool:
        return any(getattr(filters, name) != value for name, value in self.relaxed.items())

    def label(self, filters: ChoiceFilters) -> str:
        if self.key == "max_travel_km":
            return f"Travel no more than {filters.max_travel_km} km"
        if self.key == "unavailable_dates":
            count = len(filters.unavailable_dates)
            return f"{count} date{'s' if count != 1 else ''} they cannot do"
        if self.key == "time_of_day":
            return "Only at the time of day chosen"
        return NEED_LABELS[self.key]

    def patient_label(self, filters: ChoiceFilters) -> str:
        """The need as the patient's choice page names it: 'your 10 km travel limit'."""
        if self.key == "max_travel_km":
            return f"your {filters.max_travel_km} km travel limit"
        if self.key == "unavailable_dates":
            return "the dates you cannot do"
        if self.key == "time_of_day":
            return "your time of day"
        return f"{NEED_LABELS[self.key].lower()}"


NEED_LABELS = {
    "needs_step_free": "Step-free access",
    "needs_hearing_loop": "A hearing loop",
    "needs_bariatric": "A scanner for people with a higher body weight",
}
NEEDS = (
    Need("needs_step_free", {"needs_step_free": False}),
    Need("needs_hearing_loop", {"needs_hearing_loop": False}),
    Need("needs_bariatric", {"needs_bariatric": False}),
    Need("max_travel_km", {"max_travel_km": None}),
    Need("unavailable_dates", {"unavailable_dates": frozenset()}),
    Need("time_of_day", {"time_of_day": "any"}, saved=False),
)
SAVED_NEEDS = {need.key: need for need in NEEDS if need.saved}


@dataclass(frozen=True)
class Relaxation:
    """Dropping one need would open `sites` sites, the soonest slot at `earliest`."""

    need: str
    label: str
    patient_label: str
    sites: int
    earliest: datetime
    filters: ChoiceFilters  # the filters without it


def relaxations(
    referral: Referral, filters: ChoiceFilters, *, slots: QuerySet[Slot], sites: QuerySet[Site], now: datetime
) -> list[Relaxation]:
    """For each need in `filters`, what dropping it alone would open: soonest first.

    Call it when the shortlist is empty (each need costs one more shortlist, a few queries)."""
    found = []
    for need in NEEDS:
        if not need.applies(filters):
            continue
        without = replace(filters, **need.relaxed)
        choices = choices_for(referral, slots=slots, sites=sites, filters=without, now=now, per_site=1)
        starts = [choice.earliest for choice in choices.ranked if choice.earliest is not None]
        if starts:
            found.append(
                Relaxation(need.key, need.label(filters), need.patient_label(filters), len(starts), min(starts), without)
            )
    return sorted(found, key=lambda r: (r.earliest, r.need))


def relax_saved_need(referral: Referral, need: str, *, contact_method: str, reason: str) -> Referral:
    """Drop one saved need from the referral, as the patient agreed: audited (the actor is the
    request's) with how they were in touch and why."""
    chosen = SAVED_NEEDS[need]
    before = ChoiceFilters.saved_for(referral)
    if not chosen.applies(before):
        return referral
    return save_choice_preferences(
        referral,
        replace(before, **chosen.relaxed),
        summary=f"Relaxed the saved need “{chosen.label(before)}” with the patient's agreement",
        why={"need": need, "contact_method": contact_method, "reason": reason[:500]},
    )

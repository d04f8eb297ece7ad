"""The booking policies the simulator compares."""

from __future__ import annotations

from enum import StrEnum


class Policy(StrEnum):
    STATUS_QUO = "status_quo"
    PATIENT_CHOICE = "patient_choice"
    CHOICE_ALLOCATION_BACKFILL = "choice_allocation_backfill"

    @property
    def title(self) -> str:
        return POLICY_TITLES[self]

    @property
    def description(self) -> str:
        return POLICY_DESCRIPTIONS[self]


POLICY_TITLES = {
    Policy.STATUS_QUO: "Status quo",
    Policy.PATIENT_CHOICE: "Patient choice",
    Policy.CHOICE_ALLOCATION_BACKFILL: "Choice + allocation + backfill",
}
POLICY_DESCRIPTIONS = {
    Policy.STATUS_QUO: (
        "Each trust books only its own sites, longest waiters first within priority (urgent, suspected "
        "cancer, soon, routine): the earliest slot at any of its sites, the nearer on a tie. A slot "
        "cancelled at short notice is refilled only now and then, by phone from the trust's own list."
    ),
    Policy.PATIENT_CHOICE: (
        "Patients book any site in the network within their travel tolerance, choosing by a blend of "
        "travel and wait (each week sooner worth a few km), in the same priority order. Short-notice "
        "refills as today."
    ),
    Policy.CHOICE_ALLOCATION_BACKFILL: (
        "Every day the network allocation (min-cost flow) offers each waiting patient a slot within their "
        "tolerance so that the longest and most urgent waiters go first; most accept, the rest choose for "
        "themselves. Patients booked to be scanned after 6 weeks are offered earlier slots, and 30% of "
        "each day's slots are ring-fenced for those whom no open slot would reach before 6 weeks (and "
        "urgent patients) until 5 days ahead. A slot "
        "cancelled at short notice is offered at once to patients who opted in, in turn, moving booked "
        "patients earlier where that helps."
    ),
}

"""DM01, the national diagnostics waiting-times return: which imaging tests it counts, and when a
patient's DM01 clock restarts.

The rule (issue 18; ../shared/DESIGN.md, "Waits have two clocks"):
- Every referral has two clocks. The wait since referral never moves. The DM01 clock restarts when
  the *patient* cancels (from the date they cancelled) or does not attend (from the date of the
  missed appointment). A cancellation by the hospital never restarts it.
- Restarting is each trust's choice (its access policy); it is on unless the trust turns it off.
- DM01 counts only its listed tests: for imaging, MRI, CT, non-obstetric ultrasound, DEXA and
  barium enema. Plain X-ray and planned (surveillance) tests are outside it, so they have no DM01
  clock to restart.
The list of tests is fixtures/README.md's (with its source); the exam catalogue names each exam's
test in `fixtures/catalogue/exam_types.csv`, column `dm01_test`.

Plain Python: the simulator and the product call the same function.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypeVar


class Dm01Test(StrEnum):
    """DM01's imaging tests; the values are what the exam catalogue's `dm01_test` column holds."""

    MRI = "mri"
    CT = "ct"
    NON_OBSTETRIC_ULTRASOUND = "non_obstetric_ultrasound"
    DEXA = "dexa"
    BARIUM_ENEMA = "barium_enema"

    @property
    def title(self) -> str:
        """The test's name in the national return."""
        return DM01_TEST_TITLES[self]


DM01_TEST_TITLES = {
    Dm01Test.MRI: "Magnetic Resonance Imaging",
    Dm01Test.CT: "Computed Tomography",
    Dm01Test.NON_OBSTETRIC_ULTRASOUND: "Non-obstetric Ultrasound",
    Dm01Test.DEXA: "DEXA Scan",
    Dm01Test.BARIUM_ENEMA: "Barium Enema",
}


class ClockEvent(StrEnum):
    """What happened to a booking that may restart the DM01 clock."""

    PATIENT_CANCELLED = "patient_cancelled"
    HOSPITAL_CANCELLED = "hospital_cancelled"
    DID_NOT_ATTEND = "did_not_attend"


DM01_TEST_CODES = frozenset(test.value for test in Dm01Test)


# A trust restarts the DM01 clock unless its access policy says otherwise.
RESTARTS_BY_DEFAULT = True

Moment = TypeVar("Moment", date, int)  # a date or datetime in the product, a day number in the simulator


def is_dm01_test(test: str | None) -> bool:
    """Whether a catalogue `dm01_test` value names one of DM01's tests (blank: not a DM01 test)."""
    return test in DM01_TEST_CODES


def counts_for_dm01(test: str | None, *, planned: bool = False) -> bool:
    """A referral counts in DM01 when its exam is a DM01 test and it is not a planned
    (surveillance) test."""
    return is_dm01_test(test) and not planned


def restarted_dm01_clock(
    clock: Moment, event: ClockEvent, on: Moment, *, counts_for_dm01: bool, trust_restarts: bool
) -> Moment | None:
    """The DM01 clock after `event` on `on` (the cancellation's date, or the missed appointment's),
    or None when the clock does not restart.

    It restarts only for a referral that counts in DM01, at a trust that restarts clocks, when the
    patient cancelled or did not attend; never when the hospital cancelled. It never moves back.
    """
    if not (counts_for_dm01 and trust_restarts):
        return None
    if event not in (ClockEvent.PATIENT_CANCELLED, ClockEvent.DID_NOT_ATTEND):
        return None
    return on if on > clock else None

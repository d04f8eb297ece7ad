"""The DM01 clock rule, case by case: who cancelled or a DNA, the exam, the trust's setting."""

from __future__ import annotations

import ast
import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings

import booking.rules.dm01 as dm01_module
from booking.rules.dm01 import (
    RESTARTS_BY_DEFAULT,
    ClockEvent,
    Dm01Test,
    counts_for_dm01,
    is_dm01_test,
    restarted_dm01_clock,
)

CLOCK, EVENT_DAY = date(2026, 10, 1), date(2026, 11, 20)


def restart(event: ClockEvent, *, counts: bool = True, trust_restarts: bool = True, on: date = EVENT_DAY):
    return restarted_dm01_clock(CLOCK, event, on, counts_for_dm01=counts, trust_restarts=trust_restarts)


def test_the_patient_cancelling_restarts_the_clock_from_the_date_they_cancelled():
    assert restart(ClockEvent.PATIENT_CANCELLED) == EVENT_DAY


def test_not_attending_restarts_the_clock_from_the_missed_appointments_date():
    assert restart(ClockEvent.DID_NOT_ATTEND) == EVENT_DAY


def test_a_hospital_cancellation_never_restarts_the_clock():
    assert restart(ClockEvent.HOSPITAL_CANCELLED) is None


@pytest.mark.parametrize("event", [ClockEvent.PATIENT_CANCELLED, ClockEvent.DID_NOT_ATTEND])
def test_a_trust_that_does_not_restart_keeps_the_clock(event):
    assert restart(event, trust_restarts=False) is None


@pytest.mark.parametrize("event", list(ClockEvent))
def test_a_referral_dm01_does_not_count_has_no_clock_to_restart(event):
    assert restart(event, counts=False) is None


def test_the_clock_never_moves_back():
    assert restart(ClockEvent.DID_NOT_ATTEND, on=date(2026, 9, 1)) is None
    assert restart(ClockEvent.DID_NOT_ATTEND, on=CLOCK) is None


def test_the_rule_takes_datetimes_and_the_simulators_day_numbers_alike():
    clock, missed = datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 11, 20, 14, tzinfo=UTC)
    kwargs = {"counts_for_dm01": True, "trust_restarts": True}
    assert restarted_dm01_clock(clock, ClockEvent.DID_NOT_ATTEND, missed, **kwargs) == missed
    assert restarted_dm01_clock(-20, ClockEvent.PATIENT_CANCELLED, 12, **kwargs) == 12


def test_trusts_restart_unless_they_say_otherwise():
    assert RESTARTS_BY_DEFAULT is True


def test_dm01_counts_its_five_imaging_tests_and_no_planned_test():
    assert [t.title for t in Dm01Test] == [
        "Magnetic Resonance Imaging",
        "Computed Tomography",
        "Non-obstetric Ultrasound",
        "DEXA Scan",
        "Barium Enema",
    ]
    assert counts_for_dm01("mri") and counts_for_dm01("barium_enema")
    assert not counts_for_dm01("mri", planned=True)
    assert not counts_for_dm01("") and not counts_for_dm01(None) and not is_dm01_test("xray")


def test_the_catalogue_names_a_dm01_test_for_every_dm01_exam_and_none_for_x_ray():
    path = Path(settings.FIXTURES_DIR) / "catalogue" / "exam_types.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        exams = list(csv.DictReader(handle))
    tests = {row["modality"]: set() for row in exams}
    for row in exams:
        assert row["dm01_test"] == "" or is_dm01_test(row["dm01_test"]), row["code"]
        tests[row["modality"]].add(row["dm01_test"])
    assert tests["CT"] == {"ct"} and tests["MR"] == {"mri"} and tests["DEXA"] == {"dexa"}
    assert tests["US"] == {"non_obstetric_ultrasound"}
    assert tests["XR"] == tests["NM"] == tests["MG"] == {""}
    assert {row["code"] for row in exams if row["dm01_test"] == "barium_enema"} == {"FBAEN"}
    assert tests["RF"] == {"", "barium_enema"}


def test_the_rule_imports_nothing_from_django():
    tree = ast.parse(Path(dm01_module.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not any(name.split(".")[0] == "django" for name in imported)

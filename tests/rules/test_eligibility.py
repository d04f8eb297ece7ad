"""booking.rules.eligibility: the one rule, scalar and vectorised forms agreeing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from booking.rules.eligibility import (
    ACCESS_HEARING_LOOP,
    ACCESS_STEP_FREE,
    AGE_UNKNOWN,
    NO_MAX_AGE,
    PatientConstraints,
    SlotFacts,
    access_met,
    age_allowed,
    age_on,
    ages_allowed,
    ages_on,
    ages_text,
    date_key,
    date_keys_from_ordinals,
    dates_allowed,
    parse_dates,
    refusal,
)

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def test_age_is_whole_years_on_the_day_birthdays_included():
    assert age_on(date(2010, 12, 8), date(2026, 12, 7)) == 15
    assert age_on(date(2010, 12, 8), date(2026, 12, 8)) == 16
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(None, date(2026, 1, 1)) == AGE_UNKNOWN


def test_a_childrens_site_takes_under_16s_and_an_unknown_age_only_where_no_minimum_applies():
    assert age_allowed(15, 0, 15) and not age_allowed(16, 0, 15)
    assert age_allowed(90, 0, None)
    assert age_allowed(AGE_UNKNOWN, 0, 15) and not age_allowed(AGE_UNKNOWN, 18, None)
    assert ages_text(0, 15) == "scans patients under 16 only"
    assert ages_text(18, None) == "scans patients aged 18 and over only"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1)),
       st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 1, 1)),
       st.integers(0, 20), st.one_of(st.none(), st.integers(0, 100)))
def test_the_array_form_agrees_with_the_scalar_form(born, day, min_age, max_age):
    vector_age = ages_on([date_key(born)], date_keys_from_ordinals([day.toordinal()]))[0]
    assert vector_age == age_on(born, day)
    allowed = ages_allowed([vector_age], [min_age], [NO_MAX_AGE if max_age is None else max_age])[0]
    assert allowed == age_allowed(age_on(born, day), min_age, max_age)


def test_dates_and_access():
    days = [date(2026, 12, d) for d in (7, 8, 10)]
    assert dates_allowed([d.toordinal() for d in days], {date(2026, 12, 8)}).tolist() == [True, False, True]
    assert access_met(ACCESS_STEP_FREE, ACCESS_STEP_FREE | ACCESS_HEARING_LOOP)
    assert not access_met(ACCESS_STEP_FREE | ACCESS_HEARING_LOOP, ACCESS_STEP_FREE)
    assert access_met(np.array([0, 1]), np.array([0, 0])).tolist() == [True, False]
    assert parse_dates(["2026-12-08", "not a date", date(2026, 12, 9)]) == {date(2026, 12, 8), date(2026, 12, 9)}


def _slot(**fields) -> SlotFacts:
    starts = NOW + timedelta(days=4)
    return SlotFacts(**({"modality_id": 1, "starts_at": starts, "local_date": starts.date(), "features": ACCESS_STEP_FREE,
                        "site_name": "Birmingham Children's Hospital"} | fields))


def test_refusal_names_the_rule_broken_and_is_empty_when_the_slot_suits():
    adult = PatientConstraints(modality_id=1, min_notice_hours=24, birth_date=date(1959, 1, 1))
    assert refusal(adult, _slot(), travel_km=5, now=NOW) == ""
    assert refusal(adult, _slot(max_age=15), travel_km=5, now=NOW) == (
        "Birmingham Children's Hospital scans patients under 16 only."
    )
    assert "different kind of scan" in refusal(adult, _slot(modality_id=2), travel_km=5, now=NOW)
    assert "too soon" in refusal(adult, _slot(starts_at=NOW + timedelta(hours=3)), travel_km=5, now=NOW)
    away = PatientConstraints(modality_id=1, min_notice_hours=24, unavailable_dates=frozenset({date(2026, 12, 8)}))
    assert refusal(away, _slot(), travel_km=5, now=NOW) == "The patient cannot do 8 December 2026 (a saved date they cannot do)."
    limited = PatientConstraints(modality_id=1, min_notice_hours=24, max_travel_km=10, needs=ACCESS_HEARING_LOOP)
    assert "does not have a hearing loop" in refusal(limited, _slot(), travel_km=5, now=NOW)
    limited = PatientConstraints(modality_id=1, min_notice_hours=24, max_travel_km=10)
    assert "further than the patient's travel limit of 10 km" in refusal(limited, _slot(), travel_km=12, now=NOW)
    assert refusal(limited, _slot(), travel_km=None, now=NOW) == ""

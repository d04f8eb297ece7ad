"""Whatever a client sends to the FHIR search, the answer is valid FHIR: a Bundle or a 400 outcome."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.fhir_helpers import fhir, outcome
from wmin.api.fhir import shapes

pytestmark = pytest.mark.django_db

PARAMS = [
    "service-type",
    "start",
    "status",
    "schedule",
    "schedule.actor:HealthcareService.location.near",
    "_count",
    "_page",
    "_include",
]
VALUES = st.one_of(
    st.text(max_size=30),
    st.from_regex(
        r"(eq|ne|gt|lt|ge|le|sa|eb)?\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?)?)?",
        fullmatch=True,
    ),
    st.from_regex(
        r"-?\d{1,3}(\.\d+)?\|-?\d{1,3}(\.\d+)?(\|\d{1,6}(\|(km|mi|m|\[mi_us\]|ft))?)?", fullmatch=True
    ),
    st.sampled_from(
        ["free", "busy,free", "MR", "http://snomed.info/sct|113091000", "Schedule/RRK15-MR", "0", "101", "\u00b2", "\u0663", "9" * 30]
    ),
)


@settings(
    max_examples=60, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(query=st.dictionaries(st.sampled_from(PARAMS), VALUES, max_size=3))
def test_slot_search_never_fails_on_the_server(api, qe_slot, query):
    response = api("clerk").get("/fhir/Slot", query)
    assert response.status_code in (200, 400), response.content
    fhir(response, response.status_code)


def test_a_server_error_is_a_500_operation_outcome(api, qe_site, monkeypatch):
    def broken(site):
        raise RuntimeError("boom")

    monkeypatch.setattr(shapes, "location", broken)
    body = outcome(api("clerk").get("/fhir/Location/RRK15"), 500, "exception")
    assert "boom" not in body["issue"][0]["diagnostics"]

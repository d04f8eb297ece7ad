"""FHIR Slot search (BaRS-style), Schedule, HealthcareService and Location."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.conftest import FROZEN_NOW
from tests.api.fhir_helpers import fhir, ids, matches, outcome
from tests.factories import ModalityFactory, SlotFactory

pytestmark = pytest.mark.django_db

NEAR = "schedule.actor:HealthcareService.location.near"


def test_the_issue_example_returns_a_valid_searchset(api, qe_slot, coventry_slot):
    response = api("integration").get(
        "/fhir/Slot",
        {"service-type": "MR", "start": "ge2026-11-24", "status": "free", NEAR: "52.48|-1.89|10|km"},
    )
    bundle = fhir(response)
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    slot = matches(bundle)[0]
    assert slot == {
        "resourceType": "Slot",
        "id": str(qe_slot.pk),
        "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Slot"]},
        "identifier": [
            {
                "system": "https://wmin.nhs.uk/Id/ris-slot-id",
                "value": qe_slot.ris_slot_id,
                "assigner": {
                    "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RRK"}
                },
            }
        ],
        "serviceType": slot["serviceType"],
        "schedule": {"reference": "Schedule/RRK15-MR"},
        "status": "free",
        "start": "2026-11-30T09:00:00Z",
        "end": "2026-11-30T09:30:00Z",
    }
    systems = {coding["system"]: coding["code"] for coding in slot["serviceType"][0]["coding"]}
    assert systems["http://snomed.info/sct"] == "113091000"
    assert systems["http://dicom.nema.org/resources/ontology/DCM"] == "MR"
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Slot/{qe_slot.pk}"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"service-type": "http://snomed.info/sct|113091000"}, {"qe", "cov"}),
        ({"service-type": "http://dicom.nema.org/resources/ontology/DCM|CT"}, set()),
        ({"service-type": "CT,MR"}, {"qe", "cov"}),
        ({"start": "2026-11-30"}, {"qe"}),
        ({"start": ["ge2026-11-25", "lt2026-11-30"]}, {"cov"}),
        ({"start": "gt2026-11-26T09:00:00Z"}, {"qe"}),
        ({"start": "le2026-11-26"}, {"cov"}),
        ({"start": "2026-12"}, set()),
        ({"schedule": "Schedule/RKB01-MR"}, {"cov"}),
        ({"schedule.actor:HealthcareService": "RRK15-MR"}, {"qe"}),
        ({"schedule.actor:HealthcareService.location": "Location/RKB01"}, {"cov"}),
        ({NEAR: "52.42|-1.44|5|km"}, {"cov"}),
        ({NEAR: "52.45|-1.94|25|mi"}, {"qe", "cov"}),
        ({"status": "busy"}, set()),
    ],
)
def test_slot_search_parameters(api, qe_slot, coventry_slot, params, expected):
    names = {str(qe_slot.pk): "qe", str(coventry_slot.pk): "cov"}
    found = ids(fhir(api("clerk").get("/fhir/Slot", params)))
    assert {names[i] for i in found} == expected


def test_status_maps_our_slot_states(api, qe_site, mri, qe_slot):
    booked = SlotFactory(site=qe_site, modality=mri, status="booked")
    held = SlotFactory(site=qe_site, modality=mri, status="held")
    blocked = SlotFactory(site=qe_site, modality=mri, status="blocked")
    client = api("clerk")
    assert ids(fhir(client.get("/fhir/Slot", {"status": "busy"}))) == [str(booked.pk)]
    assert ids(fhir(client.get("/fhir/Slot", {"status": "busy-tentative"}))) == [str(held.pk)]
    assert ids(fhir(client.get("/fhir/Slot", {"status": "busy-unavailable"}))) == [str(blocked.pk)]
    assert set(ids(fhir(client.get("/fhir/Slot", {"status": "free,busy"})))) == {
        str(qe_slot.pk),
        str(booked.pk),
    }


def test_includes_schedule_service_and_location(api, qe_slot):
    bundle = fhir(
        api("clerk").get(
            "/fhir/Slot",
            {
                "_include": "Slot:schedule",
                "_include:iterate": ["Schedule:actor:HealthcareService", "HealthcareService:location"],
            },
        )
    )
    included = {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in bundle["entry"]
        if e["search"]["mode"] == "include"
    }
    assert included == {("Schedule", "RRK15-MR"), ("HealthcareService", "RRK15-MR"), ("Location", "RRK15")}


def test_paging_links(api, qe_site, mri):
    for day in range(5):
        start = FROZEN_NOW + dt.timedelta(days=day + 1)
        SlotFactory(site=qe_site, modality=mri, starts_at=start, ends_at=start + dt.timedelta(minutes=30))
    first = fhir(api("clerk").get("/fhir/Slot", {"_count": 2, "status": "free"}))
    assert first["total"] == 5 and len(matches(first)) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "next"} and "_page=2" in links["next"]
    last = fhir(api("clerk").get("/fhir/Slot", {"_count": 2, "status": "free", "_page": 3}))
    assert len(matches(last)) == 1 and {link["relation"] for link in last["link"]} == {"self", "previous"}


def test_unknown_parameters_are_reported_or_refused_when_strict(api, qe_slot):
    bundle = fhir(api("clerk").get("/fhir/Slot", {"colour": "blue"}))
    outcomes = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcomes[0]["issue"][0]["severity"] == "warning"
    assert outcomes[0]["issue"][0]["expression"] == ["colour"]
    strict = api("clerk").get("/fhir/Slot", {"colour": "blue"}, HTTP_PREFER="handling=strict")
    outcome(strict, 400, "not-supported")


@pytest.mark.parametrize(
    "params",
    [
        {"start": "ge2026-13-01"},
        {"start": "tomorrow"},
        {"start": "ge2026-12-01T09:00"},
        {"status": "available"},
        {NEAR: "52.48|-1.89"[:5]},
        {NEAR: "north|-1.89|10|km"},
        {NEAR: "52.48|-1.89|10|furlongs"},
        {NEAR: "52.48|-1.89|10000|km"},
        {"_count": "0"},
        {"_count": "many"},
        {"schedule": "Location/RRK15"},
    ],
)
def test_bad_search_values_are_400_operation_outcomes(api, params):
    body = outcome(api("clerk").get("/fhir/Slot", params), 400, "invalid")
    details = body["issue"][0]["details"]["coding"][0]
    assert (details["system"], details["code"]) == (
        "https://fhir.nhs.uk/CodeSystem/http-error-codes",
        "REC_BAD_REQUEST",
    )


def test_read_one_slot(api, qe_slot):
    assert fhir(api("patient").get(f"/fhir/Slot/{qe_slot.pk}"))["id"] == str(qe_slot.pk)
    outcome(api("patient").get("/fhir/Slot/999999"), 404, "not-found")
    outcome(api("patient").get("/fhir/Slot/abc"), 404, "not-found")


def test_location_uses_the_ods_site_code(api, qe_site):
    location = fhir(api("anonymous").get("/fhir/Location/RRK15"))
    assert location["identifier"] == [{"system": "https://fhir.nhs.uk/Id/ods-site-code", "value": "RRK15"}]
    assert location["position"] == {"latitude": 52.450146, "longitude": -1.941776}
    assert location["managingOrganization"]["identifier"]["value"] == "RRK"
    found = fhir(
        api("anonymous").get("/fhir/Location", {"identifier": "https://fhir.nhs.uk/Id/ods-site-code|RRK15"})
    )
    assert ids(found) == ["RRK15"]


def test_a_site_without_an_ods_code_says_so(api, trust):
    from tests.factories import SiteFactory

    SiteFactory(code="WMIN-CDC-TEST", trust=trust, kind="cdc", location_precision="district_centroid")
    location = fhir(api("anonymous").get("/fhir/Location/WMIN-CDC-TEST"))
    assert location["identifier"][0]["system"] == "https://wmin.nhs.uk/Id/site-code"
    assert "approximate" in location["description"]
    assert location["type"][0]["coding"][0]["code"] == "DX"


def test_healthcare_services_and_schedules(api, qe_site, coventry_site):
    ModalityFactory(code="CT")
    bundle = fhir(
        api("anonymous").get(
            "/fhir/HealthcareService", {"service-type": "MR", "_include": "HealthcareService:location"}
        )
    )
    assert ids(bundle) == ["RKB01-MR", "RRK15-MR"]
    service = matches(bundle)[1]
    assert service["providedBy"]["identifier"] == {
        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
        "value": "RRK",
    }
    assert service["location"] == [
        {"reference": "Location/RRK15", "display": "Queen Elizabeth Hospital Birmingham"}
    ]
    near_b15 = fhir(api("anonymous").get("/fhir/HealthcareService", {"location.near": "52.45|-1.94|5|km"}))
    assert ids(near_b15) == ["RRK15-MR"]
    assert ids(fhir(api("anonymous").get("/fhir/HealthcareService", {"organization": "RKB"}))) == ["RKB01-MR"]
    schedule = fhir(api("anonymous").get("/fhir/Schedule/RRK15-MR"))
    assert [actor["reference"] for actor in schedule["actor"]] == [
        "HealthcareService/RRK15-MR",
        "Location/RRK15",
    ]
    outcome(api("anonymous").get("/fhir/Schedule/RRK15-CT"), 404, "not-found")
    outcome(api("anonymous").get("/fhir/HealthcareService/nonsense"), 404, "not-found")


def test_capability_statement(api):
    statement = fhir(api("anonymous").get("/fhir/metadata"))
    assert statement["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert types == {"Slot", "Schedule", "HealthcareService", "Location", "Appointment"}


def test_json_only(api):
    outcome(api("anonymous").get("/fhir/metadata", {"_format": "xml"}), 406, "not-supported")
    outcome(api("anonymous").get("/fhir/metadata", HTTP_ACCEPT="application/fhir+xml"), 406, "not-supported")
    fhir(api("anonymous").get("/fhir/metadata", HTTP_ACCEPT="application/json"))


def test_unknown_resource_types_are_404_operation_outcomes(api):
    outcome(api("anonymous").get("/fhir/Patient/1"), 404, "not-supported")

"""Identifier and code systems, and the UK Core profiles we claim."""

from __future__ import annotations

ODS_SITE_CODE = "https://fhir.nhs.uk/Id/ods-site-code"
ODS_ORGANISATION_CODE = "https://fhir.nhs.uk/Id/ods-organization-code"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
HTTP_ERROR_CODES = "https://fhir.nhs.uk/CodeSystem/http-error-codes"  # BaRS: OperationOutcome.issue.details

# The hub's own systems, for things no national system names.
WMIN_SITE_CODE = "https://wmin.nhs.uk/Id/site-code"
WMIN_BOOKING_REFERENCE = "https://wmin.nhs.uk/Id/booking-reference"
WMIN_BOOKING_ID = "https://wmin.nhs.uk/Id/booking"
WMIN_RIS_SLOT_ID = "https://wmin.nhs.uk/Id/ris-slot-id"
WMIN_MODALITY = "https://wmin.nhs.uk/CodeSystem/modality"
WMIN_EXAM = "https://wmin.nhs.uk/CodeSystem/exam"

DICOM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# Appointment.cancelationReason: "pat"/"pat-…" the patient cancelled, "prov"/"maint"/… the provider.
CANCELLATION_REASON = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"

# SNOMED CT procedure concepts for each modality's imaging.
SNOMED_BY_MODALITY = {
    "CT": ("77477000", "Computerized axial tomography"),
    "MR": ("113091000", "Magnetic resonance imaging"),
    "US": ("16310003", "Ultrasonography"),
    "XR": ("363680008", "Radiographic imaging procedure"),
    "DEXA": ("312681000", "Bone densitometry"),
    "NM": ("371572003", "Nuclear medicine imaging procedure"),
    "MG": ("71651007", "Mammography"),
    "RF": ("44491008", "Fluoroscopy"),
}

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"


def profile(resource_type: str) -> dict[str, list[str]]:
    return {"profile": [f"{UK_CORE}{resource_type}"]}

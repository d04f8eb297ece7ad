"""Our rows as FHIR resources (UK Core profiles), each validated with fhir.resources before use.

Ids: Location = the site code; HealthcareService and Schedule = "<site code>-<modality code>" (one
service and one schedule per modality at a site); Slot = the slot's id; Appointment = the booking's id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from booking.models import Booking, BookingStatus
from slots.models import Modality, Site, Slot, SlotStatus

from . import systems

APPOINTMENT_STATUS = {
    BookingStatus.PENDING_RIS: "pending",
    BookingStatus.CONFIRMED: "booked",
    BookingStatus.CONFLICT: "pending",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.ATTENDED: "fulfilled",
    BookingStatus.DID_NOT_ATTEND: "noshow",
}
SLOT_STATUS = {
    SlotStatus.OPEN: "free",
    SlotStatus.HELD: "busy-tentative",
    SlotStatus.BOOKED: "busy",
    SlotStatus.BLOCKED: "busy-unavailable",
    SlotStatus.WITHDRAWN: "busy-unavailable",
}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Parse with the fhir.resources model for its type and return the model's own JSON form."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return model.model_dump(mode="json", exclude_none=True)


def service_id(site: Site, modality: Modality) -> str:
    return f"{site.code}-{modality.code}"


def split_service_id(value: str) -> tuple[str, str] | None:
    site_code, _, modality_code = value.rpartition("-")
    return (site_code, modality_code) if site_code and modality_code else None


def modality_concept(modality: Modality) -> dict[str, Any]:
    codings = [{"system": systems.WMIN_MODALITY, "code": modality.code, "display": modality.name}]
    for dicom in (modality.dicom_code or "").split():
        codings.append({"system": systems.DICOM, "code": dicom})
    if modality.code in systems.SNOMED_BY_MODALITY:
        code, display = systems.SNOMED_BY_MODALITY[modality.code]
        codings.append({"system": systems.SNOMED, "code": code, "display": display})
    return {"coding": codings, "text": modality.name}


def site_identifier(site: Site) -> dict[str, str]:
    system = systems.WMIN_SITE_CODE if site.code.startswith("WMIN-") else systems.ODS_SITE_CODE
    return {"system": system, "value": site.code}


def organisation(site: Site) -> dict[str, Any]:
    trust = site.trust
    return {
        "type": "Organization",
        "identifier": {"system": systems.ODS_ORGANISATION_CODE, "value": trust.ods_code},
        "display": trust.name,
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat()


def location(site: Site) -> dict[str, Any]:
    description = f"{site.get_kind_display()} run by {site.trust.name}."
    if site.is_approximate:
        description += " Position is the postcode district's centre (approximate)."
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": site.code,
        "meta": systems.profile("Location"),
        "identifier": [site_identifier(site)],
        "status": "active",
        "name": site.name,
        "description": description,
        "mode": "instance",
        "type": [
            {
                "coding": [
                    {"system": systems.V3_ROLE_CODE, "code": "HOSP", "display": "Hospital"}
                    if not site.is_cdc
                    else {
                        "system": systems.V3_ROLE_CODE,
                        "code": "DX",
                        "display": "Diagnostics or therapeutics unit",
                    }
                ],
                "text": site.get_kind_display(),
            }
        ],
        "address": {"postalCode": site.postcode or site.outcode, "country": "GB"},
        "position": {"latitude": site.latitude, "longitude": site.longitude},
        "managingOrganization": organisation(site),
        "hoursOfOperation": [_opening(site)],
    }
    return validated(resource)


def _opening(site: Site) -> dict[str, Any]:
    return {
        "daysOfWeek": WEEKDAYS + (["sat", "sun"] if site.open_weekends else []),
        "openingTime": site.opens_at.strftime("%H:%M:%S"),
        "closingTime": site.closes_at.strftime("%H:%M:%S"),
    }


def _characteristics(site: Site) -> list[dict[str, str]]:
    features = [
        (site.step_free, "Step-free access"),
        (site.hearing_loop, "Hearing loop"),
        (site.bariatric_scanner, "Scanner for larger patients"),
        (site.parking, "Parking"),
    ]
    return [{"text": text} for present, text in features if present]


def healthcare_service(site: Site, modality: Modality) -> dict[str, Any]:
    opening = _opening(site)
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": service_id(site, modality),
        "meta": systems.profile("HealthcareService"),
        "active": True,
        "providedBy": organisation(site),
        "category": [{"text": "Diagnostic imaging"}],
        "type": [modality_concept(modality)],
        "location": [{"reference": f"Location/{site.code}", "display": site.name}],
        "name": f"{modality.name} at {site.name}",
        "availableTime": [
            {
                "daysOfWeek": opening["daysOfWeek"],
                "availableStartTime": opening["openingTime"],
                "availableEndTime": opening["closingTime"],
            }
        ],
    }
    if characteristics := _characteristics(site):
        resource["characteristic"] = characteristics
    if site.public_transport:
        resource["extraDetails"] = f"Public transport: {site.public_transport}"
    return validated(resource)


def schedule(site: Site, modality: Modality) -> dict[str, Any]:
    resource = {
        "resourceType": "Schedule",
        "id": service_id(site, modality),
        "meta": systems.profile("Schedule"),
        "active": True,
        "serviceType": [modality_concept(modality)],
        "actor": [
            {
                "reference": f"HealthcareService/{service_id(site, modality)}",
                "display": f"{modality.name} at {site.name}",
            },
            {"reference": f"Location/{site.code}", "display": site.name},
        ],
        "comment": f"Slots {site.trust.short_name or site.trust.name} has released to the network pool.",
    }
    return validated(resource)


def slot_status(slot: Slot, *, now: datetime) -> str:
    held = getattr(slot, "hold", None) if slot.status == SlotStatus.OPEN else None
    if held is not None and held.expires_at > now:
        return "busy-tentative"
    return SLOT_STATUS.get(SlotStatus(slot.status), "busy-unavailable")


def slot(row: Slot, *, now: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": str(row.pk),
        "meta": systems.profile("Slot"),
        "identifier": [
            {
                "system": systems.WMIN_RIS_SLOT_ID,
                "value": row.ris_slot_id,
                "assigner": {
                    "identifier": {"system": systems.ODS_ORGANISATION_CODE, "value": row.site.trust.ods_code}
                },
            }
        ],
        "serviceType": [modality_concept(row.modality)],
        "schedule": {"reference": f"Schedule/{service_id(row.site, row.modality)}"},
        "status": slot_status(row, now=now),
        "start": _instant(row.starts_at),
        "end": _instant(row.ends_at),
    }


def appointment(booking: Booking, *, cancellation_reason: str = "") -> dict[str, Any]:
    referral, row = booking.referral, booking.slot
    site, modality = row.site, row.modality
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(booking.pk),
        "meta": systems.profile("Appointment"),
        "identifier": [{"system": systems.WMIN_BOOKING_ID, "value": str(booking.pk)}],
        "status": APPOINTMENT_STATUS[BookingStatus(booking.status)],
        "serviceType": [modality_concept(modality)],
        "description": referral.exam_type.name,
        "start": _instant(row.starts_at),
        "end": _instant(row.ends_at),
        "minutesDuration": row.duration_minutes,
        "slot": [{"reference": f"Slot/{row.pk}"}],
        "created": _instant(booking.created_at),
        "basedOn": [
            {
                "type": "ServiceRequest",
                "identifier": {"system": systems.WMIN_BOOKING_REFERENCE, "value": referral.booking_reference},
            }
        ],
        "participant": [
            {
                "actor": {
                    "type": "Patient",
                    "identifier": {"system": systems.NHS_NUMBER, "value": referral.patient.nhs_number},
                },
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {"reference": f"Location/{site.code}", "display": site.name},
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {
                    "reference": f"HealthcareService/{service_id(site, modality)}",
                    "display": f"{modality.name} at {site.name}",
                },
                "required": "required",
                "status": "accepted",
            },
        ],
    }
    if booking.status == BookingStatus.CANCELLED:
        resource["cancelationReason"] = {"text": cancellation_reason or "Cancelled"}
    return validated(resource)

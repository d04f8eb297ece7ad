"""Appointment: book a pool slot (POST), read it (GET), cancel it (PUT or JSON Patch with status
cancelled). Booking and cancelling go through booking.services, the pages' own path.

A booking request, BaRS-style:

    POST /fhir/Appointment   (Content-Type: application/fhir+json)
    {"resourceType": "Appointment", "status": "booked",
     "slot": [{"reference": "Slot/123"}],
     "basedOn": [{"identifier": {"system": "https://wmin.nhs.uk/Id/booking-reference", "value": "WM7K2P9Q"}}],
     "participant": [{"actor": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number",
                                               "value": "9990000018"}}, "status": "accepted"}]}
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment
from pydantic import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiScope, User
from audit.models import AuditAction
from audit.trail import record
from booking.models import Booking, BookingStatus, CancelledBy, Referral
from booking.services.bookings import cancellation_reason
from booking.services.errors import AlreadyBooked, BookingError, HoldExpired, SlotUnavailable
from slots.models import Slot

from ..bookings import book, cancel
from . import shapes, systems
from .base import FhirView, JSONPatchParser, fhir_response
from .bundles import full_url
from .outcome import FhirError, issue

CREATABLE_STATUSES = {"proposed", "pending", "booked"}
PATCHABLE_PATHS = {"/status", "/cancelationReason"}


# Reading the request ---------------------------------------------------------------------------


def parse(data: Any) -> Appointment:
    """The body as a fhir.resources Appointment; anything else is a 400 OperationOutcome."""
    if not isinstance(data, dict) or data.get("resourceType") != "Appointment":
        raise FhirError(
            400, "structure", "The body must be a FHIR Appointment resource (resourceType Appointment)."
        )
    try:
        return Appointment.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors()[:20]:
            where = ".".join(str(part) for part in error["loc"] if part != "__root__")
            code = "required" if error["type"] == "missing" else "structure"
            issues.append(
                issue(
                    code,
                    f"{where or 'Appointment'}: {error['msg']}",
                    http_status=400,
                    expression=[f"Appointment.{where}".rstrip(".")],
                )
            )
        raise FhirError.with_issues(400, issues) from exc


@dataclass(frozen=True)
class BookingRequest:
    slot_id: int
    nhs_number: str
    booking_reference: str | None
    referral_id: int | None
    start: datetime | None
    end: datetime | None


def _required(message: str, expression: str) -> FhirError:
    return FhirError(400, "required", message, expression=[expression])


def booking_request(appointment: Appointment) -> BookingRequest:
    if appointment.status not in CREATABLE_STATUSES:
        raise FhirError(
            422,
            "business-rule",
            f"A new Appointment's status must be one of {', '.join(sorted(CREATABLE_STATUSES))}.",
            expression=["Appointment.status"],
        )
    slots = [ref.reference for ref in appointment.slot or [] if ref.reference]
    if len(slots) != 1:
        raise _required("Give exactly one slot reference, e.g. Slot/123.", "Appointment.slot")
    kind, _, slot_id = slots[0].rstrip("/").rpartition("/")
    if kind.rsplit("/", 1)[-1] != "Slot" or not (slot_id.isascii() and slot_id.isdigit()) or len(slot_id) > 18:
        raise FhirError(
            400,
            "value",
            f"{slots[0]!r} is not a Slot reference.",
            expression=["Appointment.slot[0].reference"],
        )
    nhs_numbers = [
        p.actor.identifier.value
        for p in appointment.participant or []
        if p.actor
        and p.actor.identifier
        and p.actor.identifier.system == systems.NHS_NUMBER
        and p.actor.identifier.value
    ]
    if len(nhs_numbers) != 1:
        raise _required(
            f"Give the patient as one participant whose actor.identifier has system {systems.NHS_NUMBER}.",
            "Appointment.participant",
        )
    booking_reference = referral_id = None
    for based_on in appointment.basedOn or []:
        if (
            based_on.identifier
            and based_on.identifier.system == systems.WMIN_BOOKING_REFERENCE
            and based_on.identifier.value
        ):
            booking_reference = based_on.identifier.value.replace(" ", "").upper()
        elif based_on.reference and based_on.reference.startswith("ServiceRequest/"):
            value = based_on.reference.removeprefix("ServiceRequest/")
            if value.isascii() and value.isdigit() and len(value) <= 18:
                referral_id = int(value)
    if booking_reference is None and referral_id is None:
        raise _required(
            f"Give the referral in basedOn: an identifier with system {systems.WMIN_BOOKING_REFERENCE}, "
            "or a reference ServiceRequest/<id>.",
            "Appointment.basedOn",
        )
    return BookingRequest(
        int(slot_id), nhs_numbers[0], booking_reference, referral_id, appointment.start, appointment.end
    )


def _referral(user: User, ask: BookingRequest) -> Referral:
    referrals = Referral.objects.visible_to(user)
    if ask.booking_reference is not None:
        referrals = referrals.filter(booking_reference=ask.booking_reference)
    if ask.referral_id is not None:
        referrals = referrals.filter(pk=ask.referral_id)
    referral = referrals.first()
    if referral is None:
        raise FhirError(
            422,
            "business-rule",
            "No referral you may book matches basedOn.",
            expression=["Appointment.basedOn"],
        )
    if referral.patient.nhs_number != ask.nhs_number.replace(" ", ""):
        raise FhirError(
            422,
            "business-rule",
            "The NHS number is not the referral's patient's.",
            expression=["Appointment.participant"],
        )
    return referral


def _check_slot(user: User, ask: BookingRequest) -> None:
    slot = Slot.objects.pool_visible_to(user).filter(pk=ask.slot_id).first()
    if slot is None:
        raise FhirError(
            422,
            "business-rule",
            f"Slot/{ask.slot_id} is not a pool slot you may book.",
            expression=["Appointment.slot"],
        )
    if ask.start is not None and ask.start != slot.starts_at:
        raise FhirError(
            422, "business-rule", "start is not the slot's start.", expression=["Appointment.start"]
        )
    if ask.end is not None and ask.end != slot.ends_at:
        raise FhirError(422, "business-rule", "end is not the slot's end.", expression=["Appointment.end"])


def booking_error(error: BookingError) -> FhirError:
    if isinstance(error, SlotUnavailable | HoldExpired | AlreadyBooked):
        return FhirError(409, "conflict", error.message)
    return FhirError(422, "business-rule", error.message)


# Answering -------------------------------------------------------------------------------------


def _bookings(user: User) -> QuerySet[Booking]:
    return Booking.objects.visible_to(user).select_related(
        "referral__patient", "referral__exam_type", "slot__site__trust", "slot__modality"
    )


def _booking(user: User, id: str) -> Booking:
    booking = _bookings(user).filter(pk=int(id)).first() if id.isdigit() and len(id) <= 18 else None
    if booking is None:
        raise FhirError(404, "not-found", f"Appointment/{id} is not one you may see")
    return booking


def _resource(booking: Booking) -> dict[str, Any]:
    reason = cancellation_reason(booking) if booking.status == BookingStatus.CANCELLED else ""
    return shapes.appointment(booking, cancellation_reason=reason)


def _etag(booking: Booking) -> dict[str, str]:
    return {"ETag": f'W/"{int(booking.updated_at.timestamp() * 1000)}"'}


class AppointmentCreate(FhirView):
    change_scope = ApiScope.BOOK

    def post(self, request: Request) -> Response:
        ask = booking_request(parse(request.data))
        referral = _referral(request.user, ask)
        _check_slot(request.user, ask)
        try:
            booking = book(request.user, referral, ask.slot_id, now=timezone.now())
        except BookingError as error:
            raise booking_error(error) from error
        booking = _booking(request.user, str(booking.pk))
        resource = _resource(booking)
        return fhir_response(
            resource, status=201, headers={"Location": full_url(request, resource), **_etag(booking)}
        )


class AppointmentInstance(FhirView):
    change_scope = ApiScope.CANCEL  # the only change it accepts
    parser_classes = [*FhirView.parser_classes, JSONPatchParser]

    def get(self, request: Request, id: str) -> Response:
        booking = _booking(request.user, id)
        record(
            AuditAction.VIEW,
            booking,
            patient_id=booking.referral.patient_id,
            summary=f"FHIR read Appointment/{booking.pk} for {booking.referral.booking_reference}",
            detail={"channel": "api"},
        )
        return fhir_response(_resource(booking), headers=_etag(booking))

    def put(self, request: Request, id: str) -> Response:
        booking = _booking(request.user, id)
        incoming = parse(request.data)
        if incoming.id is not None and incoming.id != id:
            raise FhirError(
                400, "invalid", f"The body's id {incoming.id!r} is not {id!r}.", expression=["Appointment.id"]
            )
        return self._apply(request, booking, incoming.model_dump(mode="json", exclude_none=True))

    def patch(self, request: Request, id: str) -> Response:
        booking = _booking(request.user, id)
        patched = json_patch(_resource(booking), request.data)
        parse(patched)
        return self._apply(request, booking, patched)

    def _apply(self, request: Request, booking: Booking, wanted: dict[str, Any]) -> Response:
        current = shapes.APPOINTMENT_STATUS[booking.status]
        status = wanted.get("status")
        if status == current:
            return fhir_response(_resource(booking), headers=_etag(booking))
        if status != "cancelled":
            raise FhirError(
                422,
                "business-rule",
                "The only change this server accepts is status 'cancelled'.",
                expression=["Appointment.status"],
            )
        reason = wanted.get("cancelationReason") or {}
        text = reason.get("text") or next(
            (c.get("display") or c.get("code") for c in reason.get("coding", [])), None
        )
        try:
            cancel(
                request.user,
                booking,
                reason=text or "Cancelled through the FHIR API",
                contact_method="api",
                now=timezone.now(),
                cancelled_by=cancelled_by(reason),
            )
        except BookingError as error:
            raise booking_error(error) from error
        booking = _booking(request.user, str(booking.pk))
        return fhir_response(_resource(booking), headers=_etag(booking))


def cancelled_by(reason: dict[str, Any]) -> str | None:
    """Who cancelled, from cancelationReason's coding in HL7's appointment-cancellation-reason code
    system: "pat" and its "pat-…" codes are the patient; any other code there (prov, maint, meds-inc,
    oth-…) the hospital. No such coding: None, and the API's default applies
    (wmin.api.bookings.default_cancelled_by: a patient's own token is the patient, else the hospital)."""
    codes = [
        str(coding.get("code") or "")
        for coding in reason.get("coding", [])
        if isinstance(coding, dict) and coding.get("system") == systems.CANCELLATION_REASON
    ]
    if not codes:
        return None
    return CancelledBy.PATIENT if any(c == "pat" or c.startswith("pat-") for c in codes) else CancelledBy.HOSPITAL


def json_patch(resource: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply a JSON Patch (RFC 6902) limited to /status and /cancelationReason."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise FhirError(
            400, "structure", "PATCH takes a JSON Patch array (Content-Type: application/json-patch+json)."
        )
    patched = copy.deepcopy(resource)
    for op in operations:
        path, action = op.get("path"), op.get("op")
        if path not in PATCHABLE_PATHS:
            raise FhirError(
                422,
                "not-supported",
                f"Only {', '.join(sorted(PATCHABLE_PATHS))} may be patched, not {path!r}.",
            )
        key = path.lstrip("/")
        if action in ("replace", "add"):
            if "value" not in op:
                raise FhirError(400, "structure", f"{action} {path} needs a value.")
            patched[key] = op["value"]
        elif action == "remove":
            patched.pop(key, None)
        elif action == "test":
            if patched.get(key) != op.get("value"):
                raise FhirError(409, "conflict", f"test {path} failed: the Appointment has changed.")
        else:
            raise FhirError(422, "not-supported", f"JSON Patch op {action!r} is not supported here.")
    return patched

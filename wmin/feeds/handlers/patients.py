"""ADT^A08 / A31: demographics changes for patients the hub already knows, matched by NHS number.

Only non-empty values overwrite (a RIS leaves fields out more often than it means to clear them).
A postcode the hub cannot read is left as it was. Patients the hub does not know are not created:
the hub keeps only patients with a referral, and those come with their order (ORM/OMI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from booking.models import Patient
from slots.geography import UnknownPostcode, outcode_of
from wmin.feeds.hl7.errors import ContentError

from . import FeedContext, Outcome, bodies

if TYPE_CHECKING:
    from wmin.feeds.hl7.model import ParsedMessage, PatientDetails


def handle(parsed: ParsedMessage, ctx: FeedContext) -> Outcome:
    notes = []
    applied = False
    for update in bodies(parsed):
        details = getattr(update, "patient", None)
        nhs = nhs_number_of(details)
        if not nhs:
            notes.append("no NHS number in PID-3: nothing to match")
            continue
        patient = Patient.objects.select_for_update().filter(nhs_number=nhs).first()
        if patient is None:
            notes.append("patient not on the hub's waiting list")
            continue
        changed = update_patient(patient, details)
        applied = applied or bool(changed)
        if not changed:
            notes.append("no change")
    return Outcome(applied, "; ".join(notes))


def nhs_number_of(details: PatientDetails | None) -> str:
    if details is None:
        return ""
    return "".join(ch for ch in str(details.nhs_number or "") if ch.isdigit())


def update_patient(patient: Patient, details: PatientDetails) -> list[str]:
    """Copy the non-empty demographics onto the patient; the names of the fields that changed."""
    values = demographics(details)
    changed = [name for name, value in values.items() if value and getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, values[name])
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    return changed


def create_patient(details: PatientDetails) -> Patient:
    nhs = nhs_number_of(details)
    if not nhs:
        raise ContentError("101", "PID-3 has no valid NHS number (^^^NHS^NH)", "PID^1^3")
    if details.date_of_birth is None:
        raise ContentError("101", "PID-7 date of birth is missing", "PID^1^7")
    values = demographics(details)
    values.setdefault("postcode", "")
    values.setdefault("outcode", "")
    return Patient.objects.create(
        nhs_number=nhs,
        given_name=values.get("given_name") or "",
        family_name=values.get("family_name") or "",
        date_of_birth=details.date_of_birth,
        sex=values.get("sex") or "",
        postcode=values["postcode"],
        outcode=values["outcode"],
        email=values.get("email") or "",
        mobile=values.get("mobile") or "",
    )


def demographics(details: PatientDetails) -> dict[str, object]:
    values: dict[str, object] = {
        "given_name": (details.given_name or "").strip()[:80],
        "family_name": (details.family_name or "").strip()[:80],
        "date_of_birth": details.date_of_birth,
        "sex": _sex(details.sex),
        "email": _email(details.email),
        "mobile": (details.phone or "").strip()[:20],
    }
    postcode = " ".join((details.postcode or "").upper().split())
    if postcode:
        try:
            outcode = outcode_of(postcode)
        except UnknownPostcode:
            outcode = ""
        if outcode and len(postcode) <= 10 and len(outcode) <= 5:
            values["postcode"] = postcode
            values["outcode"] = outcode
    return {k: v for k, v in values.items() if v}


def _sex(value: str) -> str:
    """HL7 table 0001 (F, M, O, U, A, N); NHS feeds also send the data dictionary's 1/2/9/0."""
    text = (value or "").strip().upper()[:1]
    return {"1": "M", "2": "F", "9": "U", "0": "U", "A": "O", "N": "U"}.get(text, text if text in "FMOU" else "")


def _email(value: str) -> str:
    text = (value or "").strip()
    return text if "@" in text and len(text) <= 254 and " " not in text else ""

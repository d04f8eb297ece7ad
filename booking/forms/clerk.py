"""Forms a booking clerk fills in, with errors written for the clerk reading them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from booking.models import CancelledBy
from booking.worklist.contacts import ContactMethod
from booking.worklist.nhs_numbers import InvalidNhsNumber, normalise_nhs_number

__all__ = [
    "BookSlotForm",
    "CancelBookingForm",
    "ContactForm",
    "ContactMethod",
    "FillSlotForm",
    "FindPatientForm",
    "MoveSlotForm",
    "RelaxNeedForm",
]


class FindPatientForm(forms.Form):
    """Find one of this trust's patients by NHS number, booking reference, or name and date of birth."""

    nhs_number = forms.CharField(required=False, max_length=20)
    booking_reference = forms.CharField(required=False, max_length=20)
    family_name = forms.CharField(required=False, max_length=80)
    given_name = forms.CharField(required=False, max_length=80)
    dob_day = forms.CharField(required=False, max_length=2)
    dob_month = forms.CharField(required=False, max_length=2)
    dob_year = forms.CharField(required=False, max_length=4)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        nhs = (cleaned.get("nhs_number") or "").strip()
        reference = (cleaned.get("booking_reference") or "").strip().upper()
        family = (cleaned.get("family_name") or "").strip()
        dob_parts = [(cleaned.get(f) or "").strip() for f in ("dob_day", "dob_month", "dob_year")]
        cleaned["booking_reference"] = reference
        cleaned["family_name"] = family
        cleaned["given_name"] = (cleaned.get("given_name") or "").strip()
        cleaned["date_of_birth"] = None
        if nhs:
            try:
                cleaned["nhs_number"] = normalise_nhs_number(nhs)
            except InvalidNhsNumber as error:
                self.add_error("nhs_number", str(error))
            return cleaned
        if reference:
            return cleaned
        if family or any(dob_parts):
            if not family:
                self.add_error("family_name", "Enter the patient's last name as well as their date of birth")
            cleaned["date_of_birth"] = self._date_of_birth(dob_parts)
            return cleaned
        raise forms.ValidationError(
            "Enter an NHS number, a booking reference, or a last name and date of birth",
            code="empty",
        )

    @property
    def search_by(self) -> str:
        data = self.cleaned_data
        if data.get("nhs_number"):
            return "nhs_number"
        if data.get("booking_reference"):
            return "booking_reference"
        return "name_and_date_of_birth"

    def _date_of_birth(self, parts: list[str]) -> date | None:
        if not all(parts):
            self.add_error("dob_day", "Enter their date of birth, for example 27 3 1958")
            return None
        try:
            day, month, year = (int(p) for p in parts)
            born = date(year, month, day)
        except ValueError:
            self.add_error("dob_day", "Date of birth must be a real date, for example 27 3 1958")
            return None
        if year < 1900 or born > date.today():  # noqa: DTZ011 - a birth date has no time zone
            self.add_error("dob_day", "Date of birth must be in the past")
            return None
        return born


class ContactForm(forms.Form):
    """How the patient was contacted, and what they said: recorded with every clerk's change."""

    contact_method = forms.ChoiceField(
        choices=ContactMethod.choices,
        error_messages={
            "required": "Choose how you were in touch with the patient",
            "invalid_choice": "Choose how you were in touch with the patient",
        },
    )
    reason = forms.CharField(
        required=False,
        max_length=500,
        error_messages={"max_length": "The patient's reason must be 500 characters or fewer"},
    )
    reason_required = False
    reason_required_message = "Enter the patient's reason"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = self.reason_required
        self.fields["reason"].error_messages["required"] = self.reason_required_message

    def clean_reason(self) -> str:
        return " ".join((self.cleaned_data.get("reason") or "").split())


class BookSlotForm(ContactForm):
    """Book or move into one slot: each slot on the shortlist is its own submit button."""

    slot_id = forms.IntegerField(
        min_value=1,
        error_messages={"required": "Choose a slot", "invalid": "Choose a slot", "min_value": "Choose a slot"},
    )


class MoveSlotForm(BookSlotForm):
    reason_required = True
    reason_required_message = "Enter why the patient wants to move"


class FillSlotForm(ContactForm):
    """Fill a freed slot: each candidate is its own submit button."""

    referral_id = forms.IntegerField(
        min_value=1,
        error_messages={
            "required": "Choose a patient",
            "invalid": "Choose a patient",
            "min_value": "Choose a patient",
        },
    )


class RelaxNeedForm(ContactForm):
    """Drop one saved need that stands between the patient and any slot, as they agreed."""

    need = forms.ChoiceField(error_messages={
        "required": "Choose the need the patient agreed to relax",
        "invalid_choice": "That need no longer blocks a booking: choose one listed",
    })
    reason_required = True
    reason_required_message = "Enter what the patient agreed to"

    def __init__(self, *args: Any, needs: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["need"].choices = needs


WHO_CANCELS_REQUIRED = "Select who asked to cancel: the patient or the hospital"


class CancelBookingForm(ContactForm):
    """Who asked to cancel is required: only the patient's own cancellation restarts their DM01 clock."""

    cancelled_by = forms.ChoiceField(
        choices=CancelledBy.choices,
        error_messages={"required": WHO_CANCELS_REQUIRED, "invalid_choice": WHO_CANCELS_REQUIRED},
    )
    reason_required = True
    reason_required_message = "Enter why the appointment is being cancelled"
    field_order = ["cancelled_by", "contact_method", "reason"]

"""Sign-in forms: the fields, checked, with errors written for the person reading them.
Whether the details are right is `accounts.sign_in`'s question, not the form's."""

from __future__ import annotations

from datetime import date

from django import forms

from .backends import normalise_reference

REFERENCE_MAX_LENGTH = 20


class StaffSignInForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        error_messages={
            "required": "Enter your username",
            "max_length": "Username must be 150 characters or fewer",
        },
    )
    password = forms.CharField(
        widget=forms.PasswordInput,
        max_length=4096,
        error_messages={"required": "Enter your password", "max_length": "Password must be 4096 characters or fewer"},
    )


class PatientSignInForm(forms.Form):
    booking_reference = forms.CharField(
        error_messages={"required": "Enter the booking reference from your referral letter"},
    )
    dob_day = forms.IntegerField(required=False)
    dob_month = forms.IntegerField(required=False)
    dob_year = forms.IntegerField(required=False)
    postcode = forms.CharField(
        max_length=10, required=False, error_messages={"max_length": "Postcode must be 10 characters or fewer"}
    )
    one_time_code = forms.CharField(max_length=20, required=False)

    def __init__(
        self, *args: object, postcode_needed: bool = False, code_needed: bool = False, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.postcode_needed = postcode_needed
        self.code_needed = code_needed
        self.date_of_birth: date | None = None

    def clean_booking_reference(self) -> str:
        reference = normalise_reference(self.cleaned_data["booking_reference"])
        if len(reference) > REFERENCE_MAX_LENGTH:
            raise forms.ValidationError(
                "Booking reference must be 20 characters or fewer. Check it against your referral letter"
            )
        return reference

    def clean_postcode(self) -> str:
        postcode = self.cleaned_data.get("postcode", "").strip()
        if self.postcode_needed and not postcode:
            raise forms.ValidationError("Enter your postcode as well")
        return postcode

    def clean_one_time_code(self) -> str:
        code = "".join(self.cleaned_data.get("one_time_code", "").split())
        if self.code_needed and not code:
            raise forms.ValidationError("Enter the 6-digit code we sent you")
        if code and not (len(code) == 6 and code.isdigit()):
            raise forms.ValidationError("The code must be 6 numbers, for example 042913")
        return code

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        day, month, year = cleaned.get("dob_day"), cleaned.get("dob_month"), cleaned.get("dob_year")
        if day is None or month is None or year is None:
            self.add_error("dob_day", "Enter your date of birth, for example 27 3 1958")
            return cleaned
        try:
            date_of_birth = date(year, month, day)
        except (ValueError, OverflowError):
            self.add_error("dob_day", "Date of birth must be a real date, for example 27 3 1958")
            return cleaned
        if date_of_birth > date.today() or year < 1900:  # noqa: DTZ011 - a birth date has no time zone
            self.add_error("dob_day", "Date of birth must be in the past")
            return cleaned
        self.date_of_birth = date_of_birth
        return cleaned

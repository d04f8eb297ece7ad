"""Sign-in forms, with errors written for the person reading them."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest

from .models import User


class StaffSignInForm(forms.Form):
    username = forms.CharField(max_length=150, error_messages={"required": "Enter your username"})
    password = forms.CharField(
        widget=forms.PasswordInput, error_messages={"required": "Enter your password"}
    )

    def __init__(self, request: HttpRequest, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user: User | None = None

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        user = authenticate(self.request, username=cleaned["username"], password=cleaned["password"])
        if user is None or user.role == "patient":
            raise forms.ValidationError("The username or password is not right. Check them and try again.")
        self.user = user
        return cleaned


class PatientSignInForm(forms.Form):
    booking_reference = forms.CharField(
        max_length=20,
        error_messages={"required": "Enter the booking reference from your referral letter"},
    )
    dob_day = forms.IntegerField(required=False)
    dob_month = forms.IntegerField(required=False)
    dob_year = forms.IntegerField(required=False)
    postcode = forms.CharField(max_length=10, required=False)

    def __init__(self, request: HttpRequest, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user: User | None = None

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        day, month, year = cleaned.get("dob_day"), cleaned.get("dob_month"), cleaned.get("dob_year")
        if day is None or month is None or year is None:
            self.add_error("dob_day", "Enter your date of birth, for example 27 3 1958")
            return cleaned
        try:
            date_of_birth = date(year, month, day)
        except ValueError:
            self.add_error("dob_day", "Date of birth must be a real date, for example 27 3 1958")
            return cleaned
        if date_of_birth > date.today() or year < 1900:  # noqa: DTZ011 - a birth date has no time zone
            self.add_error("dob_day", "Date of birth must be in the past")
            return cleaned
        if self.errors:
            return cleaned
        user = authenticate(
            self.request,
            booking_reference=cleaned["booking_reference"],
            date_of_birth=date_of_birth,
            postcode=cleaned.get("postcode") or None,
        )
        if user is None:
            raise forms.ValidationError(
                "We could not find a referral with that booking reference and date of birth. "
                "Check both against your referral letter and try again."
            )
        self.user = user
        return cleaned

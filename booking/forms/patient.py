"""The patient's forms: choice filters, holding a slot, confirming, cancelling, short-notice offers."""

from __future__ import annotations

import re
from datetime import date, datetime

from django import forms

from booking.models import TravelMode
from booking.services.choices import TIMES_OF_DAY, ChoiceFilters
from slots.geography import UnknownPostcode, locate

MAX_TRAVEL_CHOICES = [("", "No limit"), ("5", "5 km (3 miles)"), ("10", "10 km (6 miles)"), ("15", "15 km (9 miles)"),
                      ("25", "25 km (16 miles)"), ("40", "40 km (25 miles)"), ("60", "60 km (37 miles)")]
NEEDS_CHOICES = [
    ("step_free", "Step-free access"),
    ("hearing_loop", "Hearing loop"),
    ("bariatric", "A scanner for people with a higher body weight"),
]
MAX_UNAVAILABLE_DATES = 60
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%d.%m.%Y")


def parse_dates(text: str) -> list[date]:
    """'1/12/2026, 3 December 2026' → dates. Raises ValueError naming the first it cannot read."""
    found = []
    for part in re.split(r"[,;\n]+", text):
        part = " ".join(part.split())
        if not part:
            continue
        for fmt in _DATE_FORMATS:
            try:
                found.append(datetime.strptime(part, fmt).date())  # noqa: DTZ007 - a calendar date
                break
            except ValueError:
                continue
        else:
            raise ValueError(part)
    return found


class ChoiceFiltersForm(forms.Form):
    """A GET form: it works with or without JavaScript, and an empty submission means 'no filters'."""

    filtered = forms.CharField(required=False, widget=forms.HiddenInput)
    travel_mode = forms.ChoiceField(choices=TravelMode.choices, required=False)
    time_of_day = forms.ChoiceField(choices=list(TIMES_OF_DAY.items()), required=False)
    max_travel_km = forms.ChoiceField(choices=MAX_TRAVEL_CHOICES, required=False)
    needs = forms.MultipleChoiceField(choices=NEEDS_CHOICES, required=False)
    unavailable_dates = forms.CharField(required=False, max_length=1000)
    work_postcode = forms.CharField(required=False, max_length=10)

    error_messages = {
        "travel_mode": "Select how you will travel",
        "time_of_day": "Select a time of day",
        "max_travel_km": "Select how far you can travel",
        "needs": "Select the access needs you have",
    }

    def __init__(self, data, *, saved: ChoiceFilters, today: date) -> None:
        submitted = bool(data.get("filtered")) if data else False
        super().__init__(data if submitted else None)
        self.saved = saved
        self.today = today
        for name, message in self.error_messages.items():
            self.fields[name].error_messages["invalid_choice"] = message
            self.fields[name].error_messages["invalid_list"] = message
        self.initial = self._initial_from(saved)

    @staticmethod
    def _initial_from(saved: ChoiceFilters) -> dict[str, object]:
        return {
            "travel_mode": saved.travel_mode,
            "time_of_day": saved.time_of_day,
            "max_travel_km": str(saved.max_travel_km or ""),
            "needs": [n for n, on in (("step_free", saved.needs_step_free), ("hearing_loop", saved.needs_hearing_loop),
                                      ("bariatric", saved.needs_bariatric)) if on],
            "unavailable_dates": ", ".join(d.strftime("%-d/%-m/%Y") for d in sorted(saved.unavailable_dates)),
            "work_postcode": saved.work_postcode,
        }

    def value(self, name: str) -> object:
        """What to show in a field: what was submitted, else what was saved."""
        if self.is_bound:
            return self.data.getlist(name) if name == "needs" else self.data.get(name, "")
        return self.initial.get(name, "")

    def clean_unavailable_dates(self) -> list[date]:
        text = self.cleaned_data.get("unavailable_dates", "")
        try:
            dates = parse_dates(text)
        except ValueError as exc:
            raise forms.ValidationError(
                f"Enter dates you cannot do like 1/12/2026, separated by commas. We could not read “{exc}”."
            ) from exc
        if any(d < self.today for d in dates):
            raise forms.ValidationError("Dates you cannot do must be today or in the future")
        if len(dates) > MAX_UNAVAILABLE_DATES:
            raise forms.ValidationError(f"Enter up to {MAX_UNAVAILABLE_DATES} dates you cannot do")
        return dates

    def clean_work_postcode(self) -> str:
        postcode = " ".join(self.cleaned_data.get("work_postcode", "").upper().split())
        if not postcode:
            return ""
        try:
            locate(postcode)
        except UnknownPostcode as exc:
            raise forms.ValidationError(
                f"We could not find the postcode {postcode}. Check it, or leave the box empty."
            ) from exc
        return postcode

    def filters(self) -> ChoiceFilters:
        """The filters to apply: the submitted ones if valid, otherwise what was saved."""
        if not self.is_bound or not self.is_valid():
            return self.saved
        data = self.cleaned_data
        needs = set(data["needs"])
        return ChoiceFilters(
            travel_mode=data["travel_mode"] or self.saved.travel_mode,
            time_of_day=data["time_of_day"] or "any",
            max_travel_km=int(data["max_travel_km"]) if data["max_travel_km"] else None,
            unavailable_dates=frozenset(data["unavailable_dates"]),
            needs_step_free="step_free" in needs,
            needs_hearing_loop="hearing_loop" in needs,
            needs_bariatric="bariatric" in needs,
            work_postcode=data["work_postcode"],
        )


class HoldForm(forms.Form):
    slot_id = forms.IntegerField(min_value=1, error_messages={
        "required": "Choose an appointment time", "invalid": "Choose an appointment time",
        "min_value": "Choose an appointment time"})


class ConfirmForm(forms.Form):
    reasonable_adjustments = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea,
        error_messages={"max_length": "Reasonable adjustments must be 1000 characters or fewer"},
    )
    interpreter_language = forms.CharField(
        required=False, max_length=60,
        error_messages={"max_length": "Interpreter language must be 60 characters or fewer"},
    )


CANCEL_REASONS = [
    ("no_longer_needed", "I no longer need the scan"),
    ("cannot_make_it", "I cannot make this appointment and will choose another later"),
    ("had_elsewhere", "I have had the scan somewhere else"),
    ("other", "Another reason"),
]


class CancelForm(forms.Form):
    reason = forms.ChoiceField(choices=CANCEL_REASONS, error_messages={
        "required": "Select why you are cancelling", "invalid_choice": "Select why you are cancelling"})

    @property
    def reason_text(self) -> str:
        return dict(CANCEL_REASONS)[self.cleaned_data["reason"]]


class ShortNoticeForm(forms.Form):
    short_notice_opt_in = forms.ChoiceField(choices=[("yes", "Yes"), ("no", "No")], error_messages={
        "required": "Select yes if we can offer you earlier appointments at short notice",
        "invalid_choice": "Select yes if we can offer you earlier appointments at short notice"})

    @property
    def opt_in(self) -> bool:
        return self.cleaned_data["short_notice_opt_in"] == "yes"


class OfferAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        choices=[("accept", "Yes, book this appointment"), ("decline", "No, keep waiting for another")],
        error_messages={
            "required": "Select yes if you want this appointment",
            "invalid_choice": "Select yes if you want this appointment",
        },
    )
    reason = forms.CharField(required=False, max_length=200, strip=True, error_messages={
        "max_length": "Tell us why in 200 characters or fewer"})

    @property
    def accepted(self) -> bool:
        return self.cleaned_data["answer"] == "accept"

"""Query parameters, validated: a bad value answers 400 with a message naming the parameter."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request

from booking.models import BookingStatus, OfferStatus, Priority, ReferralStatus
from slots.geography import UnknownPostcode, locate
from slots.models import ExamType, Modality
from slots.models.network import SiteKind

from .. import settings as api_settings
from ..availability import SlotCriteria
from ..nearby import Near

MAX_ID = 2**63 - 1
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


def validated(query: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The request's query parameters checked by `query`; raises ValidationError (400) otherwise."""
    params = {key: request.query_params.get(key) for key in request.query_params}
    checker = query(data=params)
    checker.is_valid(raise_exception=True)
    return dict(checker.validated_data)


class PagingQuery(serializers.Serializer):
    page = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000, help_text="From 1")
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=api_settings.MAX_PAGE_SIZE,
        help_text=f"Default {api_settings.PAGE_SIZE}, at most {api_settings.MAX_PAGE_SIZE}",
    )


class SiteQuery(PagingQuery):
    icb = serializers.CharField(required=False, max_length=8, help_text="ODS code of an ICB, e.g. QHL")
    trust = serializers.CharField(required=False, max_length=8, help_text="ODS code of a trust, e.g. RRK")
    kind = serializers.ChoiceField(required=False, choices=SiteKind.choices)
    modality = serializers.CharField(
        required=False, max_length=8, help_text="CT, MR, US, XR, DEXA, NM, MG, RF"
    )

    def validate_modality(self, value: str) -> str:
        return _modality(value.upper()).code


def _modality(code: str) -> Modality:
    modality = Modality.objects.public().filter(code=code).first()
    if modality is None:
        known = ", ".join(Modality.objects.public().values_list("code", flat=True))
        raise serializers.ValidationError(f"Unknown modality {code!r}; known: {known or 'none loaded'}.")
    return modality


class AvailabilityQuery(PagingQuery):
    modality = serializers.CharField(required=False, max_length=8, help_text="Modality code: CT, MR, US, …")
    exam = serializers.CharField(
        required=False,
        max_length=20,
        help_text="Exam code; narrows to slots long enough, after any preparation",
    )
    from_date = serializers.DateField(
        required=False, help_text="First day to search (UK date); default today"
    )
    to_date = serializers.DateField(required=False, help_text="Last day to search, inclusive")
    site = serializers.CharField(required=False, max_length=20, help_text="A site code")
    postcode = serializers.CharField(
        required=False, max_length=10, help_text="Search near this postcode's district"
    )
    max_km = serializers.FloatField(
        required=False,
        min_value=0.1,
        max_value=api_settings.MAX_KM,
        help_text=f"Straight-line distance from the postcode; default {api_settings.DEFAULT_MAX_KM:g}",
    )

    def validate_modality(self, value: str) -> Modality:
        return _modality(value.upper())

    def validate_exam(self, value: str) -> ExamType:
        exam = ExamType.objects.public().filter(code=value.upper()).first()
        if exam is None:
            raise serializers.ValidationError(f"Unknown exam code {value!r}.")
        return exam

    def validate_postcode(self, value: str) -> tuple[float, float]:
        try:
            return locate(value)
        except UnknownPostcode as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        modality, exam = attrs.get("modality"), attrs.get("exam")
        if modality is not None and exam is not None and exam.modality_id != modality.pk:
            raise serializers.ValidationError(
                {"exam": f"{exam.code} is a {exam.modality.code} exam, not {modality.code}."}
            )
        if "max_km" in attrs and "postcode" not in attrs:
            raise serializers.ValidationError({"max_km": "Give a postcode to search within a distance."})
        today = timezone.localdate()
        for name in ("from_date", "to_date"):
            if name in attrs and not EARLIEST <= attrs[name] <= LATEST:
                raise serializers.ValidationError({name: f"Search dates from {EARLIEST} to {LATEST}."})
        first, last = attrs.get("from_date") or today, attrs.get("to_date")
        if last is not None and last < first:
            raise serializers.ValidationError({"to_date": "to_date is before from_date."})
        if last is not None and (last - first).days > api_settings.MAX_SEARCH_DAYS:
            raise serializers.ValidationError(
                {"to_date": f"Search at most {api_settings.MAX_SEARCH_DAYS} days at a time."}
            )
        return attrs


def availability_criteria(params: dict[str, Any]) -> SlotCriteria:
    near = None
    if "postcode" in params:
        latitude, longitude = params["postcode"]
        near = Near(latitude, longitude, params.get("max_km", api_settings.DEFAULT_MAX_KM))
    first = params.get("from_date")
    last = params.get("to_date")
    return SlotCriteria(
        modalities=(params["modality"],) if "modality" in params else (),
        exam=params.get("exam"),
        starts_after=_local_midnight(first) if first else None,
        starts_before=_local_midnight(last + dt.timedelta(days=1)) if last else None,
        site_codes=(params["site"],) if "site" in params else (),
        near=near,
    )


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


class ReferralQuery(PagingQuery):
    status = serializers.ChoiceField(required=False, choices=ReferralStatus.choices)
    priority = serializers.ChoiceField(required=False, choices=Priority.choices)
    modality = serializers.CharField(required=False, max_length=8)
    exam = serializers.CharField(required=False, max_length=20)
    nhs_number = serializers.RegexField(r"^\d{10}$", required=False, help_text="Ten digits, no spaces")
    booking_reference = serializers.CharField(required=False, max_length=12)

    def validate_modality(self, value: str) -> str:
        return _modality(value.upper()).code


class OfferQuery(PagingQuery):
    status = serializers.ChoiceField(required=False, choices=OfferStatus.choices)
    referral = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class BookingQuery(PagingQuery):
    status = serializers.ChoiceField(required=False, choices=BookingStatus.choices)
    referral = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)

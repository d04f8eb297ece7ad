"""Referrals (the waiting list), scoped to the caller. Every read is audited."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditAction
from audit.trail import record
from booking.models import Referral

from .base import DetailView, ListView
from .filters import ReferralQuery, validated
from .serializers import ReferralSerializer

ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Referral id")


@extend_schema(tags=["referrals"], summary="The referrals you may see", parameters=[ReferralQuery])
class ReferralList(ListView):
    serializer_class = ReferralSerializer

    def get_queryset(self) -> QuerySet[Referral]:
        referrals = Referral.objects.visible_to(self.caller).order_by("clock_start", "pk")
        if getattr(self, "swagger_fake_view", False):
            return referrals
        params = validated(ReferralQuery, self.request)
        filters = {
            "status": "status",
            "priority": "priority",
            "modality": "exam_type__modality__code",
            "exam": "exam_type__code",
            "nhs_number": "patient__nhs_number",
            "booking_reference": "booking_reference",
        }
        for param, lookup in filters.items():
            if param in params:
                value = params[param]
                referrals = referrals.filter(
                    **{lookup: value.upper() if param in {"exam", "booking_reference"} else value}
                )
        return referrals

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        ids = [row["id"] for row in response.data["results"]]
        record(
            AuditAction.VIEW,
            object_type="booking.Referral",
            patient_id=request.user.patient_id if request.user.role == "patient" else None,
            summary=f"API listed {len(ids)} referrals",
            detail={"referral_ids": ids, "query": request.query_params.dict(), "channel": "api"},
        )
        return response


@extend_schema(tags=["referrals"], summary="One referral", parameters=[ID])
class ReferralDetail(DetailView):
    serializer_class = ReferralSerializer
    lookup_field = "pk"

    def get_queryset(self) -> QuerySet[Referral]:
        return Referral.objects.visible_to(self.caller)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        referral = self.get_object()
        record(
            AuditAction.VIEW,
            referral,
            patient_id=referral.patient_id,
            summary=f"API read referral {referral.booking_reference}",
            detail={"channel": "api"},
        )
        return Response(self.get_serializer(referral).data)

"""Offers made to patients: list your own (or your trust's); accept or decline one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditAction
from audit.trail import record
from booking.models import BookingChannel, Offer
from booking.services.errors import BookingError
from booking.services.offers import accept_offer, decline_offer

from .base import ApiView, ListView
from .bookings import scoped_bookings
from .filters import OfferQuery, validated
from .outcomes import CONFLICT, conflict
from .serializers import BookingSerializer, OfferResponseSerializer, OfferSerializer


@extend_schema(tags=["offers"], summary="Offers on the referrals you may see", parameters=[OfferQuery])
class OfferList(ListView):
    serializer_class = OfferSerializer

    def get_queryset(self) -> QuerySet[Offer]:
        offers = Offer.objects.visible_to(self.caller).order_by("-created_at", "-pk")
        if getattr(self, "swagger_fake_view", False):
            return offers
        params = validated(OfferQuery, self.request)
        if "status" in params:
            offers = offers.filter(status=params["status"])
        if "referral" in params:
            offers = offers.filter(referral_id=params["referral"])
        return offers

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        ids = [row["id"] for row in response.data["results"]]
        record(
            AuditAction.VIEW,
            object_type="booking.Offer",
            patient_id=request.user.patient_id if request.user.role == "patient" else None,
            summary=f"API listed {len(ids)} offers",
            detail={"offer_ids": ids, "query": request.query_params.dict(), "channel": "api"},
        )
        return response


ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Offer id")


def _offer_in_scope(request: Request, pk: int) -> Offer | None:
    return (
        Offer.objects.visible_to(request.user)
        .select_related("referral__patient", "referral__exam_type")
        .filter(pk=pk)
        .first()
    )


@extend_schema(
    tags=["offers"],
    summary="Accept an offer: book its slot",
    parameters=[ID],
    request=OfferResponseSerializer,
    responses={201: BookingSerializer, 409: CONFLICT},
)
class OfferAccept(ApiView):
    def post(self, request: Request, pk: int) -> Response:
        offer = _offer_in_scope(request, pk)
        if offer is None:
            return Response({"detail": "No such offer in your scope."}, status=status.HTTP_404_NOT_FOUND)
        OfferResponseSerializer(data=request.data).is_valid(raise_exception=True)
        try:
            booking = accept_offer(offer, actor_user=request.user, channel=BookingChannel.API, now=timezone.now())
        except BookingError as error:
            return conflict(error)
        return Response(
            BookingSerializer(scoped_bookings(request.user).get(pk=booking.pk)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(
    tags=["offers"],
    summary="Decline an offer",
    parameters=[ID],
    request=OfferResponseSerializer,
    responses={200: OfferSerializer, 409: CONFLICT},
)
class OfferDecline(ApiView):
    def post(self, request: Request, pk: int) -> Response:
        offer = _offer_in_scope(request, pk)
        if offer is None:
            return Response({"detail": "No such offer in your scope."}, status=status.HTTP_404_NOT_FOUND)
        answer = OfferResponseSerializer(data=request.data)
        answer.is_valid(raise_exception=True)
        try:
            decline_offer(
                offer, actor_user=request.user, reason=answer.validated_data["reason"], now=timezone.now()
            )
        except BookingError as error:
            return conflict(error)
        return Response(OfferSerializer(Offer.objects.visible_to(request.user).get(pk=pk)).data)

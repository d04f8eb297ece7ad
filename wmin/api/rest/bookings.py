"""Bookings: list and read (scoped, audited); book a slot for a referral; cancel.

Booking and cancelling go through booking.services.bookings, the same path as the pages.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiScope, Role
from audit.models import AuditAction
from audit.trail import record
from booking.models import Booking, Referral
from booking.services.errors import BookingError
from slots.models import Slot

from ..bookings import book, cancel
from .base import ApiView, DetailView, ListView
from .filters import BookingQuery, validated
from .outcomes import CONFLICT, conflict
from .serializers import BookingRequestSerializer, BookingSerializer, CancellationSerializer

ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Booking id")


def scoped_bookings(user: Any) -> QuerySet[Booking]:
    return Booking.objects.visible_to(user).select_related(
        "referral__patient", "referral__exam_type", "slot__site__trust", "slot__modality", "slot__scanner"
    )


@extend_schema_view(
    get=extend_schema(summary="Bookings on the referrals you may see", parameters=[BookingQuery]),
    post=extend_schema(
        summary="Book an open pool slot for a referral",
        request=BookingRequestSerializer,
        responses={201: BookingSerializer, 409: CONFLICT},
    ),
)
@extend_schema(tags=["bookings"])
class BookingList(ListView):
    change_scope = ApiScope.BOOK
    serializer_class = BookingSerializer

    def get_queryset(self) -> QuerySet[Booking]:
        bookings = scoped_bookings(self.caller).order_by("-created_at", "-pk")
        if getattr(self, "swagger_fake_view", False):
            return bookings
        params = validated(BookingQuery, self.request)
        if "status" in params:
            bookings = bookings.filter(status=params["status"])
        if "referral" in params:
            bookings = bookings.filter(referral_id=params["referral"])
        return bookings

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        ids = [row["id"] for row in response.data["results"]]
        record(
            AuditAction.VIEW,
            object_type="booking.Booking",
            patient_id=request.user.patient_id if request.user.role == Role.PATIENT else None,
            summary=f"API listed {len(ids)} bookings",
            detail={"booking_ids": ids, "query": request.query_params.dict(), "channel": "api"},
        )
        return response

    def post(self, request: Request) -> Response:
        ask = BookingRequestSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        referral = Referral.objects.visible_to(request.user).filter(pk=ask.validated_data["referral"]).first()
        if referral is None:
            raise serializers.ValidationError({"referral": ["No such referral among those you may book."]})
        slot_id = ask.validated_data["slot"]
        if not Slot.objects.pool_visible_to(request.user).filter(pk=slot_id).exists():
            raise serializers.ValidationError({"slot": ["No such slot in the network pool."]})
        try:
            booking = book(request.user, referral, slot_id, now=timezone.now())
        except BookingError as error:
            return conflict(error)
        booking = scoped_bookings(request.user).get(pk=booking.pk)
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["bookings"], summary="One booking", parameters=[ID])
class BookingDetail(DetailView):
    serializer_class = BookingSerializer

    def get_queryset(self) -> QuerySet[Booking]:
        return scoped_bookings(self.caller)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        booking = self.get_object()
        record(
            AuditAction.VIEW,
            booking,
            patient_id=booking.referral.patient_id,
            summary=f"API read booking {booking.pk} for {booking.referral.booking_reference}",
            detail={"channel": "api"},
        )
        return Response(self.get_serializer(booking).data)


@extend_schema(
    tags=["bookings"],
    summary="Cancel a booking; the slot returns to the pool",
    parameters=[ID],
    request=CancellationSerializer,
    responses={200: BookingSerializer, 409: CONFLICT},
)
class BookingCancel(ApiView):
    change_scope = ApiScope.CANCEL

    def post(self, request: Request, pk: int) -> Response:
        booking = scoped_bookings(request.user).filter(pk=pk).first()
        if booking is None:
            return Response({"detail": "No such booking in your scope."}, status=status.HTTP_404_NOT_FOUND)
        ask = CancellationSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        try:
            cancel(
                request.user,
                booking,
                reason=ask.validated_data["reason"],
                contact_method=ask.validated_data["contact_method"],
                now=timezone.now(),
                cancelled_by=ask.validated_data.get("cancelled_by"),
            )
        except BookingError as error:
            return conflict(error)
        return Response(BookingSerializer(scoped_bookings(request.user).get(pk=pk)).data)

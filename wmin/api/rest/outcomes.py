"""Booking errors as HTTP answers: each carries a message written for the person who will read it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response

from booking.services.errors import BookingError


class BookingConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Plain English, safe to show the patient")
    code = serializers.ChoiceField(
        choices=[
            "SlotUnavailable",
            "HoldExpired",
            "AlreadyBooked",
            "InvalidTransition",
            "ChangeTooLate",
            "BookingError",
        ]
    )


CONFLICT = OpenApiResponse(
    BookingConflictSerializer, description="The slot or booking cannot change that way now; `detail` says why"
)


def conflict(error: BookingError) -> Response:
    return Response({"detail": error.message, "code": type(error).__name__}, status=status.HTTP_409_CONFLICT)

"""Availability search: open pool slots by exam or modality, dates and distance from a postcode."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema

from slots.models import Slot, SlotQuerySet

from ..availability import SlotResults, pool_slots
from .base import ListView
from .filters import AvailabilityQuery, availability_criteria, validated
from .serializers import SlotSerializer


@extend_schema(
    tags=["availability"],
    summary="Search open slots in the network pool",
    description=(
        "Open, unheld future slots the trusts released to the network. With `postcode`, only sites within "
        "`max_km` (straight line from the postcode district's centre) and each slot's `distance_km`."
    ),
    parameters=[AvailabilityQuery],
)
class AvailabilityList(ListView):
    serializer_class = SlotSerializer
    results: SlotResults | None = None

    def get_queryset(self) -> SlotQuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Slot.objects.pool_visible_to(self.caller)
        params = validated(AvailabilityQuery, self.request)
        self.results = pool_slots(self.request.user, availability_criteria(params), now=timezone.now())
        return self.results.slots

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["distances_km"] = self.results.distances_km if self.results else {}
        return context

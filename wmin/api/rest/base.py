"""The few pieces every REST view shares: caller as audit actor, rate limits, pagination, scope."""

from __future__ import annotations

from rest_framework import generics, views

from accounts.models import Role, User

from ..audit import CallerIsActor
from ..permissions import SeesPatientData
from ..throttling import THROTTLES
from .pagination import Pages

# Used only while drf-spectacular inspects a view without a request: sees nothing.
NOBODY = User(username="schema-generation", role=Role.MANAGER)


class ApiView(CallerIsActor, views.APIView):
    permission_classes = [SeesPatientData]
    throttle_classes = THROTTLES


class ListView(CallerIsActor, generics.ListAPIView):
    permission_classes = [SeesPatientData]
    throttle_classes = THROTTLES
    pagination_class = Pages

    @property
    def caller(self) -> User:
        return NOBODY if getattr(self, "swagger_fake_view", False) else self.request.user


class DetailView(CallerIsActor, generics.RetrieveAPIView):
    permission_classes = [SeesPatientData]
    throttle_classes = THROTTLES

    @property
    def caller(self) -> User:
        return NOBODY if getattr(self, "swagger_fake_view", False) else self.request.user

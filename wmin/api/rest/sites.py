"""The network's sites: public, like the site directory pages."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny

from slots.models import Site

from .base import DetailView, ListView
from .filters import SiteQuery, validated
from .serializers import SiteSerializer


def _directory() -> QuerySet[Site]:
    return Site.objects.public().prefetch_related("scanners__modality").order_by("code")


@extend_schema(tags=["sites"], summary="List the network's imaging sites", parameters=[SiteQuery], auth=[])
class SiteList(ListView):
    permission_classes = [AllowAny]
    serializer_class = SiteSerializer

    def get_queryset(self) -> QuerySet[Site]:
        if getattr(self, "swagger_fake_view", False):
            return _directory().none()
        params = validated(SiteQuery, self.request)
        directory = _directory()
        if "icb" in params:
            directory = directory.filter(icb__code=params["icb"].upper())
        if "trust" in params:
            directory = directory.filter(trust__ods_code=params["trust"].upper())
        if "kind" in params:
            directory = directory.filter(kind=params["kind"])
        if "modality" in params:
            directory = directory.offering(params["modality"])
        return directory


@extend_schema(tags=["sites"], summary="One site, with its scanners and accessibility", auth=[])
class SiteDetail(DetailView):
    permission_classes = [AllowAny]
    serializer_class = SiteSerializer
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[Site]:
        return _directory()

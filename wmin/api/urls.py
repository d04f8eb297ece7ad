"""/api/: the REST API, its OpenAPI schema and its documentation."""

from __future__ import annotations

from django.urls import path, re_path, register_converter

from . import docs, errors
from .converters import ObjectId
from .rest import availability, bookings, offers, referrals, sites
from .schema import SchemaView

register_converter(ObjectId, "api_id")

app_name = "api"
urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", docs.api_docs, name="docs"),
    path("sites/", sites.SiteList.as_view(), name="sites"),
    path("sites/<str:code>/", sites.SiteDetail.as_view(), name="site"),
    path("availability/", availability.AvailabilityList.as_view(), name="availability"),
    path("referrals/", referrals.ReferralList.as_view(), name="referrals"),
    path("referrals/<api_id:pk>/", referrals.ReferralDetail.as_view(), name="referral"),
    path("offers/", offers.OfferList.as_view(), name="offers"),
    path("offers/<api_id:pk>/accept/", offers.OfferAccept.as_view(), name="offer-accept"),
    path("offers/<api_id:pk>/decline/", offers.OfferDecline.as_view(), name="offer-decline"),
    path("bookings/", bookings.BookingList.as_view(), name="bookings"),
    path("bookings/<api_id:pk>/", bookings.BookingDetail.as_view(), name="booking"),
    path("bookings/<api_id:pk>/cancel/", bookings.BookingCancel.as_view(), name="booking-cancel"),
    re_path(r"^.*$", errors.no_such_endpoint),
]

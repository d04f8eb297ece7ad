"""Distances on the ground: a bounding box to narrow in the database, then the haversine formula."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import QuerySet

from booking.rules.distance import EARTH_RADIUS_KM, great_circle_km
from slots.models import Site

KM_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    km: float


def bounding_box(near: Near) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing every point within `near.km`."""
    dlat = near.km / KM_PER_DEGREE_LATITUDE
    cos_lat = max(math.cos(math.radians(near.latitude)), 1e-6)
    dlon = min(180.0, near.km / (KM_PER_DEGREE_LATITUDE * cos_lat))
    return near.latitude - dlat, near.latitude + dlat, near.longitude - dlon, near.longitude + dlon


def sites_within(sites: QuerySet[Site], near: Near) -> dict[int, float]:
    """Site id -> distance in km, for the sites within `near.km` of the point."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(near)
    candidates = sites.filter(latitude__range=(min_lat, max_lat), longitude__range=(min_lon, max_lon))
    distances = {}
    for pk, lat, lon in candidates.values_list("pk", "latitude", "longitude"):
        km = great_circle_km(near.latitude, near.longitude, lat, lon)
        if km <= near.km:
            distances[pk] = round(km, 1)
    return distances

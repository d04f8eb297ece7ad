"""Distances on the ground: a bounding box to narrow in the database, then the haversine formula."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import QuerySet

from slots.models import Site

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    km: float


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = math.radians(lat2 - lat1)
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


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
        km = haversine_km(near.latitude, near.longitude, lat, lon)
        if km <= near.km:
            distances[pk] = round(km, 1)
    return distances

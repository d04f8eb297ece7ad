"""Distances for the simulator: the product's own rule (`booking.rules.distance`), so that the
simulation and the live optimiser estimate travel the same way."""

from __future__ import annotations

from booking.rules.distance import EARTH_RADIUS_KM, ROAD_DETOUR_FACTOR, FloatArray, great_circle_km
from booking.rules.distance import road_km_between as road_km

__all__ = ["EARTH_RADIUS_KM", "ROAD_DETOUR_FACTOR", "FloatArray", "great_circle_km", "road_km"]

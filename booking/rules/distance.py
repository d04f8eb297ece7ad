"""Distance between two places: the great-circle distance, stretched by a road detour factor.

We have no routing engine. A factor of 1.3 is the usual ratio of road to straight-line distance in
English towns and their surroundings; it is good enough to rank sites a few kilometres apart.
Every function takes floats or broadcastable numpy arrays of degrees.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_KM = 6371.0088
ROAD_DETOUR_FACTOR = 1.3

FloatArray = npt.NDArray[np.float64]


def great_circle_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> float | FloatArray:
    """Haversine distance in km."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    half_dlat = (lat2 - lat1) / 2.0
    half_dlon = (lon2 - lon1) / 2.0
    a = np.sin(half_dlat) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(half_dlon) ** 2
    km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(km) if np.ndim(km) == 0 else km


def road_km(great_circle: float | FloatArray) -> float | FloatArray:
    return great_circle * ROAD_DETOUR_FACTOR


def road_km_between(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> float | FloatArray:
    return road_km(great_circle_km(lat1, lon1, lat2, lon2))


def great_circle_limit(max_road_km: float | FloatArray) -> float | FloatArray:
    """The great-circle radius that corresponds to a road-distance bound."""
    return max_road_km / ROAD_DETOUR_FACTOR

"""Travel distance and time from a patient's postcode district to a site.

We have no routing engine: distance is `booking.rules.distance` (great-circle, stretched by a road
detour factor), and time is that distance at an effective door-to-door speed plus a fixed overhead for the
mode (parking, waiting for a bus, the transport window). The assumptions are deliberately simple,
stated here, and good enough to rank sites a few kilometres apart; they are not a journey planner.

Mode        effective speed  fixed overhead  why
car         35 km/h          5 min           urban/suburban driving; parking at the site
public      18 km/h          12 min          bus/train average incl. changes; walk and wait
walking     4.8 km/h         0 min           average adult pace
hospital    35 km/h          35 min          as car, plus ~30 min for the shared-vehicle window
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from booking.rules.distance import (  # noqa: F401  (the optimiser's travel vocabulary)
    EARTH_RADIUS_KM,
    ROAD_DETOUR_FACTOR,
    great_circle_km,
    great_circle_limit,
    road_km,
)

LatLon = tuple[float, float]
FloatArray = npt.NDArray[np.float64]


class TravelMode(StrEnum):
    CAR = "car"
    PUBLIC_TRANSPORT = "public_transport"
    WALKING = "walking"
    HOSPITAL_TRANSPORT = "hospital_transport"

    @property
    def label(self) -> str:
        return _LABELS[self]


@dataclass(frozen=True)
class ModeProfile:
    speed_kmh: float
    overhead_minutes: float


MODE_PROFILES: dict[TravelMode, ModeProfile] = {
    TravelMode.CAR: ModeProfile(speed_kmh=35.0, overhead_minutes=5.0),
    TravelMode.PUBLIC_TRANSPORT: ModeProfile(speed_kmh=18.0, overhead_minutes=12.0),
    TravelMode.WALKING: ModeProfile(speed_kmh=4.8, overhead_minutes=0.0),
    TravelMode.HOSPITAL_TRANSPORT: ModeProfile(speed_kmh=35.0, overhead_minutes=35.0),
}

_LABELS = {
    TravelMode.CAR: "by car",
    TravelMode.PUBLIC_TRANSPORT: "by public transport",
    TravelMode.WALKING: "on foot",
    TravelMode.HOSPITAL_TRANSPORT: "by hospital transport",
}


@dataclass(frozen=True)
class TravelEstimate:
    km: float
    minutes: float


@dataclass(frozen=True)
class TravelEstimates:
    """Estimates from one origin to many destinations, as parallel arrays."""

    km: FloatArray
    minutes: FloatArray


def travel_minutes(road_distance_km: float | FloatArray, mode: TravelMode) -> float | FloatArray:
    profile = MODE_PROFILES[TravelMode(mode)]
    return road_distance_km / profile.speed_kmh * 60.0 + profile.overhead_minutes


def estimate(origin: LatLon, dest: LatLon, mode: TravelMode) -> TravelEstimate:
    km = road_km(great_circle_km(origin[0], origin[1], dest[0], dest[1]))
    return TravelEstimate(km=float(km), minutes=float(travel_minutes(km, mode)))


def estimate_many(
    origin: LatLon, dest_lat: npt.ArrayLike, dest_lon: npt.ArrayLike, mode: TravelMode
) -> TravelEstimates:
    km = np.atleast_1d(road_km(great_circle_km(origin[0], origin[1], dest_lat, dest_lon)))
    return TravelEstimates(km=km, minutes=travel_minutes(km, mode))

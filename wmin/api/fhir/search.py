"""FHIR search parameters: date prefixes, tokens, references, `near`, paging and strict handling.

Unknown parameters are ignored and reported in the Bundle (FHIR's lenient default), unless the
client sends `Prefer: handling=strict`, when they are a 400.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from rest_framework.request import Request

from .. import settings as api_settings
from ..nearby import Near
from .outcome import FhirError

PAGING = {"_count", "_page", "_format"}
DEFAULT_COUNT = 50
MAX_COUNT = 100
MAX_PAGE = 100_000
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(
    r"^(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
KM_PER_UNIT = {"km": 1.0, "m": 0.001, "mi": 1.609344, "[mi_us]": 1.609347}


def invalid(param: str, message: str) -> FhirError:
    return FhirError(400, "invalid", f"Search parameter {param}: {message}", expression=[param])


@dataclass
class SearchParams:
    """The request's query string, read once: values per name, the names we have used, and paging."""

    request: Request
    used: set[str] = field(default_factory=set)

    def values(self, name: str) -> list[str]:
        self.used.add(name)
        return [value for value in self.request.query_params.getlist(name) if value != ""]

    def one(self, name: str) -> str | None:
        values = self.values(name)
        if len(values) > 1:
            raise invalid(name, "give it once")
        return values[0] if values else None

    @property
    def strict(self) -> bool:
        prefer = self.request.META.get("HTTP_PREFER", "")
        return "handling=strict" in prefer.replace(" ", "")

    def unknown(self) -> list[str]:
        return sorted(set(self.request.query_params) - self.used - PAGING)

    def check_unknown(self) -> list[str]:
        """Raise (strict) or return the parameters we did not use, for the Bundle's outcome entry."""
        ignored = self.unknown()
        if ignored and self.strict:
            raise FhirError(
                400,
                "not-supported",
                f"Unsupported search parameter(s): {', '.join(ignored)}",
                expression=ignored,
            )
        return ignored

    def count(self) -> int:
        return bounded_int(self.request.query_params.get("_count"), "_count", DEFAULT_COUNT, 1, MAX_COUNT)

    def page(self) -> int:
        return bounded_int(self.request.query_params.get("_page"), "_page", 1, 1, MAX_PAGE)


def bounded_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    # isdecimal() alone would pass '²' or Arabic-Indic digits, which int() then refuses or reads.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not low <= int(raw) <= high:
        raise invalid(name, f"must be a whole number from {low} to {high}")
    return int(raw)


def date_range(raw: str, param: str) -> tuple[str, dt.datetime, dt.datetime]:
    """'ge2026-12-01' -> ('ge', start of that day, start of the next), in UK time unless a zone is given."""
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    value = raw[2:] if raw[:2] in PREFIXES else raw
    match = _DATE.match(value.replace(" ", "+"))
    if match is None:
        raise invalid(param, f"{raw!r} is not a FHIR date or dateTime (e.g. ge2026-12-01)")
    parts = match.groupdict()
    if parts["hour"] is not None and parts["tz"] is None:
        raise invalid(param, f"{raw!r}: a time needs a zone (Z or ±hh:mm)")
    try:
        year, month, day = int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1)
        if not 1900 <= year <= 2200:
            raise ValueError("the year must be from 1900 to 2200")
        hour, minute, second = int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0)
        if parts["tz"] is None:
            zone: dt.tzinfo = timezone.get_default_timezone()
        elif parts["tz"] == "Z":
            zone = dt.UTC
        else:
            sign = 1 if parts["tz"][0] == "+" else -1
            zone = dt.timezone(
                sign * dt.timedelta(hours=int(parts["tz"][1:3]), minutes=int(parts["tz"][4:6]))
            )
        low = dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)
        if parts["second"] is not None:
            high = low + dt.timedelta(seconds=1)
        elif parts["minute"] is not None:
            high = low + dt.timedelta(minutes=1)
        elif parts["day"] is not None:
            high = low + dt.timedelta(days=1)
        elif parts["month"] is not None:
            high = low.replace(year=year + month // 12, month=month % 12 + 1)
        else:
            high = low.replace(year=year + 1)
    except (ValueError, OverflowError) as exc:
        raise invalid(param, f"{raw!r} is not a date we can search ({exc})") from exc
    if parts["tz"] is None:  # a wall-clock range: pin both ends to the zone properly (DST)
        low = timezone.make_aware(low.replace(tzinfo=None), zone)
        high = timezone.make_aware(high.replace(tzinfo=None), zone)
    return prefix, low, high


def date_filter(field_name: str, raw: str, param: str) -> Q:
    prefix, low, high = date_range(raw, param)
    ge, lt = f"{field_name}__gte", f"{field_name}__lt"
    match prefix:
        case "ge":
            return Q(**{ge: low})
        case "gt" | "sa":
            return Q(**{ge: high})
        case "le":
            return Q(**{lt: high})
        case "lt" | "eb":
            return Q(**{lt: low})
        case "ne":
            return ~Q(**{ge: low, lt: high})
        case _:  # eq, ap
            return Q(**{ge: low, lt: high})


def tokens(raw_values: list[str]) -> list[list[tuple[str | None, str]]]:
    """Each value (ANDed) is a comma-separated OR-list of [system|]code."""
    parsed = []
    for raw in raw_values:
        alternatives = []
        for part in raw.split(","):
            system, bar, code = part.rpartition("|")
            alternatives.append((system if bar else None, code))
        parsed.append(alternatives)
    return parsed


def reference_id(raw: str, resource_type: str, param: str) -> str:
    """'Schedule/RRK15-MR', a full URL ending so, or a bare id -> 'RRK15-MR'."""
    value = raw.rstrip("/")
    if "/" in value:
        kind, _, ident = value.rpartition("/")
        if kind.rsplit("/", 1)[-1] != resource_type:
            raise invalid(param, f"expected a {resource_type} reference, not {raw!r}")
        value = ident
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,64}", value):
        raise invalid(param, f"{raw!r} is not a {resource_type} id")
    return value


def near(raw: str, param: str) -> Near:
    """'52.48|-1.89|10|km' (distance and units optional: 10 km by default)."""
    parts = raw.split("|")
    if len(parts) < 2 or len(parts) > 4:
        raise invalid(param, "use latitude|longitude|distance|units, e.g. 52.48|-1.89|10|km")
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else 10.0
    except ValueError as exc:
        raise invalid(param, f"{raw!r} has a value that is not a number") from exc
    units = parts[3] if len(parts) == 4 and parts[3] else "km"
    if units not in KM_PER_UNIT:
        raise invalid(param, f"unknown units {units!r}; use km, m, mi or [mi_us]")
    km = distance * KM_PER_UNIT[units]
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise invalid(param, "latitude must be -90 to 90 and longitude -180 to 180")
    if not 0 < km <= api_settings.MAX_KM:
        raise invalid(param, f"distance must be more than 0 and at most {api_settings.MAX_KM:g} km")
    return Near(latitude, longitude, km)


def include_set(params: SearchParams) -> set[str]:
    return set(params.values("_include")) | set(params.values("_include:iterate"))

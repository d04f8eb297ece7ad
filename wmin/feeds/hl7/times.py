"""HL7 DTM/DT values → timezone-aware UTC datetimes and dates.

``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``. Without an offset a time is local to the network,
Europe/London (GMT/BST), and is converted to UTC. Durations with their units become minutes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

NETWORK_ZONE = ZoneInfo("Europe/London")

_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,4}))?)?([+-]\d{4})?$")


class InvalidTime(ValueError):
    """Not an HL7 DTM/DT value."""


def parse_dtm(value: str) -> datetime | None:
    """An HL7 DTM as an aware UTC datetime; None for an empty value. Raises InvalidTime."""
    text = value.strip()
    if not text:
        return None
    match = _DTM.match(text)
    if match is None:
        raise InvalidTime(f"{value!r} is not an HL7 date/time")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    microsecond = int((fraction or "0").ljust(6, "0")) if fraction else 0
    zone = _offset_zone(offset) if offset else NETWORK_ZONE
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            microsecond,
            tzinfo=zone,
        )
    except ValueError as exc:
        raise InvalidTime(f"{value!r} is not an HL7 date/time: {exc}") from exc
    return moment.astimezone(UTC)


def parse_dtm_or_none(value: str) -> datetime | None:
    """Like parse_dtm, but None instead of an error (for fields the hub only shows)."""
    try:
        return parse_dtm(value)
    except InvalidTime:
        return None


def parse_date(value: str) -> date | None:
    """The calendar date an HL7 DT/DTM names, as written (no zone shift); None when empty."""
    text = value.strip()
    if not text:
        return None
    match = _DTM.match(text)
    if match is None:
        raise InvalidTime(f"{value!r} is not an HL7 date")
    year, month, day = match.group(1), match.group(2), match.group(3)
    if month is None or day is None:
        raise InvalidTime(f"{value!r} is not a full date")
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise InvalidTime(f"{value!r} is not an HL7 date: {exc}") from exc


def _offset_zone(offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[3:5])
    if hours > 14 or minutes > 59:
        raise InvalidTime(f"{offset!r} is not a UTC offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def format_dtm(moment: datetime) -> str:
    """An aware datetime as an HL7 DTM in UTC with an explicit offset: ``YYYYMMDDHHMMSS+0000``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not allowed")
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def format_local_dtm(moment: datetime) -> str:
    """An aware datetime as an HL7 DTM in Europe/London with its offset: ``YYYYMMDDHHMMSS+0100``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not allowed")
    return moment.astimezone(NETWORK_ZONE).strftime("%Y%m%d%H%M%S%z")


_UNIT_MINUTES = {
    "S": 1 / 60,
    "SEC": 1 / 60,
    "SECS": 1 / 60,
    "SECOND": 1 / 60,
    "SECONDS": 1 / 60,
    "M": 1,
    "MIN": 1,
    "MINS": 1,
    "MINUTE": 1,
    "MINUTES": 1,
    "H": 60,
    "HR": 60,
    "HRS": 60,
    "HOUR": 60,
    "HOURS": 60,
    "D": 1440,
    "DAY": 1440,
    "DAYS": 1440,
}

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")
_TQ_DURATION = re.compile(r"^\s*([SMHD])(\d+(?:\.\d*)?)\s*$", re.IGNORECASE)


def duration_minutes(quantity: str, units: str = "") -> int | None:
    """Minutes from a quantity and its units (s, min, hours…; minutes when absent or unknown).

    Raises ValueError when the quantity is not a number. Also reads ``"2 hours"`` and TQ-style ``"M30"``.
    """
    text = quantity.strip()
    if not text:
        return None
    match = _NUMBER.match(text)
    if match is not None:
        number, inline_units = float(match.group(1)), match.group(2)
    else:
        tq = _TQ_DURATION.match(text)
        if tq is None:
            raise ValueError(f"{quantity!r} is not a duration")
        inline_units, number = tq.group(1), float(tq.group(2))
    unit = (units or inline_units).strip().upper()
    factor = _UNIT_MINUTES.get(unit, 1)
    return round(number * factor)

"""Postcode-district centroids for the whole of Great Britain, shipped in fixtures/geography.

Any English postcode gets a location to the precision of its district (the outward code).
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

from django.conf import settings

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})?$")


class UnknownPostcode(ValueError):
    pass


def outcode_of(postcode: str) -> str:
    """The outward code (district) of a full or partial postcode: 'b15 2tg' -> 'B15'."""
    cleaned = " ".join(postcode.upper().replace("(DISTRICT ONLY)", "").split())
    match = _POSTCODE.match(cleaned)
    if match is None:
        compact = cleaned.replace(" ", "")
        if len(compact) >= 5:
            return compact[:-3]
        raise UnknownPostcode(f"{postcode!r} is not a postcode")
    return match.group(1)


def is_valid_postcode(postcode: str) -> bool:
    cleaned = " ".join(postcode.upper().split())
    match = _POSTCODE.match(cleaned)
    return bool(match and match.group(2)) and match.group(1) in centroids()


@cache
def centroids(path: Path | None = None) -> dict[str, tuple[float, float]]:
    source = path or Path(settings.FIXTURES_DIR) / "geography" / "uk_outcodes.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        return {row["outcode"]: (float(row["latitude"]), float(row["longitude"])) for row in csv.DictReader(handle)}


def locate(postcode: str) -> tuple[float, float]:
    """Latitude and longitude of the postcode's district centroid."""
    outcode = outcode_of(postcode)
    try:
        return centroids()[outcode]
    except KeyError as exc:
        raise UnknownPostcode(f"We do not know where the postcode district {outcode} is") from exc

"""Which services the network offers: one per (site, modality) a site has a scanner for.

Queries for the FHIR directory views, kept out of the views. Sites and services are public.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from slots.models import Modality, Scanner, Site

from . import systems
from .search import tokens

Pair = tuple[Site, Modality]


def modality_ids_matching(alternatives: list[tuple[str | None, str]]) -> set[int]:
    """Modalities named by any of the [system|]code tokens: our code, a DICOM code or SNOMED CT."""
    found: set[int] = set()
    for modality in Modality.objects.public():
        codes = {
            systems.WMIN_MODALITY: {modality.code.upper()},
            systems.DICOM: {code.upper() for code in (modality.dicom_code or "").split()},
            systems.SNOMED: {systems.SNOMED_BY_MODALITY[modality.code][0]}
            if modality.code in systems.SNOMED_BY_MODALITY
            else set(),
        }
        for system, code in alternatives:
            pools = (
                [codes[system]] if system in codes else (list(codes.values()) if system in (None, "") else [])
            )
            if any(code.upper() in pool for pool in pools):
                found.add(modality.pk)
    return found


def service_type_filter(raw_values: list[str], field: str = "modality_id") -> Q:
    query = Q()
    for alternatives in tokens(raw_values):
        query &= Q(**{f"{field}__in": modality_ids_matching(alternatives)})
    return query


def site(code: str) -> Site | None:
    return Site.objects.public().filter(code=code).first()


def pair(service_id: str) -> Pair | None:
    """The (site, modality) behind a HealthcareService or Schedule id, if the site offers it."""
    site_code, _, modality_code = service_id.rpartition("-")
    if not site_code:
        return None
    scanner = Scanner.objects.public().filter(site__code=site_code, modality__code=modality_code).first()
    return (scanner.site, scanner.modality) if scanner else None


def pairs(scanner_filter: Q = Q()) -> list[Pair]:  # noqa: B008
    unique: dict[tuple[int, int], Pair] = {}
    for scanner in Scanner.objects.public().filter(scanner_filter).order_by("site__code", "modality__code"):
        unique.setdefault((scanner.site_id, scanner.modality_id), (scanner.site, scanner.modality))
    return list(unique.values())


def pairs_for_slots(rows: Iterable[object]) -> list[Pair]:
    unique: dict[tuple[int, int], Pair] = {}
    for row in rows:
        unique.setdefault((row.site_id, row.modality_id), (row.site, row.modality))  # type: ignore[attr-defined]
    return list(unique.values())

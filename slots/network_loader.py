"""Loads the network's reference data (ICBs, trusts, sites, scanners, catalogue) from fixtures/.

All or nothing: the load runs in one transaction, and a bad row stops it with the file, row
number and reason, leaving the database as it was.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from django.db import transaction

from .geography import outcode_of
from .models import ICB, ExamType, Modality, Scanner, Site, Trust
from .models.catalogue import AgeGroup
from .models.network import LocationPrecision, SiteKind

MODALITY_COLUMNS = {"ct": "CT", "mri": "MR", "us": "US", "xray": "XR", "dexa": "DEXA", "nm": "NM", "mammo": "MG", "fluoro": "RF"}
SCANNER_NAMES = {"CT": "CT", "MR": "MRI", "US": "Ultrasound room", "XR": "X-ray room", "DEXA": "DEXA",
                 "NM": "Gamma camera", "MG": "Mammography", "RF": "Fluoroscopy room"}


class NetworkDataError(Exception):
    """A row that cannot be loaded: says which file, which row and why."""

    def __init__(self, path: Path, row_number: int, reason: str) -> None:
        self.path, self.row_number, self.reason = path, row_number, reason
        super().__init__(f"{path.name} row {row_number}: {reason}")


@dataclass(frozen=True)
class LoadSummary:
    icbs: int
    trusts: int
    sites: int
    hospitals: int
    cdcs: int
    scanners: int
    modalities: int
    exam_types: int


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        # Row 1 is the header, so the first data row is row 2, as a spreadsheet shows it.
        return [(number, {k: (v or "").strip() for k, v in row.items()}) for number, row in enumerate(csv.DictReader(handle), start=2)]


def _yes(value: str, path: Path, row: int, column: str) -> bool:
    lowered = value.lower()
    if lowered in {"yes", "y", "true", "1"}:
        return True
    if lowered in {"no", "n", "false", "0", ""}:
        return False
    raise NetworkDataError(path, row, f"{column} must be yes or no, not {value!r}")


def _float(value: str, path: Path, row: int, column: str) -> float:
    if not value:
        raise NetworkDataError(path, row, f"{column} is missing")
    try:
        return float(value)
    except ValueError as exc:
        raise NetworkDataError(path, row, f"{column} must be a number, not {value!r}") from exc


def _int(value: str, path: Path, row: int, column: str) -> int:
    try:
        return int(value or 0)
    except ValueError as exc:
        raise NetworkDataError(path, row, f"{column} must be a whole number, not {value!r}") from exc


def _time(value: str, path: Path, row: int, column: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise NetworkDataError(path, row, f"{column} must be a time like 08:00, not {value!r}") from exc


def load_network(fixtures_dir: Path) -> LoadSummary:
    network, catalogue = fixtures_dir / "network", fixtures_dir / "catalogue"
    with transaction.atomic():
        modalities = _load_modalities(catalogue / "modalities.csv", catalogue / "modality_mix.csv")
        exam_count = _load_exam_types(catalogue / "exam_types.csv", modalities)
        icbs = _load_icbs(network / "icbs.csv")
        trusts = _load_trusts(network / "trusts.csv", icbs)
        sites, scanners = _load_sites(network / "sites.csv", trusts, icbs, modalities)
    return LoadSummary(
        icbs=len(icbs),
        trusts=len(trusts),
        sites=len(sites),
        hospitals=sum(1 for s in sites if s.kind == SiteKind.HOSPITAL),
        cdcs=sum(1 for s in sites if s.kind == SiteKind.CDC),
        scanners=scanners,
        modalities=len(modalities),
        exam_types=exam_count,
    )


def _load_modalities(path: Path, mix_path: Path) -> dict[str, Modality]:
    booked = {row["modality"]: row.get("booked_via_waiting_list", "yes") for _, row in _rows(mix_path)} if mix_path.exists() else {}
    modalities = {}
    for number, row in _rows(path):
        if not row.get("code"):
            raise NetworkDataError(path, number, "code is missing")
        modalities[row["code"]], _ = Modality.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "dicom_code": row.get("dicom_code", ""),
                "booked_from_waiting_list": _yes(booked.get(row["code"], "yes"), mix_path, number, "booked_via_waiting_list"),
            },
        )
    return modalities


def _load_exam_types(path: Path, modalities: dict[str, Modality]) -> int:
    count = 0
    for number, row in _rows(path):
        modality = modalities.get(row["modality"])
        if modality is None:
            raise NetworkDataError(path, number, f"unknown modality {row['modality']!r}")
        age_group = row.get("paediatric") or AgeGroup.ANY
        if age_group not in AgeGroup.values:
            raise NetworkDataError(path, number, f"paediatric must be one of {', '.join(AgeGroup.values)}")
        ExamType.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "modality": modality,
                "duration_minutes": _int(row["duration_minutes"], path, number, "duration_minutes"),
                "preparation_lead_days": _int(row.get("prep_lead_days", "0"), path, number, "prep_lead_days"),
                "fasting_hours": _int(row.get("fasting_hours", "0"), path, number, "fasting_hours"),
                "requires_contrast": _yes(row.get("requires_contrast", ""), path, number, "requires_contrast"),
                "mri_safety_check": _yes(row.get("mri_safety_check", ""), path, number, "mri_safety_check"),
                "age_group": age_group,
                "share_of_modality": _float(row.get("share_of_modality") or "0", path, number, "share_of_modality"),
                "preparation": row.get("preparation", ""),
                "dm01_test": row.get("dm01_test", ""),
            },
        )
        count += 1
    return count


def _load_icbs(path: Path) -> dict[str, ICB]:
    icbs = {}
    for number, row in _rows(path):
        if not row.get("code") or not row.get("name"):
            raise NetworkDataError(path, number, "code and name are required")
        icbs[row["code"]], _ = ICB.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})
    return icbs


def _load_trusts(path: Path, icbs: dict[str, ICB]) -> dict[str, Trust]:
    trusts = {}
    for number, row in _rows(path):
        icb = icbs.get(row["icb_code"])
        if icb is None:
            raise NetworkDataError(path, number, f"unknown ICB {row['icb_code']!r}")
        trusts[row["ods_code"]], _ = Trust.objects.update_or_create(
            ods_code=row["ods_code"],
            defaults={
                "name": row["name"],
                "short_name": row["short_name"],
                "icb": icb,
                "annual_activity": _int(row.get("activity_2022_23", "0"), path, number, "activity_2022_23"),
                "accepts_srm": _yes(row.get("accepts_srm", "yes"), path, number, "accepts_srm"),
            },
        )
    return trusts


def _load_sites(
    path: Path, trusts: dict[str, Trust], icbs: dict[str, ICB], modalities: dict[str, Modality]
) -> tuple[list[Site], int]:
    sites, scanner_count, seen = [], 0, set()
    for number, row in _rows(path):
        code = row.get("site_code", "")
        if not code:
            raise NetworkDataError(path, number, "site_code is missing")
        if code in seen:
            raise NetworkDataError(path, number, f"site_code {code} appears twice")
        seen.add(code)
        trust = trusts.get(row.get("trust_ods", ""))
        if trust is None:
            raise NetworkDataError(path, number, f"unknown trust {row.get('trust_ods')!r}")
        icb = icbs.get(row.get("icb_code", ""))
        if icb is None:
            raise NetworkDataError(path, number, f"unknown ICB {row.get('icb_code')!r}")
        latitude = _float(row.get("latitude", ""), path, number, "latitude")
        longitude = _float(row.get("longitude", ""), path, number, "longitude")
        if not (49.8 <= latitude <= 55.9 and -6.5 <= longitude <= 2.0):
            raise NetworkDataError(path, number, f"coordinates {latitude}, {longitude} are outside England")
        if row.get("kind") not in SiteKind.values:
            raise NetworkDataError(path, number, f"kind must be hospital or cdc, not {row.get('kind')!r}")
        precision = row.get("location_precision") or LocationPrecision.UNIT_POSTCODE
        if precision not in LocationPrecision.values:
            raise NetworkDataError(path, number, f"unknown location_precision {precision!r}")
        outcode = row.get("outcode") or outcode_of(row.get("postcode", ""))
        min_age = _int(row.get("min_age") or "0", path, number, "min_age")
        max_age = _int(row["max_age"], path, number, "max_age") if row.get("max_age") else None
        if max_age is not None and max_age < min_age:
            raise NetworkDataError(path, number, f"max_age {max_age} is below min_age {min_age}")
        site, _ = Site.objects.update_or_create(
            code=code,
            defaults={
                "name": row["name"],
                "trust": trust,
                "icb": icb,
                "kind": row["kind"],
                "postcode": "" if "district only" in row.get("postcode", "") else row.get("postcode", ""),
                "outcode": outcode,
                "latitude": latitude,
                "longitude": longitude,
                "location_precision": precision,
                "confirmed": _yes(row.get("confirmed", "yes"), path, number, "confirmed"),
                "source": row.get("source", ""),
                "opens_at": _time(row.get("opens") or "08:00", path, number, "opens"),
                "closes_at": _time(row.get("closes") or "20:00", path, number, "closes"),
                "open_weekends": _yes(row.get("open_weekends", ""), path, number, "open_weekends"),
                "step_free": _yes(row.get("step_free", "yes"), path, number, "step_free"),
                "hearing_loop": _yes(row.get("hearing_loop", ""), path, number, "hearing_loop"),
                "bariatric_scanner": _yes(row.get("bariatric_scanner", ""), path, number, "bariatric_scanner"),
                "parking": _yes(row.get("parking", "yes"), path, number, "parking"),
                "min_age": min_age,
                "max_age": max_age,
                "public_transport": row.get("public_transport", "")[:240],
            },
        )
        scanner_count += _sync_scanners(site, row, modalities, path, number)
        sites.append(site)
    return sites, scanner_count


def _sync_scanners(site: Site, row: dict[str, str], modalities: dict[str, Modality], path: Path, number: int) -> int:
    wanted = []
    for column, code in MODALITY_COLUMNS.items():
        for index in range(1, _int(row.get(column, "0"), path, number, column) + 1):
            wanted.append((code, f"{SCANNER_NAMES[code]} {index}"))
    site.scanners.exclude(name__in=[name for _, name in wanted]).delete()
    for code, name in wanted:
        Scanner.objects.update_or_create(
            site=site,
            name=name,
            defaults={
                "modality": modalities[code],
                "ris_resource_id": f"{site.code}-{code}{name.rsplit(' ', 1)[-1]}",
                "bariatric": site.bariatric_scanner and name.endswith(" 1") and code in {"CT", "MR"},
            },
        )
    return len(wanted)

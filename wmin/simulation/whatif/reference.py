"""The network's reference data read straight from fixtures/ CSVs (no Django): sites, trusts,
their activity and equipment, the modality mix, and postcode-district centroids."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from booking.rules.dm01 import is_dm01_test

EQUIPMENT_COLUMNS = {
    "ct": "CT",
    "mri": "MR",
    "us": "US",
    "xray": "XR",
    "dexa": "DEXA",
    "nm": "NM",
    "mammo": "MG",
    "fluoro": "RF",
}


@dataclass(frozen=True)
class SiteRecord:
    code: str
    name: str
    trust: str
    icb: str  # where the site is
    kind: str
    latitude: float
    longitude: float
    open_weekends: bool
    equipment: dict[str, int]  # modality code -> scanners, rooms or machines
    day_minutes: int = 600  # from opening to closing on an ordinary day


@dataclass(frozen=True)
class TrustRecord:
    code: str
    short_name: str
    icb: str  # host ICB
    annual_activity: int


@dataclass(frozen=True)
class ModalityRecord:
    code: str
    share_of_activity: float
    booked_from_waiting_list: bool
    dm01_share: float = 1.0  # share of its exams (by activity) that DM01 counts
    exam_minutes: float = 30.0  # its exams' mean room time (by activity)


@dataclass(frozen=True)
class ReferenceData:
    sites: list[SiteRecord]
    trusts: list[TrustRecord]
    icbs: dict[str, str]  # code -> name
    modalities: list[ModalityRecord]
    outcodes: dict[str, tuple[float, float]]

    @property
    def waiting_list_modalities(self) -> list[ModalityRecord]:
        return [m for m in self.modalities if m.booked_from_waiting_list]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def load_reference(fixtures_dir: Path) -> ReferenceData:
    network, catalogue = fixtures_dir / "network", fixtures_dir / "catalogue"
    sites = [
        SiteRecord(
            code=row["site_code"],
            name=row["name"],
            trust=row["trust_ods"],
            icb=row["icb_code"],
            kind=row["kind"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            open_weekends=row["open_weekends"].lower() == "yes",
            equipment={code: int(row[column] or 0) for column, code in EQUIPMENT_COLUMNS.items()},
            day_minutes=_minutes(row["closes"]) - _minutes(row["opens"]),
        )
        for row in _rows(network / "sites.csv")
    ]
    trusts = [
        TrustRecord(row["ods_code"], row["short_name"], row["icb_code"], int(row["activity_2022_23"]))
        for row in _rows(network / "trusts.csv")
    ]
    icbs = {row["code"]: row["name"] for row in _rows(network / "icbs.csv")}
    exams = _rows(catalogue / "exam_types.csv")
    dm01_share, exam_minutes = _dm01_share(exams), _exam_minutes(exams)
    modalities = [
        ModalityRecord(
            row["modality"],
            float(row["share_of_activity"]),
            row["booked_via_waiting_list"].lower() == "yes",
            dm01_share.get(row["modality"], 0.0),
            exam_minutes.get(row["modality"], 30.0),
        )
        for row in _rows(catalogue / "modality_mix.csv")
    ]
    outcodes = {
        row["outcode"]: (float(row["latitude"]), float(row["longitude"]))
        for row in _rows(fixtures_dir / "geography" / "uk_outcodes.csv")
    }
    return ReferenceData(sites, trusts, icbs, modalities, outcodes)


def _dm01_share(exams: list[dict[str, str]]) -> dict[str, float]:
    """Per modality, the share of its activity in exams that DM01 counts (by share_of_modality)."""
    total: dict[str, float] = {}
    counted: dict[str, float] = {}
    for row in exams:
        share = float(row["share_of_modality"] or 0)
        total[row["modality"]] = total.get(row["modality"], 0.0) + share
        if is_dm01_test(row.get("dm01_test")):
            counted[row["modality"]] = counted.get(row["modality"], 0.0) + share
    return {code: counted.get(code, 0.0) / whole for code, whole in total.items() if whole > 0}


def _exam_minutes(exams: list[dict[str, str]]) -> dict[str, float]:
    """Per modality, its exams' mean duration weighted by their share of its activity."""
    weighted: dict[str, float] = {}
    total: dict[str, float] = {}
    for row in exams:
        share = float(row["share_of_modality"] or 0)
        weighted[row["modality"]] = weighted.get(row["modality"], 0.0) + share * float(row["duration_minutes"])
        total[row["modality"]] = total.get(row["modality"], 0.0) + share
    return {code: weighted[code] / whole for code, whole in total.items() if whole > 0}


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)

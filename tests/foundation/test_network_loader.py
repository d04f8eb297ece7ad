"""The network loads from fixtures all or nothing; a bad row names its row number and reason."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from slots.models import Scanner, Site, Trust
from slots.network_loader import NetworkDataError, load_network

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixtures_copy(tmp_path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(Path(settings.FIXTURES_DIR), target, ignore=shutil.ignore_patterns("geography"))
    return target


def _edit_site_row(fixtures: Path, row_number: int, column: str, value: str) -> None:
    import csv

    path = fixtures / "network" / "sites.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0].keys())
    rows[row_number - 2][column] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_loads_all_47_sites_with_14_cdcs_and_every_trust(network):
    assert network.sites == 47
    assert network.cdcs == 14
    assert network.trusts == 15
    assert network.icbs == 6
    assert Site.objects.filter(latitude__isnull=True).count() == 0


def test_every_site_offers_at_least_one_modality_and_approximate_rows_are_marked(network):
    assert not Site.objects.filter(scanners__isnull=True).exists()
    approximate = Site.objects.filter(location_precision="district_centroid")
    assert approximate.exists()
    assert all(not s.confirmed or "APPROXIMATE" in s.source.upper() or s.is_approximate for s in approximate)


def test_loading_twice_changes_nothing(network):
    counts = (Site.objects.count(), Scanner.objects.count(), Trust.objects.count())
    load_network(Path(settings.FIXTURES_DIR))
    assert (Site.objects.count(), Scanner.objects.count(), Trust.objects.count()) == counts


def test_site_without_coordinates_stops_the_load_with_its_row_number(fixtures_copy):
    _edit_site_row(fixtures_copy, 30, "latitude", "")
    with pytest.raises(NetworkDataError, match=r"sites.csv row 30: latitude is missing"):
        load_network(fixtures_copy)
    assert Site.objects.count() == 0
    assert Trust.objects.count() == 0


def test_site_with_unknown_trust_stops_the_load_and_nothing_is_half_loaded(fixtures_copy):
    _edit_site_row(fixtures_copy, 12, "trust_ods", "ZZZ")
    with pytest.raises(NetworkDataError, match=r"row 12: unknown trust 'ZZZ'"):
        load_network(fixtures_copy)
    assert Site.objects.count() == 0


def test_the_command_reports_the_bad_row_in_plain_words(fixtures_copy):
    from django.core.management import CommandError, call_command

    _edit_site_row(fixtures_copy, 5, "latitude", "north")
    with pytest.raises(CommandError, match=r"Nothing was loaded. sites.csv row 5: latitude must be a number"):
        call_command("load_network", fixtures=fixtures_copy)


def test_each_exam_carries_the_dm01_test_it_counts_as(network):
    from slots.models import ExamType

    assert ExamType.objects.get(code="MBRAI").dm01_test == "mri"
    assert ExamType.objects.get(code="FBAEN").dm01_test == "barium_enema"
    assert ExamType.objects.get(code="XCHES").dm01_test == ""
    assert not ExamType.objects.filter(modality__code="NM").exclude(dm01_test="").exists()

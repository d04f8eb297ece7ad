"""Small-number suppression (NHS statistical disclosure control) on every manager table and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tests.conftest import FROZEN_NOW
from tests.network.factories import small_network
from wmin.network.disclosure import SUPPRESSED, suppress_count, suppress_metrics
from wmin.network.snapshots import take_snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("count", "shown"), [(None, None), (0, 0), (1, "*"), (4, "*"), (5, 5), (7, 5), (8, 10), (11, 10), (1234, 1235)]
)
def test_counts_of_one_to_four_are_starred_and_others_rounded_to_five(count, shown):
    assert suppress_count(count) == shown


def test_measures_over_a_small_group_are_starred_too():
    shown = suppress_metrics({"waiting": 3, "median_wait_weeks": 4.2, "share_over_6_weeks": 0.33,
                              "released_slots": 40, "booked_slots": 2, "booked_share": 0.05,
                              "attended": 2, "did_not_attend": 1, "dna_rate": 0.33})
    assert shown["waiting"] == shown["median_wait_weeks"] == shown["share_over_6_weeks"] == SUPPRESSED
    assert (shown["released_slots"], shown["booked_slots"], shown["booked_share"]) == (40, SUPPRESSED, 0.05)
    assert shown["dna_rate"] == SUPPRESSED  # 3 bookings


@pytest.mark.parametrize("url", ["network:overview", "waits-trust", "waits-site", "network:map"])
def test_no_page_or_export_shows_a_count_from_one_to_four(frozen_clock, manager_client, url):
    small_network(FROZEN_NOW)
    take_snapshot(FROZEN_NOW)
    path = reverse("network:waits", args=[url.split("-")[1]]) if url.startswith("waits") else reverse(url)
    page = manager_client.get(path).content.decode()
    assert ">*<" in page or "*" in page
    exported = manager_client.get(path + "?format=csv")
    if exported["Content-Type"].startswith("text/csv"):
        for row in csv.DictReader(io.StringIO(exported.content.decode())):
            for column in ("waiting", "over_6_weeks", "over_13_weeks", "patients_booked_waiting", "bookings",
                           "attended", "did_not_attend", "cancelled_slots", "refilled_slots", "booked_slots"):
                assert row.get(column) not in {"1", "2", "3", "4"}, (column, row)

"""The choice's per-site query: PostgreSQL's LATERAL join picks the same slots as the portable UNION."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from booking.services import choices
from slots.models import Slot
from tests.patient.choice_network import add_sites_with_slots

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="LATERAL is PostgreSQL's (run with DATABASE_URL)"),
]


@pytest.mark.parametrize(
    "filters",
    [
        choices.ChoiceFilters(),
        choices.ChoiceFilters(time_of_day="morning"),
        choices.ChoiceFilters(unavailable_dates=frozenset({timezone.localdate() + dt.timedelta(days=4)})),
    ],
    ids=["no filters", "morning", "a date I cannot do"],
)
def test_the_lateral_join_and_the_union_pick_the_same_earliest_slots(referral, filters):
    add_sites_with_slots(referral, 12, first=0)
    modality_id = referral.exam_type.modality_id
    site_ids = sorted(set(Slot.objects.values_list("site_id", flat=True)))
    suitable = choices._open_slots(Slot.objects.in_pool(), modality_id, timezone.now(), filters)

    lateral = choices._earliest_rows_lateral(suitable, site_ids, 2)
    union = choices._earliest_rows_union(suitable, site_ids, 2)

    assert sorted(lateral) == sorted(union)
    assert len(lateral) == 2 * len(site_ids) or filters.time_of_day != "any"

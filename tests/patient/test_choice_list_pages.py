"""The choice list a page at a time: the best ten sites, then "Show more sites" as a link or by htmx."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse

from booking.views.patient.presenters import MOST_SITES_SHOWN, SITES_PER_PAGE, sites_to_show
from tests.patient.choice_network import add_sites_with_slots

pytestmark = pytest.mark.django_db

FILTERS = {"filtered": "1", "travel_mode": "public_transport", "max_travel_km": "60", "unavailable_dates": "25/12/2099"}
HTMX_MORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "site-list"}


@pytest.fixture
def choices_url(referral):
    return reverse("booking:patient-choices", kwargs={"referral_id": referral.pk})


@pytest.fixture
def twenty_five_sites(referral):
    add_sites_with_slots(referral, 25, first=0)


def site_names(body: str) -> list[str]:
    return re.findall(r'<h3 class="nhsuk-card__heading[^>]*>([^<]+)</h3>', body)


def more_link(body: str) -> str:
    [href] = re.findall(r'<a class="nhsuk-link" href="([^"]+)"[^>]*>Show more sites</a>', body)
    return href.replace("&amp;", "&")


def test_the_page_lists_the_best_ten_sites_and_says_how_many_there_are(patient_client, choices_url, twenty_five_sites):
    body = patient_client.get(choices_url).content.decode()

    assert len(site_names(body)) == 10
    assert "25 sites can do this scan. 25 have appointments that suit you." in body
    assert "Showing 10 of 25 sites with appointments that suit you, best first." in body
    assert more_link(body) == f"{choices_url}?show=20#site-11"


def test_show_more_as_a_plain_link_keeps_every_filter_and_the_ranking(patient_client, choices_url, twenty_five_sites):
    first_page = patient_client.get(choices_url, FILTERS).content.decode()
    link = more_link(first_page)
    assert QueryDict(urlsplit(link).query).dict() == {**FILTERS, "show": "20"}

    second_page = patient_client.get(link.split("#")[0]).content.decode()

    names = site_names(second_page)
    assert len(names) == len(set(names)) == 20
    assert names[:10] == site_names(first_page)
    assert "by public transport" in second_page and "25/12/2099" in second_page
    assert 'id="site-11" tabindex="-1">' in second_page  # where the link lands: the first new card
    assert "autofocus" not in second_page  # a whole page does not steal focus


def test_htmx_show_more_sends_only_the_next_ten_cards_and_the_new_control(patient_client, choices_url, twenty_five_sites):
    whole = patient_client.get(choices_url, {"show": "20"}).content.decode()

    partial = patient_client.get(choices_url, {"show": "20"}, **HTMX_MORE).content.decode()

    assert "<html" not in partial and 'id="choices-summary"' not in partial
    assert site_names(partial) == site_names(whole)[10:20]
    assert re.search(r'id="site-11" tabindex="-1" autofocus>', partial)  # htmx focuses it
    assert partial.count("autofocus") == 1
    assert 'id="more-sites" class="hub-more-sites" hx-swap-oob="true"' in partial
    assert "Showing 20 of 25 sites" in partial
    assert more_link(partial) == f"{choices_url}?show=30#site-21"


def test_the_last_page_says_all_are_shown_and_offers_no_more(patient_client, choices_url, twenty_five_sites):
    body = patient_client.get(choices_url, {"show": "30"}).content.decode()

    assert len(site_names(body)) == 25
    assert "Showing all 25 sites with appointments that suit you." in body
    assert "Show more sites" not in body


def test_a_filter_change_by_htmx_starts_again_from_the_best_ten(patient_client, choices_url, twenty_five_sites):
    body = patient_client.get(choices_url, FILTERS, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="choices").content.decode()

    assert 'id="choices-summary"' in body
    assert len(site_names(body)) == 10
    assert 'id="site-list" aria-live="off"' in body


def test_ten_sites_or_fewer_need_no_paging(patient_client, choices_url, referral):
    add_sites_with_slots(referral, SITES_PER_PAGE, first=0)

    body = patient_client.get(choices_url).content.decode()

    assert len(site_names(body)) == SITES_PER_PAGE
    assert "Show more sites" not in body and "Showing" not in body


@pytest.mark.parametrize(
    ("text", "shown"),
    [(None, 10), ("", 10), ("lots", 10), ("0", 10), ("-5", 10), ("10", 10), ("11", 20), ("20", 20),
     ("99999", MOST_SITES_SHOWN), ("9" * 5000, 10)],
)
def test_show_is_read_as_whole_pages_of_sites(text, shown):
    assert sites_to_show(text) == shown


def test_showing_more_runs_no_more_queries(patient_client, choices_url, twenty_five_sites, django_assert_max_num_queries):
    # the same bound as the first page (tests/patient/test_choice_page.py), by link or by htmx
    with django_assert_max_num_queries(10):
        assert patient_client.get(choices_url, {"show": "20"}).status_code == 200
    with django_assert_max_num_queries(10):
        assert patient_client.get(choices_url, {"show": "20"}, **HTMX_MORE).status_code == 200

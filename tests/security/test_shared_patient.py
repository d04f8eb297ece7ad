"""A patient referred by two trusts: each trust's clerk sees their own trust's referral, bookings,
offers and contact log, and none of the other's, on every worklist and on the patient's record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.context import Actor, acting_as
from booking.models import BookingStatus, Invitation, InvitationChannel, OfferStatus
from booking.worklist import ItemKind
from booking.worklist.contacts import record_contact
from tests.factories import (
    BookingFactory,
    ExamTypeFactory,
    ModalityFactory,
    OfferFactory,
    PatientFactory,
    ReferralFactory,
    SiteFactory,
    SlotFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _client(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


class Side:
    """One trust's half of the shared patient: its referral, its booking, what its clerk wrote."""

    def __init__(self, trust, *, exam_name: str, reference: str, reason: str, clerk_name: str, weeks: int) -> None:
        ct = ModalityFactory(code="CT")
        self.trust = trust
        self.exam = ExamTypeFactory(name=exam_name, modality=ct)
        self.site = SiteFactory(trust=trust, name=f"{exam_name} Centre")
        self.clerk = UserFactory(username=clerk_name, role=Role.CLERK, trust=trust)
        self.reference, self.reason, self.clerk_name, self.exam_name = reference, reason, clerk_name, exam_name
        self.weeks = weeks

    def secrets(self) -> list[str]:
        return [self.reference, self.reason, self.clerk_name, self.exam_name]


@pytest.fixture
def shared(frozen_clock, trust, other_trust):
    patient = PatientFactory(given_name="Shared", family_name="Patient", date_of_birth=dt.date(1950, 5, 5))
    sides = {
        "home": Side(trust, exam_name="CT Kidneys", reference="WMHOME0001", reason="Home trust reason text",
                     clerk_name="home-clerk", weeks=-7),
        "other": Side(other_trust, exam_name="CT Colon", reference="WMAWAY0001", reason="Away trust reason text",
                      clerk_name="away-clerk", weeks=-5),
    }
    for side in sides.values():
        referral = ReferralFactory(patient=patient, trust=side.trust, exam_type=side.exam,
                                   booking_reference=side.reference, clock_start=NOW + dt.timedelta(weeks=side.weeks))
        side.referral = referral
        # A missed appointment (did-not-attend item), an expired offer, and a live booking asked to confirm.
        BookingFactory(referral=referral, status=BookingStatus.DID_NOT_ATTEND,
                       slot=SlotFactory(site=side.site, modality=side.exam.modality, status="booked",
                                        starts_at=NOW - dt.timedelta(days=1)))
        OfferFactory(referral=referral, slot=SlotFactory(site=side.site, modality=side.exam.modality),
                     status=OfferStatus.EXPIRED, expires_at=NOW - dt.timedelta(hours=2))
        booking = BookingFactory(
            referral=referral, attendance_check_sent_at=NOW - dt.timedelta(hours=1),
            slot=SlotFactory(site=side.site, modality=side.exam.modality, status="booked",
                             starts_at=NOW + dt.timedelta(days=3)),
        )
        side.booking = booking
        # Invited to choose: by a letter still to post at one trust, by an email long unanswered at the other.
        Invitation.objects.create(
            referral=referral,
            channel=InvitationChannel.LETTER if side is sides["home"] else InvitationChannel.EMAIL,
            sent_at=NOW - dt.timedelta(days=10),
        )
        with acting_as(Actor(side.clerk.pk, side.clerk_name, Role.CLERK)):
            record_contact(patient_id=patient.pk, trust_id=side.trust.pk, booking_id=booking.pk,
                           what=f"Phoned about the {side.exam_name}", contact_method="phone", reason=side.reason)
    return patient, sides


def _pages(patient) -> list[str]:
    pages = [reverse("booking:clerk-home")]
    pages += [reverse("booking:clerk-home") + f"?kind={kind.value}" for kind in ItemKind]
    pages += [
        reverse("booking:clerk-waiting-list"),
        reverse("booking:clerk-find-patient") + f"?nhs_number={patient.nhs_number}",
        reverse("booking:clerk-find-patient") + "?family_name=Patient&dob_day=5&dob_month=5&dob_year=1950",
        reverse("booking:clerk-patient", args=[patient.pk]),
    ]
    return pages


PAGE_COUNT = 1 + len(ItemKind) + 4  # the worklist, each of its kinds, and four record pages


@pytest.mark.parametrize("viewer", ["home", "other"])
@pytest.mark.parametrize("page_index", range(PAGE_COUNT))
def test_each_clerk_page_shows_only_their_own_trusts_side(shared, viewer, page_index):
    patient, sides = shared
    pages = _pages(patient)
    assert len(pages) == PAGE_COUNT
    own, theirs = sides[viewer], sides["other" if viewer == "home" else "home"]
    response = _client(own.clerk).get(pages[page_index])
    assert response.status_code == 200
    body = response.content.decode()
    for secret in theirs.secrets():
        assert secret not in body, f"{secret!r} from the other trust on {pages[page_index]}"


@pytest.mark.parametrize("viewer", ["home", "other"])
def test_the_record_shows_the_clerks_own_contacts_and_referral(shared, viewer):
    patient, sides = shared
    own = sides[viewer]
    body = _client(own.clerk).get(reverse("booking:clerk-patient", args=[patient.pk])).content.decode()
    for secret in own.secrets():
        assert secret in body


@pytest.mark.parametrize("viewer", ["home", "other"])
def test_the_other_trusts_bookings_and_referral_answer_404(shared, viewer):
    _patient, sides = shared
    own, theirs = sides[viewer], sides["other" if viewer == "home" else "home"]
    client = _client(own.clerk)
    for url in (
        reverse("booking:clerk-book", args=[theirs.referral.pk]),
        reverse("booking:clerk-move", args=[theirs.booking.pk]),
        reverse("booking:clerk-cancel", args=[theirs.booking.pk]),
        reverse("booking:clerk-conflict", args=[theirs.booking.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_a_booking_at_your_site_shows_no_booking_reference_beside_the_date_of_birth(trust, other_trust, frozen_clock):
    """The receiving trust needs name, NHS number and date of birth to book the patient into its RIS,
    never the hub's booking reference: with the date of birth it is the patient's whole sign-in."""
    ct = ModalityFactory(code="CT")
    referral = ReferralFactory(trust=other_trust, booking_reference="WMVISIT001",
                               patient=PatientFactory(date_of_birth=dt.date(1961, 7, 9)))
    BookingFactory(referral=referral, created_at=NOW - dt.timedelta(hours=1),
                   slot=SlotFactory(site=SiteFactory(trust=trust), modality=ct, status="booked",
                                    starts_at=NOW + dt.timedelta(days=4)))
    clerk = UserFactory(username="receiver", role=Role.CLERK, trust=trust)
    body = _client(clerk).get(reverse("booking:clerk-home") + "?kind=incoming").content.decode()
    assert "9 July 1961" in body
    assert "WMVISIT001" not in body


def test_the_invitation_items_each_trust_sees_are_its_own_patients_invitations(shared):
    """The leak checks above mean something for the invitation kinds only if those pages show the
    viewer's own side: the home trust's letter to post, the other trust's unanswered email."""
    _patient, sides = shared
    letters = _client(sides["home"].clerk).get(reverse("booking:clerk-home") + f"?kind={ItemKind.LETTER.value}")
    unanswered = _client(sides["other"].clerk).get(reverse("booking:clerk-home") + f"?kind={ItemKind.NOT_CHOSEN.value}")
    assert sides["home"].exam_name in letters.content.decode()
    assert sides["other"].exam_name in unanswered.content.decode()

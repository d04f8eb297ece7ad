"""factory_boy factories for every model the tests need. Use these, never copied fixtures."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import factory
from django.utils import timezone
from nhs_number import calculate_checksum

from accounts.models import Role, User
from booking.models import Booking, BookingChannel, BookingStatus, Offer, Patient, Priority, Referral
from slots.models import ICB, ExamType, Modality, Scanner, Site, Slot, Trust
from wmin.feeds.models import FeedProfile

_nhs_sequence = itertools.count(1)


def synthetic_nhs_number(n: int | None = None) -> str:
    """A valid NHS number in the 999 range reserved for test data; unique unless `n` is given.

    Some bodies have no valid check digit: from the sequence, such a number is skipped for good (not
    retried as n + 1, which the next call would hand out again).
    """
    while True:
        candidate = next(_nhs_sequence) if n is None else n
        body = f"999{candidate % 1_000_000:06d}"
        check = calculate_checksum(body)
        if check != 10:  # 10 means no valid check digit exists for this body
            return f"{body}{check}"
        if n is not None:
            n += 1


class ICBFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ICB
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"Q{n:02d}")
    name = factory.Sequence(lambda n: f"NHS Test ICB {n}")


class TrustFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trust
        django_get_or_create = ("ods_code",)

    ods_code = factory.Sequence(lambda n: f"T{n:02d}")
    name = factory.Sequence(lambda n: f"Test Hospitals NHS Trust {n}")
    short_name = factory.Sequence(lambda n: f"TT{n}")
    icb = factory.SubFactory(ICBFactory)
    annual_activity = 100_000


class ModalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Modality
        django_get_or_create = ("code",)

    code = "CT"
    name = factory.LazyAttribute(lambda o: {"CT": "Computed tomography (CT)", "MR": "Magnetic resonance imaging (MRI)", "US": "Ultrasound"}.get(o.code, o.code))


class ExamTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExamType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"EX{n:03d}")
    name = factory.Sequence(lambda n: f"CT Test exam {n}")
    modality = factory.SubFactory(ModalityFactory)
    duration_minutes = 15
    preparation = "No special preparation."


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"Test Site {n}")
    trust = factory.SubFactory(TrustFactory)
    icb = factory.SelfAttribute("trust.icb")
    kind = "hospital"
    postcode = "B15 2TG"
    outcode = "B15"
    latitude = 52.45
    longitude = -1.94
    location_precision = "unit_postcode"
    opens_at = dt.time(8, 0)
    closes_at = dt.time(20, 0)
    open_weekends = True


class ScannerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scanner

    site = factory.SubFactory(SiteFactory)
    modality = factory.SubFactory(ModalityFactory)
    name = factory.Sequence(lambda n: f"Scanner {n}")


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    site = factory.SubFactory(SiteFactory)
    trust = factory.SelfAttribute("site.trust")
    modality = factory.SubFactory(ModalityFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=3))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(minutes=15))
    status = "open"
    pooled = True
    ris_slot_id = factory.Sequence(lambda n: f"SLOT{n:06d}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    nhs_number = factory.LazyFunction(synthetic_nhs_number)
    given_name = factory.Faker("first_name", locale="en_GB")
    family_name = factory.Faker("last_name", locale="en_GB")
    date_of_birth = factory.LazyFunction(lambda: dt.date(1960, 1, 1) + dt.timedelta(days=random.randint(0, 20000)))
    sex = "F"
    postcode = "B15 2TT"
    outcode = "B15"
    email = factory.LazyAttribute(lambda o: f"{o.given_name.lower()}@example.com")
    mobile = "07700900123"


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    patient = factory.SubFactory(PatientFactory)
    trust = factory.SubFactory(TrustFactory)
    exam_type = factory.SubFactory(ExamTypeFactory)
    booking_reference = factory.Sequence(lambda n: f"WMTEST{n:04d}")
    placer_order_number = factory.Sequence(lambda n: f"ORD{n:06d}")
    priority = Priority.ROUTINE
    status = "waiting"
    clock_start = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(weeks=4))


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    referral = factory.SubFactory(ReferralFactory)
    slot = factory.SubFactory(SlotFactory, status="booked")
    status = BookingStatus.CONFIRMED
    channel = BookingChannel.PATIENT


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    referral = factory.SubFactory(ReferralFactory)
    slot = factory.SubFactory(SlotFactory)
    source = "backfill"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CLERK
    trust = factory.SubFactory(TrustFactory)
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class FeedProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedProfile

    trust = factory.SubFactory(TrustFactory)
    sending_facilities = factory.LazyAttribute(lambda o: [o.trust.ods_code])
    allowed_hosts = factory.LazyFunction(lambda: ["127.0.0.1", "::1"])  # the tests' RIS sends from here


def api_key_for(user: User, *, scopes=("read", "book", "cancel"), name: str = "Test token") -> str:
    """A live API token for `user` (their own trust, if they have one), and its key."""
    from accounts.api_tokens import issue

    trust_id = user.trust_id if user.role in (Role.CLERK, Role.INTEGRATION) else None
    _, key = issue(user, name=name, scopes=scopes, trust_id=trust_id, now=timezone.now())
    return key

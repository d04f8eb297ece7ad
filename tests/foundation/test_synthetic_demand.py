"""The synthetic demand is seeded, valid and calibrated to the network's published figures."""

import datetime as dt

import numpy as np
import pytest
from django.db import models
from nhs_number import is_valid

from booking.models import Booking, Patient, Referral
from slots.models import Slot
from wmin.simulation.demand import SIZES, WAIT_SCALE_DAYS, WAIT_SHAPE, clear_synthetic_demand, generate_demand

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_waits_are_calibrated_to_one_in_five_over_six_weeks():
    rng = np.random.default_rng(1)
    fast = rng.random(200_000) < 0.16
    days = WAIT_SCALE_DAYS * rng.weibull(WAIT_SHAPE, 200_000)
    days[fast] /= 3
    assert 0.18 <= (days >= 42).mean() <= 0.22
    assert 0.05 <= (days >= 91).mean() <= 0.09


def test_tiny_demand_is_valid_and_every_referral_has_a_patient_near_its_trust(network):
    summary = generate_demand(SIZES["tiny"], seed=7, now=NOW)
    assert summary.referrals == Referral.objects.count() == 400
    assert all(is_valid(n) for n in Patient.objects.values_list("nhs_number", flat=True))
    assert Patient.objects.values("nhs_number").distinct().count() == Patient.objects.count()
    assert Slot.objects.filter(starts_at__gt=NOW, status="open").exists()
    assert Booking.objects.filter(status="dna").exists() or summary.did_not_attend == 0
    # waiting-list modalities only: no plain X-ray referrals
    assert not Referral.objects.filter(exam_type__modality__code="XR").exists()


def test_the_same_seed_gives_the_same_waiting_list(network):
    generate_demand(SIZES["tiny"], seed=11, now=NOW)
    first = list(Referral.objects.order_by("booking_reference").values_list("booking_reference", "clock_start", "exam_type__code"))
    clear_synthetic_demand()
    generate_demand(SIZES["tiny"], seed=11, now=NOW)
    second = list(Referral.objects.order_by("booking_reference").values_list("booking_reference", "clock_start", "exam_type__code"))
    assert first == second


def test_setup_demo_prints_sign_ins_for_every_kind_of_user(network, capsys):
    from django.core.management import call_command

    call_command("setup_demo", size="tiny", seed=3)
    out = capsys.readouterr().out
    for who in ("Patient", "Booking clerk at UHB", "Booking clerk at UHCW", "Network manager", "Administrator"):
        assert who in out
    assert "47 sites (33 hospitals, 14 CDCs)" in out


def test_the_historys_missed_appointments_restart_the_dm01_clock_by_the_rule(network):
    from booking.models import Dm01ClockRestart
    from booking.rules.dm01 import counts_for_dm01

    generate_demand(SIZES["tiny"], seed=3, now=NOW)
    missed = Booking.objects.filter(status="dna").select_related("referral__exam_type", "slot")
    assert missed.exists()
    for booking in missed:
        referral = booking.referral
        last_missed = max(
            b.slot.starts_at for b in Booking.objects.filter(referral=referral, status="dna").select_related("slot")
        )
        expected = last_missed if counts_for_dm01(referral.exam_type.dm01_test) else referral.clock_start
        assert referral.dm01_clock_start == expected, referral
    restarted = Referral.objects.exclude(dm01_clock_start=models.F("clock_start"))
    assert restarted.count() == Dm01ClockRestart.objects.values("referral").distinct().count() > 0
    clear_synthetic_demand()  # the history rows go with the demand
    assert not Dm01ClockRestart.objects.exists()

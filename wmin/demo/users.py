"""The demo's sign-ins: one of each kind of user, and two clerks at different trusts."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Role, User
from booking.models import Referral, ReferralStatus
from slots.models import Trust

DEMO_PASSWORD = "wmin-demo-2026"  # local demo only; production users come from the trusts' identity provider


@dataclass(frozen=True)
class DemoSignIn:
    who: str
    how: str


def _staff(username: str, role: Role, *, trust: Trust | None = None, first: str = "", last: str = "", admin: bool = False) -> User:
    user, _ = User.objects.update_or_create(
        username=username,
        defaults={"role": role, "trust": trust, "first_name": first, "last_name": last, "is_staff": admin, "is_superuser": admin},
    )
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def ensure_demo_users() -> list[DemoSignIn]:
    uhb = Trust.objects.get(ods_code="RRK")
    uhcw = Trust.objects.get(ods_code="RKB")
    _staff("clerk.uhb", Role.CLERK, trust=uhb, first="Priya", last="Sharma")
    _staff("clerk.uhcw", Role.CLERK, trust=uhcw, first="Tom", last="Evans")
    _staff("manager", Role.MANAGER, first="Grace", last="Okafor")
    _staff("admin", Role.ADMIN, first="Admin", last="User", admin=True)
    patient_referral = (
        Referral.objects.select_related("patient", "exam_type")
        .filter(status=ReferralStatus.WAITING, trust=uhb, exam_type__modality__code="CT", priority="routine")
        .order_by("clock_start")
        .first()
    )
    sign_ins = []
    if patient_referral is not None:
        patient = patient_referral.patient
        sign_ins.append(
            DemoSignIn(
                f"Patient ({patient}, {patient_referral.exam_type.name})",
                f"/accounts/patient/sign-in/  booking reference {patient_referral.booking_reference}, "
                f"date of birth {patient.date_of_birth:%-d %-m %Y}",
            )
        )
    sign_ins += [
        DemoSignIn("Booking clerk at UHB", f"/accounts/sign-in/  clerk.uhb / {DEMO_PASSWORD}"),
        DemoSignIn("Booking clerk at UHCW", f"/accounts/sign-in/  clerk.uhcw / {DEMO_PASSWORD}"),
        DemoSignIn("Network manager", f"/accounts/sign-in/  manager / {DEMO_PASSWORD}"),
        DemoSignIn("Administrator", f"/accounts/sign-in/  admin / {DEMO_PASSWORD}  (then /admin/)"),
    ]
    return sign_ins

"""The leak probe: sign in as every role, request every URL in the URL conf with real ids of objects
each role can and cannot see, and scan every answer for patient data that role should not see.

    python manage.py setup_demo --size tiny && python manage.py probe_leaks

Roles: anonymous, a patient, clerks at two trusts (UHB and UHCW), a network manager, an integration
system (API token), an administrator. Each signs in the way a person would (the sign-in forms; the
integration system its token). What each role may see is worked out from the data, the same way the
product's rules say (`Model.objects.visible_to` and the receiving trust's view of bookings at its
sites); everything else in the database is a needle:

- every patient's NHS number (as stored and as shown, "999 123 4567") and full name;
- every referral's booking reference;
- a date of birth written beside a booking reference the role may not sign in with.

It lives beside the demo because it runs against the demo's data and users, and in the tests
(tests/security/test_leak_probe.py), which also plant a leak to show it is found.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.api_tokens import issue
from accounts.models import Role, User
from booking.models import Booking, Offer, Patient, Referral, ReferralStatus
from slots.models import Site, Slot, Trust
from wmin.demo.users import DEMO_PASSWORD, ensure_demo_users

SAMPLES_PER_KIND = 3
SKIPPED_ROUTES = ("r/<int:content_type_id>/<path:object_id>/", "<path:object_id>/", "(?P<url>.*)$")


@dataclass(frozen=True)
class Finding:
    role: str
    url: str
    status: int
    what: str

    def __str__(self) -> str:
        return f"{self.role:<12} {self.status} {self.url}  {self.what}"


@dataclass
class Role_:
    name: str
    client: Client
    user: User | None
    headers: dict[str, str] = field(default_factory=dict)
    allowed_patients: set[int] = field(default_factory=set)
    allowed_references: set[str] = field(default_factory=set)
    allowed_strings: set[str] = field(default_factory=set)  # names and numbers of allowed patients


@dataclass
class Report:
    requests: int = 0
    findings: list[Finding] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    by_role: dict[str, dict[int, int]] = field(default_factory=dict)


# Who is who ------------------------------------------------------------------------------------


def _staff_client(username: str) -> Client:
    client = Client(REMOTE_ADDR=f"198.18.0.{sum(map(ord, username)) % 250 + 1}")
    response = client.post("/accounts/sign-in/", {"username": username, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not sign in ({response.status_code}); run setup_demo first.")
    return client


def _patient_client(referral: Referral) -> Client:
    client = Client(REMOTE_ADDR="198.18.1.1")
    dob = referral.patient.date_of_birth
    response = client.post(
        "/accounts/patient/sign-in/",
        {"booking_reference": referral.booking_reference, "dob_day": dob.day, "dob_month": dob.month, "dob_year": dob.year},
    )
    if response.status_code != 302:
        raise RuntimeError(f"The demo patient could not sign in ({response.status_code}).")
    return client


def _integration_user(trust: Trust) -> tuple[User, str]:
    user, _ = User.objects.get_or_create(
        username=f"probe.ris.{trust.ods_code.lower()}", defaults={"role": Role.INTEGRATION, "trust": trust}
    )
    _, key = issue(user, name="Leak probe", scopes=["read"], trust_id=trust.pk, now=timezone.now())
    return user, key


def _allowed(role: Role_) -> None:
    """What this role may see: its scope's patients and referrals, and (a trust) the patients booked
    at its own sites (name, NHS number, date of birth: never their booking reference)."""
    user = role.user
    if user is None or user.role == Role.MANAGER:
        return
    role.allowed_patients = set(Patient.objects.visible_to(user).values_list("pk", flat=True))
    role.allowed_references = set(Referral.objects.visible_to(user).values_list("booking_reference", flat=True))
    if user.trust_id:
        role.allowed_patients |= set(
            Booking.objects.filter(slot__trust_id=user.trust_id).values_list("referral__patient_id", flat=True)
        )


def roles() -> list[Role_]:
    ensure_demo_users()
    uhb = Trust.objects.get(ods_code="RRK")
    demo_referral = (
        Referral.objects.select_related("patient")
        .filter(status=ReferralStatus.WAITING, trust=uhb, exam_type__modality__code="CT", priority="routine")
        .order_by("clock_start")
        .first()
    )
    if demo_referral is None:
        raise RuntimeError("No demo patient: run `manage.py setup_demo --size tiny` first.")
    integration, key = _integration_user(uhb)
    found = [
        Role_("anonymous", Client(REMOTE_ADDR="198.18.2.1"), None),
        Role_("patient", _patient_client(demo_referral), demo_referral.patient.user),
        Role_("clerk.uhb", _staff_client("clerk.uhb"), User.objects.get(username="clerk.uhb")),
        Role_("clerk.uhcw", _staff_client("clerk.uhcw"), User.objects.get(username="clerk.uhcw")),
        Role_("manager", _staff_client("manager"), User.objects.get(username="manager")),
        Role_("integration", Client(REMOTE_ADDR="198.18.3.1"), integration, {"HTTP_AUTHORIZATION": f"Token {key}"}),
        Role_("admin", _staff_client("admin"), User.objects.get(username="admin")),
    ]
    for role in found:
        _allowed(role)
    return found


# Every URL, with ids each role can and cannot see -----------------------------------------------


def _spread(ids: Iterable[object]) -> list[str]:
    values = list(ids)
    if len(values) <= SAMPLES_PER_KIND:
        return [str(v) for v in values]
    step = max(len(values) // SAMPLES_PER_KIND, 1)
    return [str(v) for v in values[::step][:SAMPLES_PER_KIND]]


def _per_trust(queryset, trust_lookup: str, value: str = "pk") -> list[str]:
    """A few ids from each of the two demo trusts and from elsewhere: some each clerk may see, some not."""
    out: list[str] = []
    for code in ("RRK", "RKB"):
        out += _spread(queryset.filter(**{trust_lookup: code}).order_by("pk").values_list(value, flat=True)[:50])
    out += _spread(queryset.exclude(**{f"{trust_lookup}__in": ["RRK", "RKB"]}).order_by("pk").values_list(value, flat=True)[:50])
    return out


def sample_values(patient: Patient) -> dict[str, list[str]]:
    referrals = _per_trust(Referral.objects.all(), "trust__ods_code")
    own = [str(pk) for pk in patient.referrals.values_list("pk", flat=True)]
    bookings = _per_trust(Booking.objects.all(), "referral__trust__ods_code")
    slots = _per_trust(Slot.objects.all(), "trust__ods_code")
    sites = Site.objects.order_by("code")
    return {
        "patient_id": [str(patient.pk), *_per_trust(Patient.objects.all(), "referrals__trust__ods_code")],
        "referral_id": own + referrals,
        "booking_id": [str(pk) for pk in Booking.objects.filter(referral__patient=patient).values_list("pk", flat=True)] + bookings,
        "offer_id": _per_trust(Offer.objects.all(), "referral__trust__ods_code"),
        "slot_id": slots,
        "site_id": _spread(sites.values_list("pk", flat=True)),
        "code": _spread(sites.values_list("code", flat=True)),
        "dimension": ["network", "icb", "trust", "site", "modality"],
        "pk": own + referrals + bookings,
        "id": slots + bookings + _spread(sites.values_list("code", flat=True)),
        "rest": ["Patient", "Patient/1"],
        "app_label": ["accounts", "audit", "booking", "slots", "feeds", "network"],
    }


def _routes(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        else:
            yield route, entry


_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>|\(\?P<(?P<group>[^>]+)>[^)]*\)")


def _fill(route: str, values: dict[str, str]) -> str:
    def put(match: re.Match) -> str:
        return values[match.group("name") or match.group("group")]

    path = _PARAM.sub(put, route)
    path = path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\", "")
    return "/" + path.lstrip("/")


def urls(samples: dict[str, list[str]]) -> list[str]:
    found: list[str] = []
    for route, entry in _routes(get_resolver().url_patterns):
        if route.endswith(SKIPPED_ROUTES):
            continue
        names = [m.group("name") or m.group("group") for m in _PARAM.finditer(route)]
        model_admin = getattr(entry.callback, "model_admin", None)
        choices: dict[str, list[str]] = {}
        for name in names:
            if name == "object_id" and model_admin is not None:
                choices[name] = _spread(model_admin.model._default_manager.order_by("pk").values_list("pk", flat=True)[:200])
            else:
                choices[name] = samples.get(name, [])
        if any(not options for options in choices.values()):
            continue
        combos: list[dict[str, str]] = [{}]
        for name, options in choices.items():
            combos = [{**combo, name: option} for combo in combos for option in options]
        found += [_fill(route, combo) for combo in islice(combos, 12)]
    return sorted(set(found))


# Scanning ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Needles:
    by_patient: dict[int, list[str]]
    references: dict[str, tuple[int, str]]  # reference -> (patient id, date of birth as pages write it)


def needles() -> Needles:
    by_patient: dict[int, list[str]] = {}
    for pk, nhs, given, family in Patient.objects.values_list("pk", "nhs_number", "given_name", "family_name"):
        name = f"{given} {family}"
        formatted = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
        by_patient[pk] = sorted({nhs, formatted, name, html.escape(name), html.escape(name, quote=False)})
    references = {
        ref: (patient_id, f"{dob.day} {dob:%B %Y}")
        for ref, patient_id, dob in Referral.objects.values_list("booking_reference", "patient_id", "patient__date_of_birth")
    }
    return Needles(by_patient, references)


def scan(role: Role_, url: str, status: int, body: str, found: Needles) -> list[Finding]:
    if role.user is not None and role.user.is_admin:
        return []
    findings = []
    # A name two patients share (faker repeats some) proves nothing when one of them is allowed.
    if not role.allowed_strings:
        role.allowed_strings = {needle for pk in role.allowed_patients for needle in found.by_patient.get(pk, ())}
    shared = role.allowed_strings
    for patient_id, strings in found.by_patient.items():
        if patient_id in role.allowed_patients:
            continue
        for needle in strings:
            if needle in body and needle not in shared:
                findings.append(Finding(role.name, url, status, f"patient {patient_id}: {needle!r}"))
    for reference, (patient_id, dob) in found.references.items():
        if reference not in body:
            continue
        if reference not in role.allowed_references:
            findings.append(Finding(role.name, url, status, f"booking reference {reference}"))
        elif dob in body and not (role.user and role.user.patient_id == patient_id) and not (
            role.user and role.user.is_clerk
        ):
            findings.append(Finding(role.name, url, status, f"date of birth beside booking reference {reference}"))
    return findings


def probe(*, only: Iterable[str] | None = None) -> Report:
    """Every role, every URL; the findings (none, if nothing leaks)."""
    everyone = roles()
    patient_role = next(r for r in everyone if r.name == "patient")
    samples = sample_values(patient_role.user.patient)
    targets = urls(samples)
    found = needles()
    report = Report()
    wanted = set(only) if only else None
    for role in everyone:
        if wanted is not None and role.name not in wanted:
            continue
        for url in targets:
            response = role.client.get(url, **role.headers)
            report.requests += 1
            report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
            counts = report.by_role.setdefault(role.name, {})
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
            if getattr(response, "streaming", False):
                body = b"".join(response.streaming_content).decode("utf-8", "replace")
            else:
                body = response.content.decode("utf-8", "replace")
            body = body + " " + " ".join(f"{k}: {v}" for k, v in response.items())
            report.findings += scan(role, url, response.status_code, body, found)
    return report

"""Only booking.services writes a booking's or a referral's status (issue 15).

Reads every module of the apps (not tests or benches) and fails on any write of `status` to a
Booking or a Referral outside `booking/services/`: an attribute assignment, `status=` in a queryset's
update/create (or bulk_create/bulk_update, or the model's constructor), or raw SQL that updates or
inserts into their tables. The checker itself is tested on snippets, so it can fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

APPS = ("booking", "slots", "wmin", "accounts", "audit")
OWNER = Path("booking", "services")
OWNED = {"Booking": "booking_booking", "Referral": "booking_referral"}
STATUS_ENUMS = {"BookingStatus", "ReferralStatus"}
RELATED = {"bookings", "referrals"}  # reverse relations: referral.bookings.update(status=…)
WRITES = {"update", "create", "get_or_create", "update_or_create", "bulk_create", "bulk_update"}
# Not changes of a live booking or referral: the what-if demand generator writes a synthetic past in
# bulk (seeded, for the simulator and the demo) before anyone could act on it.
ALLOWED = {Path("wmin", "simulation", "demand.py")}
_SQL_WRITE = re.compile(r"\b(UPDATE|INSERT\s+INTO)\s+\"?(booking_booking|booking_referral)\b", re.IGNORECASE)


def status_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for each write of a Booking's or Referral's status in this module's source."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in _leaves(target):
                    if isinstance(leaf, ast.Attribute) and leaf.attr == "status" and (
                        _mentions_status_enum(node.value) or _names_booking_or_referral(leaf.value)
                    ):
                        found.append((node.lineno, f"assigns {ast.unparse(leaf)}"))
        elif isinstance(node, ast.Call):
            what = _call_write(node)
            if what:
                found.append((node.lineno, what))
        elif isinstance(node, (ast.Constant, ast.JoinedStr)):
            text = _sql_text(node)
            if text and _SQL_WRITE.search(text) and "status" in text.lower():
                found.append((node.lineno, "raw SQL writing the status"))
    return found


def _leaves(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [leaf for element in target.elts for leaf in _leaves(element)]
    return [target]


def _mentions_status_enum(value: ast.expr | None) -> bool:
    return value is not None and any(isinstance(n, ast.Name) and n.id in STATUS_ENUMS for n in ast.walk(value))


def _names_booking_or_referral(owner: ast.expr) -> bool:
    text = ast.unparse(owner).lower()
    return "booking" in text or "referral" in text


def _root_names(node: ast.expr) -> set[str]:
    """Names and attributes along a call chain: Booking.objects.filter(…).update → {Booking, objects, …}."""
    names: set[str] = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            if isinstance(node, ast.Name):
                names.add(node.id)
            return names


def _sets_status(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "status":
            return True
        if keyword.arg == "defaults" and isinstance(keyword.value, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value == "status" for k in keyword.value.keys
        ):
            return True
        if keyword.arg == "fields" and any(isinstance(n, ast.Constant) and n.value == "status" for n in ast.walk(keyword.value)):
            return True
    return False


def _call_write(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name) and func.id in OWNED and _sets_status(call):
        return f"builds a {func.id} with a status"
    if not isinstance(func, ast.Attribute) or func.attr not in WRITES:
        return ""
    roots = _root_names(func.value)
    if not (roots & set(OWNED) or roots & RELATED):
        return ""
    if func.attr == "bulk_create":
        built = [a for a in call.args for n in ast.walk(a) if isinstance(n, ast.Call) and _sets_status(n)]
        return "bulk_create with a status" if built else ""
    if func.attr == "bulk_update":
        fields = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "fields")]
        named = any(isinstance(n, ast.Constant) and n.value == "status" for f in fields for n in ast.walk(f))
        return "bulk_update of the status" if named else ""
    return f"{func.attr}(status=…) on {'/'.join(sorted(roots & (set(OWNED) | RELATED)))}" if _sets_status(call) else ""


def _sql_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        elif isinstance(value, ast.FormattedValue):
            inner = ast.unparse(value.value)
            table = next((t for name, t in OWNED.items() if inner.startswith(f"{name}._meta")), "")
            parts.append(table or "{…}")
    return "".join(parts)


def _modules() -> list[Path]:
    base = Path(settings.BASE_DIR)
    return sorted(
        path.relative_to(base)
        for app in APPS
        for path in (base / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_no_module_outside_booking_services_writes_a_booking_or_referral_status():
    base = Path(settings.BASE_DIR)
    offenders = [
        f"{path}:{line}: {what}"
        for path in _modules()
        if not path.is_relative_to(OWNER) and path not in ALLOWED
        for line, what in status_writes((base / path).read_text())
    ]
    assert offenders == []


def test_booking_services_are_where_the_writes_are():
    """The check finds the real writers, so it is looking at the right code."""
    base = Path(settings.BASE_DIR)
    writers = {path.name for path in _modules() if path.is_relative_to(OWNER) and status_writes((base / path).read_text())}
    assert {"bookings.py", "referrals.py", "ris.py"} <= writers


@pytest.mark.parametrize(
    "snippet",
    [
        "booking.status = BookingStatus.CONFIRMED",
        "referral.status = 'booked'",
        "self.referral.status, x = ReferralStatus.BOOKED, 1",
        "Referral.objects.filter(pk=1).update(status=ReferralStatus.REMOVED, updated_at=now)",
        "Booking.objects.create(referral=r, slot=s, status=BookingStatus.CONFIRMED, channel='ris')",
        "referral.bookings.filter(pk=1).update(status='cancelled')",
        "Referral.objects.update_or_create(pk=1, defaults={'status': 'waiting'})",
        "Booking.objects.bulk_create([Booking(referral=r, slot=s, status='confirmed')])",
        "Referral.objects.bulk_update(rows, ['status'])",
        "Referral(patient=p, status=ReferralStatus.REMOVED).save()",
        "cursor.execute(f'UPDATE {Referral._meta.db_table} SET status = %s WHERE id = %s', [s, 1])",
        "cursor.execute('update booking_booking set status = %s', ['cancelled'])",
    ],
)
def test_the_check_catches_each_way_of_writing_a_status(snippet):
    assert status_writes(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        "slot.status = SlotStatus.OPEN",
        "Slot.objects.filter(pk=1).update(status='open')",
        "Offer.objects.filter(pk=1).update(status=OfferStatus.SENT)",
        "Booking.objects.filter(status=BookingStatus.CONFIRMED).count()",
        "row.status = OutboundStatus.ACKED",
        "cursor.execute('SELECT status FROM booking_booking')",
    ],
)
def test_the_check_leaves_other_statuses_alone(snippet):
    assert not status_writes(snippet), snippet

"""Only slots/services writes a slot's status: every other module asks it to (issue 15).

The application's source (accounts, audit, booking, slots, wmin; not migrations) is read as syntax
trees and searched for the ways a slot's status gets written:
- assigning `.status` (or `setattr(…, "status", …)`) on something reached through a slot
  (`slot.status = …`, `booking.slot.status = …`);
- `status=` given to `update`, `create`, `get_or_create`, `update_or_create` or the constructor on
  `Slot` or a slot query set or manager (`Slot.objects.filter(…).update(status=…)`, `Slot(status=…)`),
  or "status" among `bulk_update`'s fields;
- SQL text that UPDATEs or INSERTs INTO the slot table at all (its columns may be put together at run
  time, as the feed's fast path once did: only slots/services may write that table by SQL).
Tests and benches build their scenes with factories and are not searched.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "audit", "booking", "slots", "wmin")
OWNER = ROOT / "slots" / "services"
_SLOT_NAME = re.compile(r"^(Slot|slots?|.*_slots?|slots?_.*)$")
_WRITERS = frozenset({"update", "create", "get_or_create", "update_or_create"})
_SQL_WRITE = re.compile(r"\b(UPDATE|INSERT\s+INTO)\s+(\S+)", re.IGNORECASE)
_SLOT_TABLE = re.compile(r"^(slots_slot|\{Slot\._meta\.db_table\}|\{table\})(\s|$|\()")


def _writes_slot_table(text: str) -> bool:
    """SQL in this text UPDATEs or INSERTs INTO the slot table."""
    return any(_SLOT_TABLE.match(match.group(2)) for match in _SQL_WRITE.finditer(text))


def _chain(node: ast.AST) -> list[str]:
    """The names along an expression's receiver chain: `a.b(x).c` → ["a", "b", "c"]."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            break
        else:
            break
    return names[::-1]


def _slotty(node: ast.AST) -> bool:
    return any(_SLOT_NAME.match(name) for name in _chain(node))


def slot_status_writes(source: str, filename: str = "<source>") -> list[str]:
    """Every place in this source that writes a slot's status, as "line: what"."""
    tree = ast.parse(source, filename)
    pieces = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status" and _slotty(target.value):
                    found.append(f"{node.lineno}: assigns {ast.unparse(target)}")
        elif isinstance(node, ast.Call):
            func = node.func
            keywords = {k.arg for k in node.keywords}
            if isinstance(func, ast.Attribute) and func.attr in _WRITERS and "status" in keywords and _slotty(func.value):
                found.append(f"{node.lineno}: {ast.unparse(func)}(status=…)")
            elif isinstance(func, ast.Name) and func.id == "Slot" and "status" in keywords:
                found.append(f"{node.lineno}: Slot(status=…)")
            elif isinstance(func, ast.Attribute) and func.attr == "bulk_update" and _slotty(func.value):
                if any(isinstance(c, ast.Constant) and c.value == "status" for a in node.args for c in ast.walk(a)):
                    found.append(f"{node.lineno}: {ast.unparse(func)}([… 'status' …])")
            elif (
                isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and node.args[1].value == "status" and _slotty(node.args[0])
            ):
                found.append(f"{node.lineno}: setattr(…, 'status', …)")
        elif isinstance(node, ast.Constant | ast.JoinedStr) and id(node) not in pieces:
            parts = node.values if isinstance(node, ast.JoinedStr) else [node]
            plain = " ".join(p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str))
            if _SQL_WRITE.search(plain + " x") and _writes_slot_table(ast.get_source_segment(source, node) or ""):
                found.append(f"{node.lineno}: SQL writing the slot table")
    return list(dict.fromkeys(found))


def _modules() -> list[Path]:
    paths = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path.is_relative_to(OWNER):
                continue
            paths.append(path)
    return paths


def test_no_module_outside_slots_services_writes_a_slots_status():
    offenders = {
        str(path.relative_to(ROOT)): writes
        for path in _modules()
        if (writes := slot_status_writes(path.read_text(), str(path)))
    }
    assert offenders == {}


def test_slots_services_is_searched_the_same_way_and_does_write_statuses():
    # The owner is exempt, not invisible: the same search finds its writes.
    writes = [w for path in sorted(OWNER.rglob("*.py")) for w in slot_status_writes(path.read_text())]
    assert len(writes) >= 4


def test_each_way_of_writing_a_slots_status_is_found():
    bad = '''
slot.status = "open"
booking.slot.status = SlotStatus.BOOKED
Slot.objects.filter(pk=1).update(status="held", status_changed_at=now)
Slot.objects.create(status="open")
Slot(site=site, status="booked")
slots.bulk_update(rows, ["status"])
setattr(slot, "status", "open")
cursor.execute(f"UPDATE {Slot._meta.db_table} SET status = %s WHERE id = %s", [s, pk])
cursor.execute("update slots_slot set pooled = true, status = 'open'")
cursor.execute(f"UPDATE {table} SET version = version + 1{assignments} WHERE id = %s", params)
'''
    assert len(slot_status_writes(bad)) == 10
    fine = '''
booking.status = "cancelled"
Booking.objects.filter(slot=slot).update(status="cancelled")
Referral.objects.filter(pk=1).update(status="booked")
Slot.objects.filter(status="open").update(pooled=False)
slot_changes.book(slot, now=now)
cursor.execute("UPDATE booking_booking SET status = %s", [s])
'''
    assert slot_status_writes(fine) == []

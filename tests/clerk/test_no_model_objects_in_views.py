"""Views reach data only through the user's scope, never a bare `Model.objects`.

An AST lint over every module under booking/views/, wmin/network/views.py and wmin/api/: an
attribute access `<Name>.objects` passes only as `<Name>.objects.visible_to(...)`,
`.pool_visible_to(...)` (both scoped by the user's `data_scope`) or `.public()` (the network's
sites and catalogue); anything else fails, whatever the name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def checked_modules() -> list[Path]:
    modules = sorted((ROOT / "booking" / "views").rglob("*.py"))
    network_views = ROOT / "wmin" / "network" / "views.py"
    if network_views.exists():
        modules.append(network_views)
    api = ROOT / "wmin" / "api"
    if api.is_dir():
        modules.extend(sorted(api.rglob("*.py")))
    return modules


SCOPED_ENTRY_POINTS = frozenset({"visible_to", "pool_visible_to", "public"})


def model_objects_uses(path: Path, root: Path = ROOT) -> list[str]:
    """Every `<Name>.objects` not used as `<Name>.objects.<scoped entry point>(...)`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    scoped = {
        id(node.func.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SCOPED_ENTRY_POINTS
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "objects"
    }
    unscoped = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "objects"
        and isinstance(node.value, ast.Name)
        and id(node) not in scoped
    ]
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value.id}.objects"
        for node in sorted(unscoped, key=lambda node: (node.lineno, node.col_offset))
    ]


def test_the_lint_checks_the_clerk_views_at_least():
    names = {p.relative_to(ROOT).as_posix() for p in checked_modules()}
    assert "booking/views/clerk/worklist.py" in names
    assert "booking/views/clerk/bookings.py" in names


def test_the_lint_catches_model_objects(tmp_path):
    bad = tmp_path / "views.py"
    bad.write_text("from booking.models import Patient\n\ndef v(r):\n    return Patient.objects.all()\n")
    assert model_objects_uses(bad, tmp_path) == ["views.py:4: Patient.objects"]


def test_the_lint_passes_only_scoped_entry_points(tmp_path):
    views = tmp_path / "views.py"
    views.write_text(
        "def v(r):\n"
        "    a = Patient.objects.visible_to(r.user)\n"
        "    b = Slot.objects.pool_visible_to(r.user)\n"
        "    c = Site.objects.public()\n"
        "    d = Patient.objects.filter(pk=1).visible_to(r.user)\n"
        "    e = Patient.objects.visible_to\n"
    )
    assert model_objects_uses(views, tmp_path) == ["views.py:5: Patient.objects", "views.py:6: Patient.objects"]


@pytest.mark.parametrize("path", checked_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_model_objects_in_views(path):
    uses = model_objects_uses(path)
    assert not uses, "Reach data through Model.objects.visible_to(user) (or .public()), not Model.objects:\n" + "\n".join(uses)

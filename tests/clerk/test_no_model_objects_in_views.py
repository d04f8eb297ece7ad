"""Views reach data only through the user's scope (accounts.scope), never `Model.objects`.

An AST lint over every module under booking/views/, wmin/network/views.py and wmin/api/: any
attribute access `<Name>.objects` fails, whatever the name. Nothing is allowed.
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


def model_objects_uses(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value.id}.objects"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "objects" and isinstance(node.value, ast.Name)
    ]


def test_the_lint_checks_the_clerk_views_at_least():
    names = {p.relative_to(ROOT).as_posix() for p in checked_modules()}
    assert "booking/views/clerk/worklist.py" in names
    assert "booking/views/clerk/bookings.py" in names


def test_the_lint_catches_model_objects(tmp_path):
    bad = tmp_path / "views.py"
    bad.write_text("from booking.models import Patient\n\ndef v(r):\n    return Patient.objects.all()\n")
    assert model_objects_uses(bad, tmp_path) == ["views.py:4: Patient.objects"]


@pytest.mark.parametrize("path", checked_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_model_objects_in_views(path):
    uses = model_objects_uses(path)
    assert not uses, "Reach data through accounts.scope, not Model.objects:\n" + "\n".join(uses)

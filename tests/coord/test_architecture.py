"""House rules from DESIGN.md that a machine can check: pure modules and dependency direction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["coord", "stakeholders", "proposals", "voting"]  # lower to higher
PURE = [
    "voting/tally.py",
    "stakeholders/network/analysis.py",
    "stakeholders/network/opinion.py",
    "proposals/tracking/workdays.py",
    "proposals/tracking/review_route.py",
    "proposals/tracking/charts.py",
    "proposals/deliberation/merge.py",
    "proposals/diff.py",
    "proposals/tenders/sealing.py",
    "proposals/lifecycle.py",
]
FORBIDDEN_IN_PURE = (
    "flask",
    "flask_sqlalchemy",
    "flask_login",
    "flask_babel",
    "sqlalchemy",
    "coord",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rv = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            rv.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            rv.add(node.module)
    return rv


@pytest.mark.parametrize("relpath", PURE)
def test_pure_modules_import_no_framework(relpath):
    path = ROOT / relpath
    if not path.exists():
        pytest.fail(f"{relpath} is listed as pure but does not exist")
    bad = {m for m in _imports(path) if m.split(".")[0] in FORBIDDEN_IN_PURE}
    assert not bad, f"{relpath} must stay pure but imports {sorted(bad)}"


@pytest.mark.parametrize("package", PACKAGES)
def test_lower_packages_never_import_higher_ones(package):
    higher = PACKAGES[PACKAGES.index(package) + 1 :]
    for path in (ROOT / package).rglob("*.py"):
        if path.name == "app.py" and package == "coord":
            continue  # only create_app imports every package
        bad = {m for m in _imports(path) if m.split(".")[0] in higher}
        assert not bad, f"{path.relative_to(ROOT)} imports higher packages {sorted(bad)}"


def test_only_coord_text_imports_bleach():
    users = [
        p.relative_to(ROOT).as_posix()
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if any(m.split(".")[0] == "bleach" for m in _imports(p))
    ]
    assert users == ["coord/text.py"]

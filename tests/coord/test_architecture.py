"""House rules from DESIGN.md that a machine can check: pure modules, dependency direction,
one room for each kind of code, no private names across modules, one idiom for use cases."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["coord", "stakeholders", "proposals", "voting"]  # lower to higher
PURE = [
    "coord/audit_chain.py",
    "voting/tally.py",
    "voting/sealing.py",
    "voting/receipt_code.py",
    "stakeholders/network/analysis.py",
    "stakeholders/network/opinion.py",
    "stakeholders/names.py",
    "stakeholders/credit_code.py",
    "proposals/tracking/workdays.py",
    "proposals/tracking/review_route.py",
    "proposals/tracking/charts.py",
    "proposals/deliberation/merge.py",
    "proposals/deliberation/attribution.py",
    "proposals/diff.py",
    "proposals/tenders/sealing.py",
    "proposals/tenders/evaluation.py",
    "proposals/tenders/clock.py",
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


FAMILIES = ["proposals.deliberation", "proposals.tenders", "proposals.tracking"]
#: Module names that say which room they are: a prefix before one of these stands in for a
#: sub-package that should exist (`tender_views.py` → `tenders/views.py`).
ROOMS = ("models", "services", "permissions", "forms", "views", "api", "cli", "demo")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(path: Path) -> set[str]:
    """Return the modules `path` imports; `from a import b` counts as `a` and `a.b`."""
    rv = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            rv.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            rv.add(node.module)
            rv.update(f"{node.module}.{alias.name}" for alias in node.names)
    return rv


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _is_views(path: Path) -> bool:
    return path.stem == "views" or path.parent.name == "views"


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


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


def test_only_coord_text_imports_the_sanitiser():
    users = [
        p.relative_to(ROOT).as_posix()
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if any(m.split(".")[0] == "nh3" for m in _imports(p))
    ]
    assert users == ["coord/text.py"]


def test_nothing_imports_bleach():
    users = [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*.py")
        if ".venv" not in p.parts and any(m.split(".")[0] == "bleach" for m in _imports(p))
    ]
    assert users == []
    assert "bleach" not in (ROOT / "setup.cfg").read_text(encoding="utf-8")


def test_forms_live_in_forms_modules():
    bad = [
        f"{_where(path, node)} {node.name}"
        for path in _modules()
        if path.stem != "forms"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ClassDef)
        and any(
            getattr(b, "id", getattr(b, "attr", "")) in ("FlaskForm", "Form") for b in node.bases
        )
    ]
    assert not bad, f"form classes outside forms.py: {bad}"


def test_can_predicates_live_in_permissions_modules():
    bad = [
        f"{_where(path, node)} {node.name}"
        for path in _modules()
        if path.stem != "permissions"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("can_")
    ]
    assert not bad, f"can_* predicates outside permissions.py: {bad}"


def test_no_module_uses_another_modules_private_names():
    first_party = tuple(PACKAGES)
    bad = []
    for path in _modules():
        tree = _tree(path)
        imported: set[str] = set()  # local names bound to first-party modules or objects
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] not in first_party:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_"):
                        bad.append(f"{_where(path, node)} imports {node.module}.{alias.name}")
                    imported.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                imported.update(
                    (a.asname or a.name).split(".")[0]
                    for a in node.names
                    if a.name.split(".")[0] in first_party
                )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
            ):
                bad.append(f"{_where(path, node)} uses {node.value.id}.{node.attr}")
    assert not bad, f"private names used across modules: {bad}"


def test_apis_never_import_views():
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules()
        if path.stem == "api"
        for module in _imports(path)
        if module.split(".")[0] in PACKAGES
        and ("views" in module.split(".") or module.endswith("_views"))
    ]
    assert not bad, f"API modules call services, never views: {bad}"


def test_families_and_the_core_do_not_import_other_families():
    bad = []
    for path in _modules():
        module = _dotted(path)
        if not _within(module, "proposals"):
            continue
        own = next((f for f in FAMILIES if _within(module, f)), None)
        others = [f for f in FAMILIES if f != own]
        bad += [
            f"{path.relative_to(ROOT)} imports {m}"
            for m in _imports(path)
            if any(_within(m, f) for f in others)
        ]
    assert not bad, f"a family imports another family (or the core a family): {bad}"


def test_no_name_prefix_stands_in_for_a_package():
    bad = [
        str(path.relative_to(ROOT))
        for path in _modules()
        if "_" in path.stem.strip("_")
        and (path.stem.rsplit("_", 1)[1] in ROOMS or path.stem.split("_", 1)[0] in ROOMS)
    ]
    assert not bad, f"modules named like a room of a missing sub-package: {bad}"


def test_every_view_runs_use_cases_through_the_one_helper():
    bad = []
    for path in _modules():
        if not _is_views(path):
            continue
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            # A copy of `run`'s block rolls back, commits or flashes; a read-only query that
            # shows its refusal on a search form does none of that.
            writes = any(
                (isinstance(n, ast.Attribute) and n.attr in ("commit", "rollback", "flash"))
                or (isinstance(n, ast.Name) and n.id == "flash")
                for n in ast.walk(node)
            )
            if "DomainError" in ast.unparse(node.type) and writes:
                bad.append(f"{_where(path, node)} handles a refusal itself")
    assert not bad, f"views run use cases through coord.web.run: {bad}"


def test_coord_web_has_one_way_to_run_a_use_case():
    from coord import web

    assert not hasattr(web, "act") and not hasattr(web, "form_error")


def test_every_package_binds_itself_with_init_app():
    packages = ["stakeholders", "stakeholders.network", "proposals", *FAMILIES, "voting"]
    for name in packages:
        init = ROOT / name.replace(".", "/") / "__init__.py"
        names = {n.name for n in _tree(init).body if isinstance(n, ast.FunctionDef)}
        assert "init_app" in names, f"{name} has no init_app(app)"


def test_functions_are_short_enough_to_read():
    limit = 80
    bad = [
        f"{_where(path, node)} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in _modules()
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > limit
    ]
    assert not bad, f"functions over {limit} lines: split them into named steps: {bad}"

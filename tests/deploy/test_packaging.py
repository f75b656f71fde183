"""Packaging: setup.cfg ships every code package and the top-level asset folders, and the app
finds those folders both in a checkout and where a wheel installs them. (`make prod-check`
builds the wheel itself and checks its file list: deploy/prod_check.py, `check_wheel`.)"""

from __future__ import annotations

import configparser
from pathlib import Path

from setuptools import find_packages

from coord import app as coord_app

ROOT = Path(__file__).resolve().parents[2]
CODE = ["coord", "stakeholders", "proposals", "voting"]
ASSETS = ["templates", "static", "migrations"]


def _options() -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    return config["options"]


def _listed(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_setup_cfg_lists_every_code_package():
    found = set(find_packages(str(ROOT), include=[p for c in CODE for p in (c, f"{c}.*")]))
    listed = {p for p in _listed(_options()["packages"]) if not p.startswith("coord_assets.")}
    assert listed == found, "setup.cfg [options] packages: add or remove " + ", ".join(
        sorted(found ^ listed)
    )


def test_the_asset_folders_ship_as_coord_assets():
    options = _options()
    mapping = dict(line.split(" = ") for line in _listed(options["package_dir"]))
    assert mapping == {f"coord_assets.{name}": name for name in ASSETS}
    assert {f"coord_assets.{name}" for name in ASSETS} <= set(_listed(options["packages"]))
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    data = config["options.package_data"]
    assert data["coord"] == "translations/*/LC_MESSAGES/*.mo"
    assert "versions/*.py" in data["coord_assets.migrations"]


def test_asset_folders_are_the_checkouts_without_an_installed_copy():
    for name in ASSETS:
        assert coord_app.asset_folder(name) == ROOT / name


def test_asset_folders_are_the_installed_packages_beside_coord(tmp_path, monkeypatch):
    for name in ASSETS:
        (tmp_path / "coord_assets" / name).mkdir(parents=True)
    monkeypatch.setattr(coord_app, "_ROOT", tmp_path)
    for name in ASSETS:
        assert coord_app.asset_folder(name) == tmp_path / "coord_assets" / name


def test_the_app_uses_the_asset_folders(bare_app):
    assert Path(bare_app.template_folder) == coord_app.asset_folder("templates")
    assert Path(bare_app.static_folder) == coord_app.asset_folder("static")
    assert Path(bare_app.extensions["migrate"].directory) == coord_app.asset_folder("migrations")


def test_the_instance_folder_comes_from_the_environment(make_bare_app, tmp_path, monkeypatch):
    monkeypatch.setenv("COORD_INSTANCE_PATH", str(tmp_path / "instance"))
    assert make_bare_app().instance_path == str(tmp_path / "instance")

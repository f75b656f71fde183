"""deploy/: every container, unit and proxy file starts the app through the one entrypoint, and
what can be checked without Docker or systemd is: the entrypoint's roles, the compose file,
the units, nginx's templates (nginx -t), gunicorn's settings and the settings example.
(The running site is checked by `make prod-check`: deploy/prod_check.py.)"""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import runpy
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from coord import config as default_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ROLES = {"web", "worker", "scheduler", "migrate"}
ENTRYPOINT = "/opt/coord/deploy/entrypoint.sh"


def _prod_check():
    spec = importlib.util.spec_from_file_location("prod_check", DEPLOY / "prod_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_entrypoint(tmp_path: Path, *args: str, **env: str) -> str:
    """Run the entrypoint with stand-ins for gunicorn and flask that print their arguments."""
    for name in ("gunicorn", "flask"):
        stub = tmp_path / name
        stub.write_text(f'#!/bin/sh\necho {name} "$@" "FLASK_APP=$FLASK_APP"\n')
        stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    result = subprocess.run(
        [str(DEPLOY / "entrypoint.sh"), *args],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{result.returncode} {result.stdout.strip()}{result.stderr.strip()}"


def test_the_entrypoint_starts_each_role(tmp_path):
    app = "FLASK_APP=coord:create_app"
    conf = DEPLOY / "gunicorn.conf.py"
    assert _run_entrypoint(tmp_path, "web") == f"0 gunicorn --config {conf} {app}"
    assert _run_entrypoint(tmp_path, "worker", "--burst") == f"0 flask coord worker --burst {app}"
    assert _run_entrypoint(tmp_path, "scheduler") == f"0 flask coord scheduler {app}"
    assert _run_entrypoint(tmp_path, "migrate") == f"0 flask db upgrade {app}"
    assert _run_entrypoint(tmp_path, "migrate", COORD_DEMO="1") == f"0 flask coord init {app}"


def test_the_entrypoint_refuses_an_unknown_role(tmp_path):
    for args in ((), ("serve",)):
        assert _run_entrypoint(tmp_path, *args).startswith("64 usage:")


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_every_role_of_one_image_through_the_entrypoint():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "scheduler", "nginx"}
    app_services = {name: s for name, s in services.items() if s.get("image") == "coord:latest"}
    assert {s["command"][0] for s in app_services.values()} == ROLES
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["scheduler"]["deploy"]["replicas"] == 1
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f'ENTRYPOINT ["{ENTRYPOINT}"]' in dockerfile
    for service in app_services.values():
        assert service["build"]["target"] == "runtime"
        assert "uploads:/var/lib/coord/uploads" in service["volumes"]
        assert service["environment"]["COORD_UPLOAD_FOLDER"] == "/var/lib/coord/uploads"
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["nginx"]["build"]["target"] == "nginx"


def test_the_dockerfile_builds_the_targets_compose_names():
    stages = re.findall(r"^FROM \S+ AS (\w+)$", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert stages == ["build", "runtime", "nginx"]
    assert "USER coord" in (DEPLOY / "Dockerfile").read_text()


def test_the_systemd_units_run_the_four_roles_through_the_entrypoint():
    units = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str
        unit.read(path)
        units[path.name] = unit["Service"]
    roles = {u["ExecStart"].removeprefix(ENTRYPOINT + " ") for u in units.values()}
    assert roles == ROLES
    for name, service in units.items():
        assert service["User"] == "coord", name
        assert service["EnvironmentFile"] == "/etc/coord/production.env", name
    target = (DEPLOY / "systemd" / "coord.target").read_text()
    for wanted in re.search(r"^Wants=(.*)$", target, re.M).group(1).split():
        template = re.sub(r"@[^.]+\.", "@.", wanted)
        assert (DEPLOY / "systemd" / template).exists(), wanted


def _settings_read_by_the_code() -> set[str]:
    """Setting names that coord/config.py defines or the packages read from app.config."""
    rv = {name for name in vars(default_config) if name.isupper()}
    pattern = re.compile(r"config(?:\.get\(|\[)\"([A-Z_]+)\"")
    for package in ("coord", "stakeholders", "proposals", "voting"):
        for path in (ROOT / package).rglob("*.py"):
            rv.update(pattern.findall(path.read_text(encoding="utf-8")))
    return rv


def test_the_settings_example_explains_every_setting_and_names_only_real_ones():
    text = (DEPLOY / "production.env.example").read_text()
    deploy_only = {"COORD_DEMO", "COORD_INSTANCE_PATH", "POSTGRES_PASSWORD"}
    deploy_only |= {"WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "FORWARDED_ALLOW_IPS"}
    known = _settings_read_by_the_code()
    names = set()
    for block in text.split("\n\n"):  # each group of settings opens with its explanation
        lines = block.strip().splitlines()
        settings = [line.split("=", 1)[0] for line in lines if not line.startswith("#")]
        assert not settings or lines[0].startswith("#"), f"{settings} are not explained"
        for name in settings:
            assert name in deploy_only or name.removeprefix("COORD_") in known, name
        names.update(settings)
    assert {"COORD_SECRET_KEY", "COORD_DATA_KEY", "COORD_DATABASE_URL"} <= names
    assert {"COORD_REDIS_URL", "COORD_RATELIMIT_STORAGE_URI", "COORD_UPLOAD_FOLDER"} <= names


def test_nginx_takes_uploads_up_to_the_apps_limit():
    snippet = (DEPLOY / "nginx" / "snippets" / "coord-app.conf").read_text()
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", snippet).group(1))
    assert megabytes * 1024 * 1024 == default_config.MAX_CONTENT_LENGTH


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
@pytest.mark.parametrize("site", ["coord-site", "coord-site-tls"])
def test_nginx_accepts_each_site_template(site, tmp_path):
    prod_check = _prod_check()
    cert, key = prod_check.self_signed(tmp_path)
    values = {
        "COORD_UPSTREAM_SERVERS": "server 127.0.0.1:8000; server 127.0.0.1:8001;",
        "COORD_LISTEN": "127.0.0.1:8080",
        "COORD_TLS_LISTEN": "127.0.0.1:8443",
        "COORD_SERVER_NAME": "coord.example.org",
        "COORD_ASSETS": str(ROOT),
        "COORD_TLS_CERT": str(cert),
        "COORD_TLS_KEY": str(key),
    }
    prod_check.write_nginx_config(tmp_path, site, values)
    result = subprocess.run(
        ["nginx", "-t", "-p", f"{tmp_path}/", "-c", "nginx.conf", "-e", f"{tmp_path}/error.log"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ssl_certificate" in (tmp_path / "conf.d" / f"{site}.conf").read_text() or (
        site == "coord-site"
    )


def test_a_template_value_left_out_is_an_error(tmp_path):
    prod_check = _prod_check()
    with pytest.raises(prod_check.CheckFailed, match="COORD_ASSETS"):
        prod_check.render(DEPLOY / "nginx" / "coord-site.conf.template", {"COORD_LISTEN": "80"})


def test_gunicorn_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8001")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (settings["bind"], settings["workers"], settings["preload_app"]) == (
        "127.0.0.1:8001",
        3,
        True,
    )
    monkeypatch.delenv("WEB_CONCURRENCY")
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    assert settings["wsgi_app"] == "coord:create_app()"

"""Production strictness: refused settings (one line, also from `flask`), .env loading, and
rate limits shared by every worker through Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from coord import runtime
from coord.app import ConfigError

from helpers import redis_url_for_tests, unique_prefix

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/15"
PRODUCTION = {
    "ENV": "production",
    "SECRET_KEY": "a-real-secret",
    "RATELIMIT_STORAGE_URI": REDIS,
    "REDIS_URL": REDIS,
}

# -- The rules (pure) -------------------------------------------------------------------------


def test_a_complete_production_configuration_has_no_problems():
    assert runtime.runtime_problems(PRODUCTION, debug=False) == []
    assert runtime.setting_errors({**PRODUCTION, "MAIL_SECURITY": "ssl"}) == []


@pytest.mark.parametrize(
    ("change", "debug", "expected"),
    [
        ({}, True, "debug mode is on: unset COORD_DEBUG and FLASK_DEBUG"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, False, "COORD_RATELIMIT_STORAGE_URI is memory://"),
        ({"RATELIMIT_STORAGE_URI": ""}, False, "set it to a Redis URL, e.g. redis://"),
        ({"REDIS_URL": ""}, False, "COORD_REDIS_URL is missing (jobs run on RQ workers): set it"),
        ({"JOBS": "inline"}, False, "COORD_JOBS=inline runs jobs in the web workers"),
        ({"NETWORK_JOBS": "thread"}, False, "COORD_NETWORK_JOBS=thread runs jobs in the web"),
    ],
)
def test_production_problems_say_what_and_how(change, debug, expected):
    [problem] = runtime.runtime_problems({**PRODUCTION, **change}, debug=debug)
    assert expected in problem


def test_redis_variants_are_accepted_for_rate_limits():
    for uri in ("rediss://cache:6380/0", "redis+sentinel://s:26379/coord", "redis+cluster://c"):
        assert (
            runtime.runtime_problems({**PRODUCTION, "RATELIMIT_STORAGE_URI": uri}, debug=False)
            == []
        )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"JOBS": "thread"}, "COORD_JOBS='thread' is unknown: use rq or inline"),
        ({"MAIL_SECURITY": "tls"}, "COORD_MAIL_SECURITY='tls' is unknown: use ssl (port 465)"),
        ({"MAIL_PORT": "smtp"}, "COORD_MAIL_PORT='smtp' is not a port number"),
        ({"LOG_FORMAT": "xml"}, "COORD_LOG_FORMAT='xml' is unknown"),
        ({"METRICS_ALLOW": "10.0.0.0/33"}, "COORD_METRICS_ALLOW: "),
    ],
)
def test_malformed_settings_are_named(change, expected):
    [error] = runtime.setting_errors({"MAIL_SECURITY": "starttls", **change})
    assert error.startswith(expected)


def test_metrics_addresses_match_networks():
    networks = runtime.parse_networks("127.0.0.1, 10.0.0.0/8,::1")
    assert runtime.is_allowed("10.200.3.4", networks)
    assert runtime.is_allowed("127.0.0.1", networks) and runtime.is_allowed("::1", networks)
    assert runtime.is_allowed("::ffff:10.1.2.3", networks)  # IPv4 through an IPv6 socket
    assert not runtime.is_allowed("192.168.1.10", networks)
    assert not runtime.is_allowed("11.0.0.1", networks)
    assert not runtime.is_allowed("not an address", networks) and not runtime.is_allowed(None, [])
    assert runtime.parse_networks(["192.168.0.0/16"]) == runtime.parse_networks("192.168.0.0/16")


# -- The app factory --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "COORD_RATELIMIT_STORAGE_URI is memory://"),
        ({"DEBUG": True}, "debug mode is on"),
        ({"REDIS_URL": ""}, "COORD_REDIS_URL is missing"),
        ({"NETWORK_JOBS": "thread"}, "COORD_NETWORK_JOBS=thread"),
    ],
)
def test_production_refuses_to_start(make_bare_app, change, expected):
    with pytest.raises(ConfigError) as refused:
        make_bare_app(**{**PRODUCTION, **change})
    message = str(refused.value)
    assert message.startswith("refusing to start in production: ") and expected in message
    assert "\n" not in message


def test_production_starts_with_every_setting(make_bare_app):
    app = make_bare_app(**PRODUCTION)
    assert app.config["ENV"] == "production" and not app.debug


def test_malformed_settings_are_refused_in_development_too(make_bare_app):
    with pytest.raises(ConfigError, match="COORD_MAIL_SECURITY='tls' is unknown"):
        make_bare_app(MAIL_SECURITY="tls")


def _flask(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COORD_", "FLASK_"))}
    environ.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "coord:create_app", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_flask_commands_print_one_line_when_production_settings_are_missing(tmp_path):
    result = _flask(
        "coord", "tick", cwd=tmp_path, COORD_ENV="production", COORD_SECRET_KEY="a-real-secret"
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: refusing to start in production: ")
    assert "COORD_DATA_KEY is missing" in line and "COORD_REDIS_URL is missing" in line


def test_dotenv_file_is_loaded_and_set_variables_win(tmp_path):
    (tmp_path / ".env").write_text("COORD_ENV=production\nCOORD_SECRET_KEY=from-the-file\n")
    result = _flask("coord", "tick", cwd=tmp_path, COORD_SECRET_KEY="")
    [line] = result.stderr.strip().splitlines()
    assert result.returncode != 0 and "refusing to start in production" in line  # from .env
    assert "COORD_SECRET_KEY is missing" in line  # the environment's (empty) value won


def test_dotenv_is_loaded_by_the_app_factory_outside_flask(tmp_path, monkeypatch):
    """gunicorn and RQ workers build the app without the `flask` command."""
    (tmp_path / ".env").write_text("COORD_PAGE_SIZE=7\nCOORD_LOG_LEVEL=ERROR\n")
    code = "from coord import create_app; app = create_app(); print(app.config['PAGE_SIZE'])"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COORD_", "FLASK_"))}
    environ.update(PYTHONPATH=str(ROOT), COORD_ENV="development", COORD_LOG_LEVEL="WARNING")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "7"
    skipped = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**environ, "FLASK_SKIP_DOTENV": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert skipped.stdout.strip() == "20"


# -- Rate limits shared through Redis ---------------------------------------------------------

_SHARED_SETTINGS = (
    *("ENV", "TESTING", "DATABASE_URL", "SECRET_KEY", "DATA_KEY", "PASSWORD_HASH"),
    *("WTF_CSRF_ENABLED", "RATELIMIT_ENABLED", "RATELIMIT_STORAGE_URI"),
)
_OTHER_WORKER = """
import json, sys
from coord import create_app
client = create_app(json.loads(sys.argv[1])).test_client()
form = {"username": sys.argv[2], "password": "wrong"}
print(*[client.post("/login", data=form).status_code for _ in range(3)])
"""


@pytest.mark.committed  # the other process reads the database on a connection of its own
def test_login_limits_are_shared_by_two_workers_through_redis(make_app):
    """Three wrong passwords in another process (another gunicorn worker) and three here: the
    sixth in a minute is refused, whichever worker answers."""
    url = redis_url_for_tests()
    if url is None:
        pytest.skip("no Redis at COORD_TEST_REDIS_URL / 127.0.0.1:6379")
    # Flask-Limiter keeps the first key prefix it sees: the username keeps the keys apart.
    username = "target-" + unique_prefix("limits").split("-", 3)[-1].rstrip("-")
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url}
    app = make_app(**settings)
    try:
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                _OTHER_WORKER,
                json.dumps({k: app.config[k] for k in _SHARED_SETTINGS}),
                username,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "COORD_LOG_LEVEL": "ERROR"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert other.stdout.split() == ["422", "422", "422"], other.stderr
        client = app.test_client()
        codes = [
            client.post("/login", data={"username": username, "password": "wrong"}).status_code
            for _ in range(3)
        ]
        assert codes == [422, 422, 429]
    finally:
        redis = Redis.from_url(url)
        for key in redis.scan_iter(f"*{username}*"):
            redis.delete(key)

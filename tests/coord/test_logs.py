"""Logging: request ids, JSON lines in production, text in development, nothing secret."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from coord import logs


@pytest.fixture
def stream():
    """Where the process's log handler writes during the test (restored afterwards)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    rv = io.StringIO()
    yield rv
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# -- Pure -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("login password=hunter2&user=li", "password=[redacted]&user=li", "hunter2"),
        ('{"token": "abc.def"}', '"token": "[redacted]"', "abc.def"),
        ("Authorization: Bearer s3cr3t-t0ken", "Authorization: [redacted]", "s3cr3t"),
        ("sent with bearer AbC123xyz", "Bearer [redacted]", "AbC123xyz"),
        ("call 13812345678 now", "call [redacted] now", "13812345678"),
        ("电话13812345678", "电话[redacted]", "13812345678"),
        ("tel +86 13912345678", "tel [redacted]", "13912345678"),
        ("id 11010519491231002X ok", "id [redacted] ok", "11010519491231002X"),
    ],
)
def test_redact_masks_secrets_and_personal_numbers(text, kept, gone):
    rv = logs.redact(text)
    assert kept in rv and gone not in rv


def test_redact_keeps_ordinary_numbers():
    text = "poll 12 counted 2048 ballots in 1234.5 ms; order 20260312"
    assert logs.redact(text) == text


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-2026.03_abcdef", True),
        ("a" * 128, True),
        ("short", False),
        ("a" * 129, False),
        ("bad id with spaces", False),
        ("x\r\nSet-Cookie: a=b", False),
        ("", False),
        (None, False),
    ],
)
def test_only_sane_request_ids_are_kept(given, kept):
    rv = logs.sane_request_id(given)
    assert (rv == given) is kept
    assert kept or re.fullmatch(r"[0-9a-f]{32}", rv)


# -- In the app -------------------------------------------------------------------------------


def test_every_response_carries_a_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32 and first != second
    given = "edge-7f3a9c2b1d"
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    forged = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert forged.headers["X-Request-ID"] != "<script>"


def test_production_logs_are_json_with_the_request_id(app, client, stream):
    handler = logs.configure("json", "INFO", stream)
    assert handler in logging.getLogger().handlers
    with app.test_request_context(headers={"X-Request-ID": "trace-1234abcd"}):
        app.preprocess_request()
        logging.getLogger("coord.test").info("saved password=hunter2 for 13812345678")
    client.get("/healthz", headers={"X-Request-ID": "trace-5678efgh"})
    lines = _json_lines(stream.getvalue())
    mine = next(line for line in lines if line["logger"] == "coord.test")
    assert mine["level"] == "INFO" and mine["request_id"] == "trace-1234abcd"
    assert mine["message"] == "saved password=[redacted] for [redacted]"
    assert "time" in mine
    access = next(line for line in lines if line["logger"] == "coord.request")
    assert access["request_id"] == "trace-5678efgh"
    assert access["route"] == "/healthz" and access["status"] == 200 and access["method"] == "GET"


def test_access_lines_name_the_route_template_not_the_address(app, client, stream):
    logs.configure("json", "INFO", stream)
    client.get("/proposals/123456789?token=abc")
    [access] = [
        line for line in _json_lines(stream.getvalue()) if line["logger"] == "coord.request"
    ]
    assert access["route"] == "/proposals/<int:proposal_id>" and "abc" not in stream.getvalue()


def test_development_logs_are_text(stream, make_bare_app):
    app = make_bare_app(ENV="development")
    assert logs.log_format(app) == "text"
    logs.configure(logs.log_format(app), "INFO", stream)
    logging.getLogger("coord.test").warning("plain %s", "words")
    [line] = stream.getvalue().splitlines()
    assert line.endswith("WARNING [-] coord.test: plain words")


def test_an_app_configures_one_handler_however_often_it_is_created(make_bare_app, stream):
    make_bare_app()
    make_bare_app(LOG_FORMAT="json")
    root = logging.getLogger()
    [handler] = [h for h in root.handlers if isinstance(h, logs.CoordHandler)]
    record = logging.LogRecord("coord.test", logging.INFO, __file__, 1, "token=abc", (), None)
    assert json.loads(handler.format(record))["message"] == "token=[redacted]"

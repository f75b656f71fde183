"""Logging: JSON lines in production, readable text in development, a request id on each.

`init_app` configures the root logger once per process (the app factory calls it, so web
workers, `flask` commands and job workers log alike): one handler on standard error,
``LOG_FORMAT`` ``json`` (default in production; python-json-logger) or ``text``, level
``LOG_LEVEL``. Every line carries ``request_id``: the request's ``X-Request-ID`` when it is
a sane token (8–128 letters, digits, ``.``, ``_``, ``-``), else a new one; it is returned in
the ``X-Request-ID`` response header, handed to the jobs a request enqueues and shown on
their log lines. Each request is logged once (method, route template, status, duration).

No password, token or personal datum reaches a log line: `redact` masks key=value pairs
of secrets, bearer tokens, mainland mobile numbers and resident ID numbers in every
message (and in tracebacks).
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")
_job_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "coord_request_id", default=None
)

_SECRET_PAIR = re.compile(
    r"(?i)\b((?:password|passwd|secret|token|api[_-]?key|authorization|cookie|session)\w*"
    r"[\"']?\s*[=:]\s*[\"']?)(?:bearer\s+)?[^\s&\"',;]+"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d{9}(?!\d)")
MASK = "[redacted]"


def redact(text: str) -> str:
    """Mask secrets (key=value pairs, bearer tokens) and personal numbers in a text."""
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + MASK, text)
    text = _BEARER.sub("Bearer " + MASK, text)
    text = _ID_NUMBER.sub(MASK, text)
    return _MOBILE.sub(MASK, text)


def request_id() -> str | None:
    """Return the id of the current request (or of the request that enqueued this job)."""
    if has_request_context():
        return g.get("request_id")
    return _job_request_id.get()


def bind_request_id(value: str | None) -> contextvars.Token:
    """Make `value` the request id of log lines outside a request (a job)."""
    return _job_request_id.set(value)


def unbind_request_id(token: contextvars.Token) -> None:
    """Undo `bind_request_id`."""
    _job_request_id.reset(token)


def sane_request_id(value: str | None) -> str:
    """Return `value` when it is a sane request id, else a new random one."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


class _RedactingText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _RedactingJson(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return _RedactingJson(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return _RedactingText("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")


class CoordHandler(logging.StreamHandler):
    """The process's one log handler (replaced, not added, when an app is created again)."""


def configure(kind: str, level: str | int = "INFO", stream: Any = None) -> CoordHandler:
    """Install the one handler on the root logger, writing `kind` lines to `stream`."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, CoordHandler)]:
        root.removeHandler(old)
    rv = CoordHandler(stream or sys.stderr)
    rv.setFormatter(_formatter(kind))
    rv.addFilter(_RequestIdFilter())
    root.addHandler(rv)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return rv


def log_format(app: Flask) -> str:
    """Return the configured log format: json or text (checked by coord.runtime)."""
    return app.config.get("LOG_FORMAT") or ("json" if app.config["ENV"] == "production" else "text")


_access = logging.getLogger("coord.request")


def _start() -> None:
    g.request_id = sane_request_id(request.headers.get(HEADER))
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id") or ""
    started = g.get("request_started")
    if started is not None:
        rule = request.url_rule.rule if request.url_rule else "<unmatched>"
        duration = round((time.perf_counter() - started) * 1000, 1)
        _access.info(
            "%s %s %s %.1f ms",
            request.method,
            rule,
            response.status_code,
            duration,
            extra={
                "method": request.method,
                "route": rule,
                "status": response.status_code,
                "duration_ms": duration,
            },
        )
    return response


def init_app(app: Flask) -> None:
    """Configure logging for this process and give every request an id."""
    configure(log_format(app), app.config.get("LOG_LEVEL") or "INFO")
    app.before_request(_start)
    app.after_request(_finish)

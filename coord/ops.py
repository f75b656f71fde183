"""Operations endpoints (blueprint ``ops``): liveness, readiness and Prometheus metrics.

``GET /healthz``
    The process answers: ``{"status": "ok"}``; touches neither the database nor Redis.
``GET /readyz``
    Ready to serve: the database answers, Redis answers (when ``REDIS_URL`` is set, and the
    rate-limit store when it is not in memory), and the database's Alembic revision is the
    head of ``migrations/``. JSON with each check; 200 when all pass, else 503.
``GET /metrics``
    Prometheus text: requests per route template, method and status, their latencies, the
    length of each job queue and the gauges packages add with `add_gauge` (ballots cast,
    requests overdue), read from the database at each scrape with one cheap count each.
    Only for the addresses of ``METRICS_ALLOW`` (addresses or CIDR networks, matched against
    ``request.remote_addr``, which is the client's address behind a proxy only when
    ``PROXY_FIX`` is on); everybody else gets 404.

With several gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
(before the workers start, emptied at each start; gunicorn's ``child_exit`` hook calls
``prometheus_client.multiprocess.mark_process_dead(worker.pid)``): every worker's counts
are then summed in each scrape. These endpoints never write, are exempt from rate limits
and CSRF and log no access line of their own beyond the usual one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from redis import Redis

from coord import jobs
from coord.db import db
from coord.extensions import csrf, limiter
from coord.runtime import is_allowed, parse_networks

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

REQUESTS = Counter(
    "coord_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ("endpoint", "method", "status"),
)
LATENCY = Histogram(
    "coord_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ("endpoint", "method"),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


@dataclass(frozen=True)
class Gauge:
    """A number read from the database at each scrape."""

    name: str
    doc: str
    read: Callable[[], float]


GAUGES: dict[str, Gauge] = {}


def add_gauge(name: str, doc: str, read: Callable[[], float]) -> None:
    """Export `read()` (one cheap query, run in the app context) as the gauge `name`."""
    GAUGES[name] = Gauge(name, doc, read)


# -- Health -----------------------------------------------------------------------------------


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _database_check() -> str:
    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        current = set(MigrationContext.configure(conn).get_current_heads())
    head = _migration_heads()
    if current != head:
        return f"migrations: database at {sorted(current) or 'none'}, code at {sorted(head)}"
    return "ok"


def _migration_heads() -> set[str]:
    """The head revisions of the migrations folder (read once per process)."""
    ops = current_app.extensions["coord_ops"]
    if "heads" not in ops:
        directory = current_app.extensions["migrate"].directory
        ops["heads"] = set(ScriptDirectory(str(Path(directory))).get_heads())
    return ops["heads"]


def _redis_checks() -> Iterator[tuple[str, Callable[[], object]]]:
    config = current_app.config
    if config.get("REDIS_URL"):
        url = config["REDIS_URL"]
        yield "redis", lambda: _ping(url)
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if limiter.enabled and not storage.startswith("memory:") and storage != config.get("REDIS_URL"):
        yield "ratelimit_storage", lambda: limiter.storage.check() or _fail("no answer")


def _ping(url: str) -> object:
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return client.ping()
    finally:
        client.close()


def _fail(message: str) -> None:
    raise ConnectionError(message)


@bp.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    try:
        checks["database"] = _database_check()
    except Exception as exc:  # any failure means "not ready"; the reason is logged
        log.warning("readiness: database unreachable: %s", exc.__class__.__name__)
        checks["database"] = "unreachable"
    for name, check in _redis_checks():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness: %s unreachable: %s", name, exc.__class__.__name__)
            checks[name] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


# -- Metrics ----------------------------------------------------------------------------------


class _AppCollector:
    """The gauges read at scrape time: job queue lengths and the packages' gauges."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        if jobs.mode(self.app) == "rq":
            queues = GaugeMetricFamily(
                "coord_job_queue_length", "Jobs waiting in each queue.", labels=["queue"]
            )
            for name in jobs.QUEUES:
                try:
                    queues.add_metric([name], jobs.queue(name, self.app).count)
                except Exception as exc:
                    log.warning("metrics: queue %s unreadable: %s", name, exc.__class__.__name__)
            yield queues
        for gauge in GAUGES.values():
            try:
                value = gauge.read()
            except Exception as exc:
                log.warning("metrics: %s unreadable: %s", gauge.name, exc.__class__.__name__)
                db.session.rollback()
                continue
            yield GaugeMetricFamily(gauge.name, gauge.doc, value=value)


@bp.get("/metrics")
def metrics():
    if not is_allowed(request.remote_addr, current_app.extensions["coord_ops"]["allow"]):
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        base = CollectorRegistry()
        MultiProcessCollector(base)
    else:
        base = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_AppCollector(current_app._get_current_object()))
    body = generate_latest(base) + generate_latest(scraped)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _count(response: Response) -> Response:
    started = g.get("request_started")  # set by coord.logs for every request
    if started is not None:
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Register the endpoints and count every request (METRICS_ALLOW is checked already)."""
    app.extensions["coord_ops"] = {"allow": parse_networks(app.config.get("METRICS_ALLOW") or "")}
    csrf.exempt(bp)
    limiter.exempt(bp)
    app.register_blueprint(bp)
    app.after_request(_count)

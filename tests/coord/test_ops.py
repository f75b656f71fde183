"""/healthz, /readyz and /metrics: cheap, never writing, metrics only for allowed addresses."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import stamp

from coord import runtime
from coord.db import db


def _writes(app, action) -> list[str]:
    """Run `action` and return the writing SQL statements it sent."""
    rv: list[str] = []

    def spy(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "CREATE")):
            rv.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", spy)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", spy)
    return rv


def test_healthz_answers_without_the_database(bare_app):
    response = bare_app.test_client().get("/healthz")  # its database does not exist
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_on_a_migrated_database(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}
    assert _writes(app, lambda: client.get("/readyz")) == []


def test_readyz_checks_redis_when_configured(app, client, monkeypatch):
    from helpers import redis_url_for_tests

    url = redis_url_for_tests()
    if url is not None:
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        assert client.get("/readyz").get_json()["checks"]["redis"] == "ok"
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # a closed port
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "not ready",
        "checks": {"database": "ok", "redis": "unreachable"},
    }


def test_readyz_refuses_a_database_behind_the_migrations(make_bare_app, tmp_path):
    app = make_bare_app(DATABASE_URL=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        stamp(revision="0001_core")
        response = app.test_client().get("/readyz")
        db.engine.dispose()
    assert response.status_code == 503
    check = response.get_json()["checks"]["database"]
    assert check.startswith("migrations: database at ['0001_core'], code at ['")


def test_readyz_when_the_database_is_unreachable(make_bare_app, tmp_path):
    app = make_bare_app(DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'coord.db'}")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unreachable"}


def test_metrics_from_an_allowed_address(app, client):
    client.get("/healthz")
    client.get("/proposals/987654")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'coord_http_requests_total{endpoint="/healthz",method="GET",status="200"}' in text
    assert 'endpoint="/proposals/<int:proposal_id>",method="GET",status="404"' in text
    assert "987654" not in text  # route templates, never raw addresses
    assert 'coord_http_request_duration_seconds_bucket{endpoint="/healthz"' in text
    assert "coord_ballots_cast 0.0" in text
    assert "coord_requests_overdue 0.0" in text
    assert "coord_job_queue_length" not in text  # jobs run inline: no queues
    assert _writes(app, lambda: client.get("/metrics")) == []


def test_metrics_are_hidden_from_other_addresses(app, client, monkeypatch):
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 404
    monkeypatch.setitem(app.extensions["coord_ops"], "allow", runtime.parse_networks("10.0.0.0/8"))
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics").status_code == 404  # 127.0.0.1 is no longer listed


def test_metrics_allow_setting_and_proxies(make_app):
    app = make_app(METRICS_ALLOW="192.168.5.0/24", PROXY_FIX=True)
    client = app.test_client()
    behind = {"REMOTE_ADDR": "127.0.0.1"}  # nginx on this machine
    forwarded = {"X-Forwarded-For": "192.168.5.20"}
    assert client.get("/metrics", environ_base=behind, headers=forwarded).status_code == 200
    spoofed = {"X-Forwarded-For": "192.168.5.20, 203.0.113.9"}  # nginx appends the real one
    assert client.get("/metrics", environ_base=behind, headers=spoofed).status_code == 404


def test_metrics_count_queued_jobs(app, client, rq_jobs):
    rq_jobs.queue("mail").enqueue_call("coord.jobs.run_in_app", args=("builtins.print",))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'coord_job_queue_length{queue="mail"} 1.0' in text
    assert 'coord_job_queue_length{queue="network"} 0.0' in text

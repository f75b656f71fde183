"""Background jobs: inline in development and tests, on RQ workers in production."""

from __future__ import annotations

import logging

import pytest

from coord import jobs


def test_inline_mode_runs_the_job_at_once(app):
    assert jobs.mode(app) == "inline"
    assert jobs.enqueue("coord.jobs.mode") is None  # ran here; nothing queued


def test_inline_failures_are_logged_not_raised(app, caplog):
    with caplog.at_level(logging.ERROR, logger="coord.jobs"):
        jobs.enqueue("coord.jobs.resolve", "no.such.module.function")
    assert "job coord.jobs.resolve failed" in caplog.text
    assert "ModuleNotFoundError" in caplog.text


def test_rq_without_redis_url_is_a_clear_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS", "rq")
    with pytest.raises(RuntimeError, match="REDIS_URL is not set"):
        jobs.enqueue("coord.jobs.mode")


def test_jobs_go_to_rq_and_a_worker_runs_them_in_the_app(app, rq_jobs):
    assert jobs.mode(app) == "rq"
    job = jobs.enqueue("coord.jobs.mode")
    assert job.origin == app.config["JOBS_QUEUE_PREFIX"] + "default"
    assert job.retries_left == jobs.RETRY.max and job.retry_intervals == [10, 60, 300]
    assert rq_jobs.count() == 1
    rq_jobs.work()
    assert rq_jobs.count() == 0
    assert job.return_value(refresh=True) == "rq"  # it ran with the app's config


def test_a_job_logs_the_id_of_the_request_that_asked(app, client, rq_jobs):
    with app.test_request_context(headers={"X-Request-ID": "asked-by-abcdef12"}):
        app.preprocess_request()
        job = jobs.enqueue("coord.logs.request_id", queue="mail", retry=None)
    assert job.meta["request_id"] == "asked-by-abcdef12"
    rq_jobs.work()
    assert job.return_value(refresh=True) == "asked-by-abcdef12"


def test_failed_jobs_are_retried(app, rq_jobs):
    job = jobs.enqueue("coord.jobs.resolve", "no.such.function", retry=jobs.Retry(max=2))
    rq_jobs.work()
    job.refresh()
    assert job.get_status() == "failed" and job.retries_left == 0
    assert job.id in rq_jobs.queue().failed_job_registry


def test_the_tick_is_a_job(app, rq_jobs):
    job = jobs.enqueue("coord.cli.tick")
    rq_jobs.work()
    names = [name for name, _changed in job.return_value(refresh=True)]
    assert "voting.cli.settle_due_polls" in names


def test_worker_command_needs_redis(runner):
    result = runner.invoke(args=["coord", "worker", "--burst"])
    assert result.exit_code == 1 and "set COORD_REDIS_URL to use workers" in result.output

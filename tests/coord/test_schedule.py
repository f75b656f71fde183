"""The schedule: the jobs name real commands, the scheduler enqueues them for the
worker, and a job runs its command in the app and keeps what it printed."""

from __future__ import annotations

import os
import secrets
import sys

import click
import pytest

from coord import schedule


def _command(app, args: tuple[str, ...]) -> click.Command | None:
    """Resolve `flask ARGS…` to its click command (None when some part does not exist)."""
    ctx = click.Context(app.cli)
    command: click.Command | None = app.cli
    for name in args:
        if not isinstance(command, click.Group):
            return None
        command = command.get_command(ctx, name)
    return command


def test_every_scheduled_job_runs_an_existing_command(app):
    scheduled = schedule.schedule(app.config)
    assert {job.name for job in scheduled} >= {"tick", "notifications-digest"}
    for job in scheduled:
        assert _command(app, job.command) is not None, f"{job.name}: no flask {job.command}"
        assert (job.interval is None) != (job.cron is None)


def test_the_tick_interval_and_digest_time_come_from_the_settings(app):
    scheduled = schedule.schedule({"SCHEDULE_TICK_SECONDS": 5, "SCHEDULE_DIGEST_CRON": "0 8 * * 1"})
    by_name = {job.name: job for job in scheduled}
    assert by_name["tick"].interval == 5
    assert by_name["notifications-digest"].cron == "0 8 * * 1"
    assert schedule.schedule(app.config)[0].interval == 60


def test_a_job_runs_its_command_in_the_app_and_returns_what_it_printed(app):
    output = schedule.run_command("coord", "tick")
    assert "voting.cli.settle_due_polls: 0" in output
    assert "proposals.tenders.deadlines.finalize_due: 0" in output


def test_a_command_that_exits_non_zero_fails_the_job_with_its_output(app, monkeypatch):
    @click.command("broken")
    def broken() -> None:
        click.echo("chain broken at #7", err=True)
        sys.exit(1)

    monkeypatch.setitem(app.cli.commands, "broken", broken)
    with pytest.raises(schedule.CommandFailed, match="chain broken at #7"):
        schedule.run_command("broken")


def test_the_scheduler_registers_every_job_on_the_schedule_queue(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/15")
    registered = schedule.build_scheduler(app).get_jobs()
    assert [job.name for job in registered] == [job.name for job in schedule.schedule(app.config)]
    for job in registered:
        assert job.func_name == "coord.schedule.run_command"
        assert job.queue_name == app.config["JOBS_QUEUE_PREFIX"] + schedule.QUEUE
    tick = registered[0]
    assert (tick.name, tick.job_options["ttl"]) == ("tick", 60)  # never a backlog of ticks


def test_the_scheduler_and_worker_refuse_to_start_without_redis(app):
    runner = app.test_cli_runner()
    for args in (["coord", "scheduler"], ["coord", "worker", "--burst"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert "COORD_REDIS_URL" in result.output


def _redis_url() -> str | None:
    url = os.environ.get("COORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:
        return None
    return url


def test_a_due_job_goes_through_redis_and_runs_in_the_app(app, monkeypatch):
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis at COORD_TEST_REDIS_URL / 127.0.0.1:6379")
    from rq import Queue

    prefix = f"coord-schedule-test-{os.getpid()}-{secrets.token_hex(4)}-"
    monkeypatch.setitem(app.config, "JOBS_QUEUE_PREFIX", prefix)
    queue_name = prefix + schedule.QUEUE
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    scheduler = schedule.build_scheduler(app)
    queue = Queue(queue_name, connection=scheduler.connection)
    try:
        enqueued = scheduler.enqueue_jobs()
        assert [job.name for job in enqueued] == ["tick"]  # the interval job is due at once
        (job,) = queue.get_jobs()
        assert job.args == ("coord", "tick")
        assert "settle_due_polls: 0" in job.perform()
    finally:
        queue.delete(delete_jobs=True)

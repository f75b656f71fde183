"""Background jobs: the schedule, the scheduler that enqueues it, the worker that runs jobs.

Three roles share one Redis (``REDIS_URL``) and one set of ``COORD_*`` settings:

- the web app enqueues slow work (a network recompute goes to ``coord-network``);
- ``flask coord scheduler`` (exactly one per site) is RQ's cron scheduler: it enqueues each
  job of :data:`SCHEDULE` on ``coord-schedule`` when it is due, and runs nothing itself;
- ``flask coord worker`` (one or more) runs the jobs of every queue in :data:`QUEUES`, each
  in a forked process inside the worker's app context (the app is loaded once).

A scheduled job runs a ``flask`` command (:func:`run_command`), so a job does exactly what an
operator typing the command would, and prints the same lines (stored as the job's result).
``flask coord tick`` covers every package's deadline work through `coord.signals.clock_ticked`:
voting's open-due/close-due, tenders' finalize and tracking's reminders need no job of
their own. ``flask coord tracking recompute`` is not periodic: run it after changing the
holiday calendar.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import ScriptInfo, with_appcontext

#: The queue of scheduled jobs.
SCHEDULE_QUEUE = "coord-schedule"
#: What `flask coord worker` listens to by default, most urgent first (the network queue is
#: `stakeholders.network.services.QUEUE`).
QUEUES = (SCHEDULE_QUEUE, "coord-network")
#: A finished job's output stays a day in Redis; a failed one a week.
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class ScheduledJob:
    """A `flask` command run every `interval` seconds or at the times of a `cron` line."""

    name: str
    command: tuple[str, ...]
    interval: int | None = None
    cron: str | None = None
    timeout: int = 600


def schedule(config: Mapping[str, Any]) -> list[ScheduledJob]:
    """Return the jobs to run; cron lines are in the platform's time zone (Asia/Shanghai)."""
    return [
        ScheduledJob("tick", ("coord", "tick"), interval=config.get("SCHEDULE_TICK_SECONDS", 60)),
        ScheduledJob(
            "notifications-digest",
            ("coord", "notifications", "digest"),
            cron=config.get("SCHEDULE_DIGEST_CRON", "0 7 * * *"),
        ),
        ScheduledJob(
            "audit-verify",
            ("coord", "audit", "verify"),
            cron=config.get("SCHEDULE_AUDIT_VERIFY_CRON", "30 3 * * *"),
            timeout=3600,
        ),
    ]


class CommandFailed(RuntimeError):
    """A scheduled command exited with a non-zero status."""


def run_command(*args: str) -> str:
    """Run `flask ARGS…` in the worker's app and return what it printed (the job's result)."""
    if has_app_context():
        return _invoke(current_app._get_current_object(), args)
    from coord import create_app

    app = create_app()
    with app.app_context():
        return _invoke(app, args)


def _invoke(app: Flask, args: tuple[str, ...]) -> str:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            app.cli.main(
                list(args),
                prog_name="flask",
                obj=ScriptInfo(create_app=lambda: app),
                standalone_mode=False,
            )
        except SystemExit as exc:
            if exc.code:
                raise CommandFailed(f"flask {' '.join(args)}: {out.getvalue()}") from exc
    return out.getvalue()


def _redis(app: Flask):
    from redis import Redis

    url = app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("COORD_REDIS_URL is not set: the queues live in Redis")
    return Redis.from_url(url)


def build_scheduler(app: Flask, connection=None):
    """Return RQ's cron scheduler with every job of the schedule registered."""
    from rq.cron import CronScheduler

    scheduler = CronScheduler(
        connection=connection or _redis(app), name=f"coord:{os.uname().nodename}"
    )
    for job in schedule(app.config):
        scheduler.register(
            run_command,
            SCHEDULE_QUEUE,
            args=job.command,
            interval=job.interval,
            cron=job.cron,
            job_timeout=job.timeout,
            ttl=job.interval,  # a tick not started before the next is due is dropped
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            name=job.name,
        )
    return scheduler


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Enqueue the scheduled jobs when they are due (run exactly one per site)."""
    app = current_app._get_current_object()
    connection = _redis(app)
    os.environ["TZ"] = app.config["BABEL_DEFAULT_TIMEZONE"]  # cron lines are local times
    time.tzset()
    build_scheduler(app, connection).start()


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run the jobs of QUEUES (default: every Coord queue), each in a forked process."""
    from rq import Worker

    app = current_app._get_current_object()
    worker = Worker(list(queues or QUEUES), connection=_redis(app))
    worker.work(burst=burst, with_scheduler=False)


def init_app(app: Flask) -> None:
    """Register `flask coord scheduler` and `flask coord worker`."""
    from coord.cli import coord_cli

    coord_cli.add_command(scheduler_command)
    coord_cli.add_command(worker_command)

"""The schedule and its scheduler: which `flask` commands run when, enqueued by RQ's cron.

``flask coord scheduler`` (exactly one per site) is RQ's cron scheduler: it enqueues each job
of :func:`schedule` on the default queue of `coord.jobs` when it is due and runs nothing
itself; ``flask coord worker`` runs it. A scheduled job runs a ``flask`` command
(:func:`run_command`), so a job does exactly what an operator typing the command would, and
prints the same lines (stored as the job's result). ``flask coord tick`` covers every
package's deadline work through `coord.signals.clock_ticked`: voting's open-due/close-due,
tenders' finalize, tracking's reminders and the audit checkpoint need no job of their own.
``flask coord tracking recompute`` is not periodic: run it after changing the holiday calendar.
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

from coord import jobs

#: The queue the scheduled jobs go to (see `coord.jobs.QUEUES`).
QUEUE = "default"
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


def _connection(app: Flask):
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("COORD_REDIS_URL is not set: the queues live in Redis")
    return jobs.connection(app)


def build_scheduler(app: Flask, connection=None):
    """Return RQ's cron scheduler with every job of the schedule registered."""
    from rq.cron import CronScheduler

    scheduler = CronScheduler(
        connection=connection or _connection(app), name=f"coord:{os.uname().nodename}"
    )
    for job in schedule(app.config):
        scheduler.register(
            run_command,
            jobs.queue(QUEUE, app).name,
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
    connection = _connection(app)
    os.environ["TZ"] = app.config["BABEL_DEFAULT_TIMEZONE"]  # cron lines are local times
    time.tzset()
    build_scheduler(app, connection).start()


def init_app(app: Flask) -> None:
    """Register `flask coord scheduler`."""
    from coord.cli import coord_cli

    coord_cli.add_command(scheduler_command)

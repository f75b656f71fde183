"""Background jobs: the one way every package runs slow work outside the web request.

Modes (setting ``JOBS``)
    ``rq``: the default when ``REDIS_URL`` is set and the only mode production accepts. A
    job goes to a Redis queue and an RQ worker runs it, retried on failure.
    ``inline``: the default otherwise (development, tests). `enqueue` runs the job at once
    in the asking process; a failure is logged, never raised to the caller.

API
    ``enqueue(func_path, *args, queue="default", retry=RETRY, **options)``
        Run ``func_path`` (a dotted path such as ``"coord.notifications.deliver_job"``) with
        `args` in a worker, inside an app context. ``options`` go to RQ's
        ``Queue.enqueue_call`` (``timeout``, ``result_ttl``, ``job_id``, …). Return the RQ
        job, or None in inline mode.
    ``queue(name="default")``
        The RQ queue ``JOBS_QUEUE_PREFIX + name`` (``coord-default``, ``coord-mail``,
        ``coord-network``) on ``connection()``, the Redis of ``REDIS_URL``.
    ``run_in_app(func_path, *args, **kwargs)``
        What a worker runs: import ``func_path`` and call it in an app context (the current
        one, else an app built once per process with `create_app()`), then release the
        database session. Log lines of the job carry the id of the request that asked.
    ``QUEUES``
        Every queue name, most urgent first: what a worker listens to.

Running workers
    ``flask --app coord:create_app coord worker`` listens to every queue (``--burst`` stops
    when they are empty), with the app's settings and logging; each job runs in a forked
    process. A plain ``rq worker --with-scheduler --url $COORD_REDIS_URL coord-mail
    coord-default coord-network`` works too. Retries that wait (``RETRY``) need a worker
    with the scheduler, which both commands have.

Scheduling (RQ cron)
    Register `run_in_app` with the dotted path of the work as its first argument, e.g.
    ``cron.register(run_in_app, queue_name="coord-default", args=("coord.cli.tick",),
    interval=60)`` or ``args=("coord.notifications.send_digests",), cron="0 7 * * *"``.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue, Retry, get_current_job

from coord import logs
from coord.db import db

__all__ = ["QUEUES", "RETRY", "Retry", "connection", "enqueue", "mode", "queue", "run_in_app"]

log = logging.getLogger(__name__)

QUEUES = ("mail", "default", "network")
#: Three more tries, after 10 s, 1 min and 5 min.
RETRY = Retry(max=3, interval=[10, 60, 300])

_worker_app: Flask | None = None


def mode(app: Flask | None = None) -> str:
    """Return how jobs run: rq or inline (see the module docstring)."""
    config = (app or current_app).config
    return config.get("JOBS") or ("rq" if config.get("REDIS_URL") else "inline")


def connection(app: Flask | None = None) -> Redis:
    """Return a Redis client for ``REDIS_URL`` (one per app and URL, shared by threads)."""
    app = app or current_app._get_current_object()
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set: jobs cannot go to RQ")
    clients = app.extensions.setdefault("coord_redis", {})
    if url not in clients:
        clients[url] = Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
    return clients[url]


def queue(name: str = "default", app: Flask | None = None) -> Queue:
    """Return the RQ queue of that name (``JOBS_QUEUE_PREFIX`` + name)."""
    app = app or current_app._get_current_object()
    return Queue(app.config["JOBS_QUEUE_PREFIX"] + name, connection=connection(app))


def enqueue(
    func_path: str,
    *args: Any,
    queue: str = "default",
    retry: Retry | None = RETRY,
    **options: Any,
) -> Any:
    """Run `func_path(*args)` in a worker (rq mode) or now (inline mode); see the module."""
    if mode() != "rq":
        try:
            run_in_app(func_path, *args)
        except Exception:
            log.exception("job %s failed", func_path)
        return None
    meta = {"request_id": logs.request_id()}
    return _queue(queue).enqueue_call(
        "coord.jobs.run_in_app",
        args=(func_path, *args),
        retry=retry,
        meta=meta,
        description=func_path,
        **options,
    )


_queue = queue  # `enqueue`'s parameter is also called queue


def resolve(func_path: str) -> Callable[..., Any]:
    """Import the function a dotted path names."""
    module, _dot, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_in_app(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """Call `func_path` inside an app context and release the session (the worker entry)."""
    func = resolve(func_path)
    job = get_current_job()
    token = logs.bind_request_id((job.meta.get("request_id") if job else None) or None)
    try:
        if has_app_context():
            return func(*args, **kwargs)
        with _app().app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()
    finally:
        logs.unbind_request_id(token)


def _app() -> Flask:
    """The app of a plain `rq worker` process (built once, from the environment)."""
    global _worker_app
    if _worker_app is None:
        from coord.app import create_app

        _worker_app = create_app()
    return _worker_app


def work(queues: list[str] | None = None, *, burst: bool = False) -> None:
    """Run an RQ worker on these queues (default: all) with the app's settings and logs."""
    from rq import Worker

    app = current_app._get_current_object()
    names = queues or list(QUEUES)
    worker = Worker([queue(n, app) for n in names], connection=connection(app))
    level = logging.getLevelName(logging.getLogger().level)
    log.info("worker %s listening to %s", os.getpid(), ", ".join(names))
    worker.work(burst=burst, with_scheduler=True, logging_level=level)

"""Gunicorn settings of the web role (`deploy/entrypoint.sh web`); the environment tunes them.

GUNICORN_BIND             address to listen on (default 127.0.0.1:8000; the image: 0.0.0.0:8000)
WEB_CONCURRENCY           worker processes (default: 2 per CPU this process may use, plus 1)
GUNICORN_TIMEOUT          seconds a request may take before its worker is restarted (30)
FORWARDED_ALLOW_IPS       proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1;
                          the address of nginx, or * inside a private container network)
"""

from __future__ import annotations

import os

wsgi_app = "coord:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * len(os.sched_getaffinity(0)) + 1)
worker_class = "sync"  # nginx buffers slow clients; each request holds one worker briefly

# Load the app once in the master and fork the workers from it: startup errors (a missing
# secret) stop the master at once, and the workers share the imported code's memory.
preload_app = True

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30  # on SIGTERM, requests in progress get this long to finish
keepalive = 5  # longer than nothing: nginx keeps connections to the app open
max_requests = 5000  # recycle workers now and then (bounds slow leaks)
max_requests_jitter = 500

accesslog = "-"  # stdout: journald or the container's log
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "coord-web"
# Workers' heartbeat files in memory: a container's disk may be slow or read-only.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None


def post_fork(server, worker):
    """Give each worker its own database connections: none may cross the fork."""
    from coord.db import db

    with server.app.wsgi().app_context():
        db.engine.dispose(close=False)

"""Requests per second of public pages served as in production, and what a request costs.

One web instance (deploy/entrypoint.sh web: gunicorn, 2 sync workers, production settings)
on a fresh PostgreSQL database with the demo; wrk (Debian's package) loads the home page,
the proposal list and the first proposal's page, anonymous, over loopback, and counts the
CPU time per request of the workers and of their PostgreSQL server processes (which, unlike
requests/s, hardly depends on what else the machine runs). Then the resident memory of the
gunicorn processes, and the audit trail in PostgreSQL: bytes per event and how fast
`flask coord audit verify` walks the chain. docs/operations.md uses these figures.
Needs PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379 and wrk.
Run: .venv/bin/python benchmarks/web_throughput.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

from prod_check import (
    Process,
    drop_database,
    free_port,
    fresh_database,
    production_env,
    wait_for,
)

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "coord_bench"
REDIS_URL = "redis://127.0.0.1:6379/13"
SECONDS = 15
SYNTHETIC_EVENTS = 20_000


def _family(pid: int) -> list[int]:
    """Return `pid` and its children (gunicorn's master and workers)."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=", "-e"], capture_output=True, text=True)
    rows = [tuple(int(x) for x in line.split()) for line in out.stdout.splitlines()]
    return [p for p, parent in rows if pid in (p, parent)]


def _cpu_seconds(pids: list[int]) -> float:
    """Return the CPU time these processes have used so far."""
    ticks = 0
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _backends(database_url: str) -> list[int]:
    """Return the PostgreSQL server processes serving the benchmark's database."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def _wrk(url: str) -> tuple[float, int, str, str]:
    """Load `url` with 4 connections for SECONDS; return requests/s, requests, median and p99."""
    out = subprocess.run(
        ["wrk", "-t2", "-c4", f"-d{SECONDS}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    count = int(re.search(r"(\d+) requests in", out).group(1))
    median = re.search(r"50%\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} failed responses")
    return rate, count, median, p99


def _rss_mib(pid: int) -> list[float]:
    """Return the resident memory (MiB) of `pid` and each of its children."""
    rv = []
    for p in _family(pid):
        status = Path(f"/proc/{p}/status").read_text()
        rv.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return rv


def _audit_figures(env: dict[str, str], workdir: Path, database_url: str) -> None:
    """Append synthetic audit events, then print bytes per event and verify's speed."""
    script = (
        "from coord import create_app, audit\nfrom coord.db import db\n"
        "app = create_app()\nwith app.app_context():\n"
        f"    for i in range({SYNTHETIC_EVENTS}):\n"
        "        audit.record('bench.event', 'user', i % 50, data={'n': i})\n"
        "        if i % 500 == 0: db.session.commit()\n"
        "    db.session.commit()\n"
    )
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", script], env=env, cwd=workdir, check=True)
    written = time.monotonic() - started
    started = time.monotonic()
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "coord", "audit", "verify"],
        env=env, cwd=workdir, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    verified = time.monotonic() - started
    count = int(re.search(r"OK: (\d+) events", out).group(1))
    with psycopg.connect(database_url) as conn:
        size = conn.execute("SELECT pg_total_relation_size('audit_events')").fetchone()[0]
    print(f"audit trail: {count} events, {size / count:.0f} bytes per event with indexes")
    print(f"  appending {SYNTHETIC_EVENTS / written:.0f} events/s (one process, commits per 500)")
    print(f"  flask coord audit verify: {count / verified:.0f} events/s ({verified:.1f} s)")


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="coord-bench-"))
    Redis.from_url(REDIS_URL).flushdb()
    fresh_database(ADMIN_URL, DATABASE)
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql:", "postgresql+psycopg:")
    env = production_env(workdir, ROOT / ".venv", f"{url}/{DATABASE}", REDIS_URL)
    plain_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{DATABASE}"
    env.update(PYTHONPATH=str(ROOT), FLASK_APP="coord:create_app", COORD_DEMO="1")
    env.update(COORD_PROXY_FIX="false")
    env.update(COORD_SESSION_COOKIE_SECURE="false")  # plain HTTP on loopback
    entrypoint = str(ROOT / "deploy" / "entrypoint.sh")
    port = free_port()
    web = None
    try:
        migrate = Process("migrate", [entrypoint, "migrate"], env, workdir)
        if migrate.popen.wait(600) != 0:
            raise SystemExit(migrate.text())
        web_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"}
        web = Process("web", [entrypoint, "web"], web_env, workdir)
        base = f"http://127.0.0.1:{port}"
        wait_for("gunicorn", lambda: requests.get(base + "/", timeout=5).ok, timeout=120)
        listing = requests.get(base + "/proposals", timeout=5).text
        proposal = re.search(r'href="(/proposals/\d+)"', listing)
        print(f"gunicorn, 2 sync workers, PostgreSQL; wrk -t2 -c4 -d{SECONDS}s, anonymous:")
        for path in ("/", proposal.group(1), "/proposals"):
            for _ in range(4):  # every worker has its database connection
                requests.get(base + path, timeout=30)
            app_pids, db_pids = _family(web.popen.pid), _backends(plain_url)
            app_cpu, db_cpu = _cpu_seconds(app_pids), _cpu_seconds(db_pids)
            rate, count, median, p99 = _wrk(base + path)
            app_ms = (_cpu_seconds(app_pids) - app_cpu) / count * 1000
            db_ms = (_cpu_seconds(db_pids) - db_cpu) / count * 1000
            print(
                f"  GET {path:<15} {rate:5.1f}/s  median {median:>8}  p99 {p99:>8}"
                f"  CPU per request: app {app_ms:4.1f} ms, PostgreSQL {db_ms:4.1f} ms"
            )
        rss = _rss_mib(web.popen.pid)
        print("gunicorn memory (RSS, MiB): " + ", ".join(f"{m:.0f}" for m in rss))
        _audit_figures(env, workdir, plain_url)
    finally:
        if web is not None:
            web.stop()
        drop_database(ADMIN_URL, DATABASE)
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()

"""`make prod-check`: run Coord as in production on this machine and walk a journey through it.

What runs, every process started through deploy/entrypoint.sh from a fresh virtualenv that
was installed offline from dist/wheelhouse (`pip install --no-index`), in a temporary folder
(never the checkout, so nothing is imported from it):

- PostgreSQL: a fresh database ``coord_prodcheck`` (dropped at the end); Redis: one database
  number (emptied before and after) for the queues and the rate limits;
- ``migrate`` (with the demo), two ``web`` instances on two ports (two "machines", 2 gunicorn
  workers each, one shared uploads folder), one ``worker``, one ``scheduler`` (tick every
  3 s), and nginx from deploy/nginx/ (the TLS variant, self-signed) in front of both.

The journey goes through nginx over HTTPS with a real client, and checks each point the
README lists (section Production). Everything started is stopped, also on failure.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psycopg
import requests
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from redis import Redis
from rq import Queue
from rq.cron import get_cron_job_ids
from rq.job import Job

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DEMO_PASSWORD = "coord-demo-2026"  # noqa: S105 (coord.cli.DEMO_PASSWORD, the demo's)
WHEEL_MUST_HOLD = (
    "coord_assets/templates/base.html",
    "coord_assets/static/css/coord.css",
    "coord_assets/migrations/env.py",
    "coord_assets/migrations/alembic.ini",
    "coord/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
)
START = time.monotonic()
PASSED: list[str] = []


class CheckFailed(AssertionError):
    """What the journey expected did not happen."""


def expect(condition: Any, message: str) -> None:
    """Fail the check with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Time one checked step and print it when it passed."""
    started = time.monotonic()
    yield
    now = time.monotonic()
    PASSED.append(what)
    print(f"  ok  {what}  ({now - started:.1f} s; {now - START:.0f} s in)", flush=True)


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30, every: float = 0.3):
    """Call `probe` until it returns something true; return that, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rv = probe()
        except (requests.ConnectionError, OSError):
            rv = None
        if rv:
            return rv
        if time.monotonic() > deadline:
            raise CheckFailed(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(every)


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- Processes -------------------------------------------------------------------------------


class Process:
    """A child in a process group of its own, its output in a log file; stoppable as a whole."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name, self.log, self.stopped = name, workdir / "logs" / f"{name}.log", False
        self.log.parent.mkdir(exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the group (a graceful stop), SIGKILL what is left after `timeout`."""
        if self.stopped:
            return
        self.stopped = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout)
                os.killpg(self.popen.pid, 0)  # anything of the group still there?
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def count(self, needle: str) -> int:
        """Count the access-log lines of this process's log that contain `needle` (the app's
        own JSON request lines, which name the request too, are not counted)."""
        return sum(needle in line and not line.startswith("{") for line in self.text().splitlines())


class Site:
    """The processes of one Coord site on this machine, and how to reach it."""

    def __init__(self, workdir: Path, venv: Path, env: dict[str, str]) -> None:
        self.workdir, self.venv, self.env = workdir, venv, env
        self.processes: list[Process] = []
        self.web: dict[str, Process] = {}
        self.web_ports = {"web-a": free_port(), "web-b": free_port()}
        self.http_port, self.https_port = free_port(), free_port()
        self.base = f"https://127.0.0.1:{self.https_port}"

    def role(self, name: str, role: str, **env: str) -> Process:
        """Start deploy/entrypoint.sh ROLE as `name`."""
        rv = Process(name, [str(DEPLOY / "entrypoint.sh"), role], {**self.env, **env}, self.workdir)
        self.processes.append(rv)
        return rv

    def start_web(self, *names: str) -> None:
        """Start (or restart) app instances together and wait until each answers."""
        for name in names:
            bind = f"127.0.0.1:{self.web_ports[name]}"
            self.web[name] = self.role(name, "web", GUNICORN_BIND=bind)
        for name in names:
            wait_for(f"{name} to answer", functools.partial(self._answers, name), timeout=60)

    def _answers(self, name: str) -> bool:
        port = self.web_ports[name]
        if not self.web[name].running():
            raise CheckFailed(f"{name} exited:\n{self.web[name].text()[-3000:]}")
        for path in ("/healthz", "/"):  # /healthz where it exists, else the home page
            status = requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code
            if status != 404:
                return status == 200
        return False

    def stop_web(self, name: str) -> None:
        self.web[name].stop()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# -- Set-up ----------------------------------------------------------------------------------


def check_wheel(wheelhouse: Path) -> None:
    """Check that the app's wheel carries what an installed app needs besides its code."""
    (wheel,) = sorted(wheelhouse.glob("coord-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    expect(not missing, f"{wheel.name} lacks {missing}")
    versions = [n for n in names if re.fullmatch(r"coord_assets/migrations/versions/\w+\.py", n)]
    expect(len(versions) >= 1, f"{wheel.name} carries no migration")
    expect(not any("__pycache__" in n for n in names), f"{wheel.name} carries __pycache__")


def work_folder() -> Path:
    """Make a fresh folder, in memory when there is room: a virtualenv is many small files."""
    shm = Path("/dev/shm")  # noqa: S108 (a private folder is made inside)
    room = shm.is_dir() and shutil.disk_usage(shm).free > 2 * 1024**3
    return Path(tempfile.mkdtemp(prefix="coord-prodcheck-", dir=shm if room else None))


def install_offline(wheelhouse: Path, venv: Path) -> None:
    """Make a fresh virtualenv and install Coord from the wheelhouse alone (no index)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,  # no index, find-links or constraints from pip.conf
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PIP_INDEX_URL", None)
    env.pop("PIP_EXTRA_INDEX_URL", None)
    subprocess.run(
        # --no-compile: each module is compiled when first imported (scipy's tests never are)
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-compile", "--no-index", "coord"],
        check=True,
        env=env,
    )


def drop_database(admin_url: str, name: str) -> None:
    """Drop the database `name` if it exists, whoever is connected to it."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(admin_url: str, name: str) -> None:
    """Drop and create the database `name`."""
    drop_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coord prod-check")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def render(template: Path, values: dict[str, str]) -> str:
    """Replace each ${NAME} of a deploy/nginx template (as envsubst does)."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    left = re.findall(r"\$\{\w+\}", text)
    expect(not left, f"{template.name}: no value for {left}")
    return text


def write_nginx_config(prefix: Path, site_template: str, values: dict[str, str]) -> None:
    """Write an nginx configuration of its own (prefix, pid, logs) from deploy/nginx: the
    upstream template and `site_template`, rendered with `values`."""
    (prefix / "conf.d").mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEPLOY / "nginx" / "snippets", prefix / "snippets", dirs_exist_ok=True)
    shutil.copy("/etc/nginx/mime.types", prefix / "mime.types")
    for name in ("coord-upstream", site_template):
        text = render(DEPLOY / "nginx" / f"{name}.conf.template", values)
        (prefix / "conf.d" / f"{name}.conf").write_text(text)
    temp = " ".join(
        f"{kind}_temp_path {prefix}/{kind}_temp;"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 2;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  include mime.types;\n  default_type application/octet-stream;\n"
        f"  access_log {prefix}/access.log;\n  {temp}\n  include conf.d/*.conf;\n}}\n"
    )


def nginx_config(site: Site, assets: Path) -> Path:
    """Write the TLS variant in front of the site's instances; return nginx's prefix."""
    prefix = site.workdir / "nginx"
    prefix.mkdir()
    cert, key = self_signed(prefix)
    upstreams = " ".join(
        # A stopped instance is skipped for 2 s (production: a few seconds more).
        f"server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"
        for port in site.web_ports.values()
    )
    values = {
        "COORD_UPSTREAM_SERVERS": upstreams,
        "COORD_LISTEN": f"127.0.0.1:{site.http_port}",
        "COORD_TLS_LISTEN": f"127.0.0.1:{site.https_port}",
        "COORD_SERVER_NAME": "_",
        "COORD_ASSETS": str(assets),
        "COORD_TLS_CERT": str(cert),
        "COORD_TLS_KEY": str(key),
    }
    write_nginx_config(prefix, "coord-site-tls", values)
    return prefix


# -- The journey -----------------------------------------------------------------------------


class Forms(HTMLParser):
    """The forms of a page: each one's action and the values a browser would send as they are."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        kind = a.get("type", "text")
        if tag == "input" and a.get("name") and kind not in ("submit", "button", "file"):
            if kind not in ("checkbox", "radio") or "checked" in a:
                fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select:
            if self._select not in fields or "selected" in a:
                fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            fields[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data

    def find(self, action: str, page: str) -> dict[str, str]:
        """Return the fields of the form posting to `action` (no action: to the `page`)."""
        for form in self.forms:
            if (form["action"].split("?")[0] or page).endswith(action):
                return dict(form["fields"])
        raise CheckFailed(
            f"no form posting to {action!r} among {[f['action'] for f in self.forms]}"
        )


class Browser:
    """A person's browser: cookies, the site's certificate, forms posted with their token."""

    def __init__(self, site: Site) -> None:
        self.base = site.base
        self.http = requests.Session()
        # Per request: a session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment.
        self.verify = str(site.workdir / "nginx" / "cert.pem")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, verify=self.verify, **kwargs)

    def form(self, path: str, action: str = "") -> dict[str, str]:
        """Open the page at `path` and return the fields of its form posting to `action`."""
        page = self.get(path)
        expect(page.status_code == 200, f"GET {path}: {page.status_code}")
        return Forms(page.text).find(action or path, path)

    def post(self, path: str, fields: dict[str, str], **kwargs: Any) -> requests.Response:
        """Post like a browser: HTTPS needs a Referer of the same site for the CSRF check."""
        headers = {"Referer": self.base + path}
        return self.http.post(
            self.base + path, data=fields, headers=headers, timeout=30, verify=self.verify,
            allow_redirects=False, **kwargs,
        )  # fmt: skip

    def sign_in(self, username: str, password: str = DEMO_PASSWORD) -> requests.Response:
        fields = self.form("/login")
        return self.post("/login", {**fields, "username": username, "password": password})


def served_by(
    site: Site, needle: str, total: int = 0, before: dict[str, int] | None = None
) -> dict[str, int]:
    """Count each running instance's access-log lines with `needle` (minus `before`), once
    they add up to `total`: gunicorn logs a request just after answering it."""
    before = before or {}

    def counts() -> dict[str, int] | None:
        rv = {name: p.count(needle) - before.get(name, 0) for name, p in site.web.items()}
        return rv if sum(rv.values()) >= total else None

    return wait_for(f"{total} requests with {needle!r} in the access logs", counts, timeout=10)


def tiny_png() -> bytes:
    """Return an 8×8 PNG with no metadata (what the upload keeps byte for byte)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + bytes((200, 60, 30)) * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))


def check_front_door(site: Site, browser: Browser) -> None:
    with step("HTTPS home page in Chinese (catalogue loaded), HSTS only over TLS"):
        page = browser.get("/")
        expect(page.status_code == 200, f"GET /: {page.status_code}")
        expect("登录" in page.text, "the home page is not in Chinese")
        expect("max-age" in page.headers.get("Strict-Transport-Security", ""), "no HSTS on TLS")
        plain = requests.get(
            f"http://127.0.0.1:{site.http_port}/", allow_redirects=False, timeout=10
        )
        expect(plain.status_code == 301, f"plain HTTP answered {plain.status_code}")
        expect(plain.headers["Location"].startswith("https://"), "plain HTTP: no https redirect")
        expect("Strict-Transport-Security" not in plain.headers, "HSTS sent over plain HTTP")
    with step("static files from nginx: gzip, cache headers, none of the app's headers"):
        css = browser.get("/static/css/coord.css")
        expect(css.status_code == 200 and "font-family" in css.text, "no stylesheet")
        expect(css.headers.get("Content-Encoding") == "gzip", "the stylesheet is not gzipped")
        expect("Expires" in css.headers, "nginx's expires header is missing")
        expect("Content-Security-Policy" not in css.headers, "the app served a static file")


def check_round_robin(site: Site, browser: Browser) -> None:
    with step("nginx spreads requests over both instances"):
        for i in range(6):
            expect(browser.get(f"/?round={i}").status_code == 200, "GET / failed")
        counts = served_by(site, "GET /?round=", 6)
        expect(all(counts.values()), f"requests per instance: {counts}")


def check_rate_limit_is_global(site: Site) -> None:
    with step("login rate limit (5 per account and minute) holds across both instances"):
        browser = Browser(site)
        fields = {**browser.form("/login"), "username": "chenjing", "password": "wrong-password"}
        before = served_by(site, "POST /login")
        statuses = [browser.post("/login", fields).status_code for _ in range(7)]
        expect(statuses[:5] == [422] * 5, f"wrong passwords answered {statuses}")
        expect(statuses[5:] == [429, 429], f"attempts 6 and 7 answered {statuses[5:]}")
        counts = served_by(site, "POST /login", 7, before)
        expect(all(counts.values()), f"the attempts did not reach both instances: {counts}")


def wait_until_serving(site: Site, browser: Browser, name: str) -> None:
    """Wait until nginx sends requests to the (re)started instance `name` again."""

    before = site.web[name].count("GET /?probe=")  # the log goes on from the last run

    def probe() -> bool:
        browser.get(f"/?probe={secrets.token_hex(3)}")
        return site.web[name].count("GET /?probe=") > before

    wait_for(f"nginx to use {name} again", probe, timeout=20, every=0.2)


def check_failover(site: Site, browser: Browser) -> tuple[str, str]:
    """Sign in, stop the instance that did it, go on; return (stopped, serving)."""
    with step("sign in on one instance, stop it, stay signed in on the other"):
        before = served_by(site, "POST /login")
        signed_in = browser.sign_in("zhaolei")
        expect(signed_in.status_code == 302, f"sign-in answered {signed_in.status_code}")
        counts = served_by(site, "POST /login", 1, before)
        first = max(counts, key=counts.__getitem__)
        other = next(name for name in site.web if name != first)
        site.stop_web(first)
        account = browser.get("/account/")
        expect(account.status_code == 200 and "/login" not in account.url, "signed out")
        expect("赵磊" in account.text, "the account page is not zhaolei's (赵磊)")
        expect(served_by(site, "GET /account/", 1)[other] == 1, f"{other} did not serve it")
    return first, other


def check_shared_uploads(site: Site, browser: Browser, stopped: str, serving: str) -> int:
    """File a request with a photo on one instance, fetch the photo from the other."""
    with step(f"a photo uploaded through {serving} is fetched through {stopped}"):
        fields = browser.form("/requests/new")
        fields.update(title="路灯不亮", description="5号楼后面的路灯坏了。", location="5号楼后")
        photo = tiny_png()
        filed = browser.post(
            "/requests/new", fields, files={"photos": ("灯.png", photo, "image/png")}
        )
        expect(filed.status_code == 302, f"filing the request answered {filed.status_code}")
        page = browser.get(filed.headers["Location"])
        found = re.search(r"/attachments/(\d+)", page.text)
        expect(found, "the request page links no photo")
        site.start_web(stopped)
        wait_until_serving(site, browser, stopped)
        site.stop_web(serving)
        download = browser.get(found.group(0))
        expect(download.status_code == 200, f"GET {found.group(0)}: {download.status_code}")
        expect(download.content == photo, "the photo came back changed")
        expect(served_by(site, found.group(0), 1).get(stopped), f"{stopped} did not serve it")
        site.start_web(serving)
        wait_until_serving(site, browser, serving)
    return int(found.group(1))


def check_network_job(browser: Browser, redis: Redis) -> None:
    with step("a declared relation makes the worker recompute the network"):
        community = browser.form("/requests/new")["community_id"]
        path = f"/communities/{community}/relations/new"
        fields = {**browser.form(path), "type": "cooperation", "visibility": "public"}
        queue = Queue("coord-network", connection=redis)
        done_before = set(queue.finished_job_registry.get_job_ids())
        declared = browser.post(path, fields)
        expect(declared.status_code == 302, f"declaring answered {declared.status_code}")

        def finished() -> list[str]:
            new = set(queue.finished_job_registry.get_job_ids()) - done_before
            jobs = [Job.fetch(i, connection=redis) for i in new]
            return [j.id for j in jobs if j.args[1:3] == (int(community), "managers")]

        wait_for("the network job to finish", finished, timeout=45)


def check_scheduled_tick(redis: Redis) -> None:
    with step("the scheduler enqueues `flask coord tick` and the worker runs it"):

        def ticked() -> bool:
            for job_id in get_cron_job_ids("tick", redis):
                job = Job.fetch(job_id, connection=redis)
                if job.is_finished and "settle_due_polls" in (job.return_value() or ""):
                    return True
            return False

        wait_for("a finished tick job", ticked, timeout=30)


def check_static_without_app(site: Site, browser: Browser) -> None:
    with step("with both app instances stopped nginx still serves static files"):
        for name in list(site.web):
            site.stop_web(name)
        expect(browser.get("/static/css/coord.css").status_code == 200, "static file gone")
        expect(browser.get("/").status_code == 502, "pages answered without an app")


# -- The run ---------------------------------------------------------------------------------


def production_env(workdir: Path, venv: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """Return the environment of every role: production settings, nothing of this shell's."""
    return {
        "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "COORD_ENV": "production",
        "COORD_SECRET_KEY": secrets.token_urlsafe(32),
        "COORD_DATA_KEY": Fernet.generate_key().decode(),
        "COORD_AUDIT_SIGNING_KEY": base64.b64encode(
            Ed25519PrivateKey.generate().private_bytes_raw()
        ).decode(),
        "COORD_DATABASE_URL": database_url,
        "COORD_REDIS_URL": redis_url,
        "COORD_RATELIMIT_STORAGE_URI": redis_url,
        "COORD_PROXY_FIX": "true",
        "COORD_INSTANCE_PATH": str(workdir / "instance"),
        "COORD_UPLOAD_FOLDER": str(workdir / "uploads"),  # shared by both "machines"
        "COORD_SCHEDULE_TICK_SECONDS": "3",
        "WEB_CONCURRENCY": "2",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }


def start_site(site: Site) -> None:
    with step("entrypoint.sh migrate (COORD_DEMO=1): migrations, then the demo"):
        migrate = site.role("migrate", "migrate", COORD_DEMO="1")
        expect(migrate.popen.wait(300) == 0, f"migrate failed:\n{migrate.text()[-3000:]}")
    with step("entrypoint.sh web ×2 (2 workers each), worker, scheduler; nginx in front"):
        site.role("worker", "worker")
        site.role("scheduler", "scheduler")
        assets = subprocess.run(
            [str(site.venv / "bin" / "python"), "-c",
             "from coord.app import asset_folder; print(asset_folder('static').parent)"],
            check=True, capture_output=True, text=True, env=site.env, cwd=site.workdir,
        ).stdout.strip()  # fmt: skip
        prefix = nginx_config(site, Path(assets))
        nginx = Process(
            "nginx",
            ["nginx", "-p", f"{prefix}/", "-c", "nginx.conf", "-e", f"{prefix}/error.log"],
            site.env,
            site.workdir,
        )
        site.processes.append(nginx)
        site.start_web(*site.web_ports)
        cert = str(prefix / "cert.pem")
        wait_for(
            "nginx", lambda: requests.get(site.base + "/", verify=cert, timeout=5).ok, timeout=20
        )
        for process in site.processes[1:]:
            expect(process.running(), f"{process.name} exited:\n{process.text()[-3000:]}")


def run(site: Site, redis: Redis) -> None:
    start_site(site)
    browser = Browser(site)
    check_front_door(site, browser)
    check_round_robin(site, browser)
    check_rate_limit_is_global(site)
    stopped, serving = check_failover(site, browser)
    check_shared_uploads(site, browser, stopped, serving)
    check_network_job(browser, redis)
    check_scheduled_tick(redis)
    check_static_without_app(site, browser)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheelhouse", type=Path, default=ROOT / "dist" / "wheelhouse")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="coord_prodcheck")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--keep", action="store_true", help="keep the folder and its logs")
    args = parser.parse_args()
    workdir = work_folder()
    workdir.chmod(0o755)  # nginx's workers (an unprivileged user) read the static files
    print(f"prod-check in {workdir}", flush=True)
    redis = Redis.from_url(args.redis)
    redis.flushdb()
    site: Site | None = None
    passed = False
    try:
        with step("the wheel carries templates, static files, migrations, the zh catalogue"):
            check_wheel(args.wheelhouse)
        with step("a fresh virtualenv installed from the wheelhouse alone (pip --no-index)"):
            install_offline(args.wheelhouse, workdir / "venv")
        with step(f"a fresh PostgreSQL database {args.database}"):
            fresh_database(args.postgres, args.database)
        database_url = args.postgres.rsplit("/", 1)[0].replace("postgresql:", "postgresql+psycopg:")
        env = production_env(
            workdir, workdir / "venv", f"{database_url}/{args.database}", args.redis
        )
        site = Site(workdir, workdir / "venv", env)
        run(site, redis)
        passed = True
    except Exception as exc:
        if not isinstance(exc, CheckFailed):
            traceback.print_exc()
        print(f"FAILED: {exc}\nlogs: {workdir / 'logs'}", file=sys.stderr, flush=True)
    finally:
        if site is not None:
            site.stop_all()
        redis.flushdb()
        drop_database(args.postgres, args.database)
        if passed and not args.keep:
            shutil.rmtree(workdir)
    print(f"prod-check {'passed' if passed else 'FAILED'} in {time.monotonic() - START:.0f} s")
    print(f"prod-check: {len(PASSED)} passed, {0 if passed else 1} failed")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

"""Browser fixtures: a live Coord server on its own SQLite file and headless Chromium.

The tests need a Chromium binary: /usr/bin/chromium or the one named by `COORD_BROWSER_PATH`.
Without it they are skipped, unless `COORD_REQUIRE_BROWSER=1` (CI), which makes them fail.
They never touch the parametrised `database_url` of tests/conftest.py: the live server runs
its own migrated database with the demo neighbourhood loaded.
"""

from __future__ import annotations

import os
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from cryptography.fernet import Fernet
from flask import Flask, got_request_exception
from flask_babel import force_locale, gettext
from flask_migrate import upgrade
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from coord import create_app
from coord.cli import load_demo
from coord.db import db

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
DEFAULT_BROWSER = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCALE = "zh-CN"
VIEWPORT = {"width": 1280, "height": 900}
#: Chromium reports CSP violations as console errors; this makes sure every one is reported.
_REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


#: Per test, including the first one's start of the live server (migrations, demo data).
BROWSER_TIMEOUT = 180


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder `browser`, with a longer timeout, on one xdist worker."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.timeout(BROWSER_TIMEOUT))
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session", autouse=True)
def browser_path() -> str:
    """Return the Chromium executable, or skip (fail when COORD_REQUIRE_BROWSER=1)."""
    path = os.environ.get("COORD_BROWSER_PATH") or DEFAULT_BROWSER
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    reason = f"no Chromium at {path} (set COORD_BROWSER_PATH to a Chromium/Chrome binary)"
    if os.environ.get("COORD_REQUIRE_BROWSER") == "1":
        pytest.fail(f"COORD_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


def _compile_catalogs(app: Flask, target: Path) -> str:
    """Compile the app's .po catalogs into `target`; return the translation directories."""
    dirs = []
    configured = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations")
    for i, name in enumerate(configured.split(";")):
        source = Path(app.root_path, name)
        out = target / str(i)
        for po in source.glob("*/LC_MESSAGES/*.po"):
            mo = out / po.relative_to(source).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parts[-3])
            with mo.open("wb") as f:
                write_mo(f, catalog, use_fuzzy=True)
        dirs.append(str(out))
    return ";".join(dirs)


def _settings(database_url: str, **extra) -> dict:
    """Settings like tests/conftest.py's `settings_for`, but with CSRF on: forms are real."""
    return {
        "ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "browser-test-secret",
        "DATA_KEY": Fernet.generate_key().decode(),
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        **extra,
    }


@pytest.fixture(scope="session")
def server_errors() -> list[str]:
    """Tracebacks of exceptions the live server raised (taken by `PageProblems.check`)."""
    return []


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory, server_errors: list[str]) -> Iterator[Flask]:
    """The app on a fresh, migrated SQLite file holding the demo neighbourhood."""
    tmp = tmp_path_factory.mktemp("browser")
    settings = _settings("sqlite:///" + str(tmp / "coord-browser.db"))
    # .mo files are build output (git-ignored): compile the catalogs so the test sees them.
    settings["BABEL_TRANSLATION_DIRECTORIES"] = _compile_catalogs(create_app(settings), tmp / "mo")
    app = create_app(settings)
    with app.app_context():
        upgrade()
        load_demo()
        db.session.remove()

    def record(sender: Flask, exception: BaseException, **extra) -> None:
        server_errors.append("".join(traceback.format_exception(exception)).rstrip())

    got_request_exception.connect(record, app, weak=False)
    yield app
    got_request_exception.disconnect(record, app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """Serve the app on a free local port in a daemon thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="coord-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def t(live_app: Flask) -> Callable[[str], str]:
    """Translate a message id as the Chinese UI shows it (English when not translated)."""

    def translate(message: str, locale: str = "zh_Hans_CN", **variables) -> str:
        with live_app.test_request_context(), force_locale(locale):
            return gettext(message, **variables)

    return translate


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as rv:
        yield rv


@pytest.fixture(scope="session")
def browser(playwright: Playwright, browser_path: str) -> Iterator[Browser]:
    """Headless Chromium (the system's; browser builds are never downloaded)."""
    rv = playwright.chromium.launch(executable_path=browser_path, headless=True, args=CHROMIUM_ARGS)
    yield rv
    rv.close()


class PageProblems:
    """Console errors, CSP violations, uncaught exceptions and server errors of a test."""

    def __init__(self, server_errors: list[str]) -> None:
        self.messages: list[str] = []
        self.server_errors = server_errors

    def watch(self, page: Page) -> None:
        page.add_init_script(_REPORT_CSP)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.messages.append(f"uncaught exception: {exc}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if where.endswith("/favicon.ico"):  # the browser's own guess, not the page's request
            return
        self.messages.append(f"console error: {message.text} ({where})")

    def take(self) -> list[str]:
        """Return and forget what was reported since the last time."""
        rv = self.messages + [f"server error:\n{tb}" for tb in self.server_errors]
        self.messages.clear()
        self.server_errors.clear()
        return rv

    def check(self) -> None:
        """Fail the test if anything was reported since the last check."""
        reported = self.take()
        if reported:
            pytest.fail("the page reported problems:\n  " + "\n  ".join(reported))


@pytest.fixture
def page_problems(server_errors: list[str]) -> Iterator[PageProblems]:
    """Collect what a test's pages report; fail the test if anything was reported."""
    server_errors.clear()
    rv = PageProblems(server_errors)
    yield rv
    rv.check()


@pytest.fixture
def new_page(
    browser: Browser, live_server: str, page_problems: PageProblems
) -> Iterator[Callable[[], Page]]:
    """Open pages, each in its own browser context (its own cookies: its own person)."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(locale=LOCALE, viewport=VIEWPORT, base_url=live_server)
        context.set_default_timeout(5_000)
        contexts.append(context)
        rv = context.new_page()
        page_problems.watch(rv)
        return rv

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """A fresh page (new context, zh-CN, 1280×900) on the live server."""
    return new_page()


def take_screenshot(page: Page, name: str) -> Path:
    """Screenshot the whole page to tests/browser/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shot(page_problems: PageProblems) -> Callable[[Page, str], Path]:
    """`shot(page, name)`: take a screenshot, then fail if a page reported a problem so far."""

    def take(page: Page, name: str) -> Path:
        rv = take_screenshot(page, name)
        page_problems.check()
        return rv

    return take

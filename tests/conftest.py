"""Fixtures: the app on SQLite and (when configured) PostgreSQL, clients and factories.

Every database test runs inside an outer transaction rolled back at its end (`app`);
tests marked `committed` commit for real and empty the tables afterwards.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask.ctx import _cv_app
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession

from coord import audit_chain, create_app
from coord.db import db, utcnow
from coord.extensions import limiter
from coord.models import Community, Street, User
from proposals.tracking.holidays import official_calendar
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)

from helpers import (
    PASSWORD,
    QueryCounter,
    RQJobs,
    forget_caches,
    redis_url_for_tests,
    unique_prefix,
)

DATA_KEY = Fernet.generate_key().decode()
BACKENDS = ("sqlite", "postgresql")
SETUP_LOCK = int.from_bytes(b"coord-ts", "big")  # serialises the PostgreSQL set-up of runs


def _postgres_url() -> Iterator[str]:
    """Yield a URL whose search path is a fresh schema of this run (concurrent runs are safe)."""
    url = os.environ.get("COORD_TEST_DATABASE_URL", "")
    required = os.environ.get("COORD_REQUIRE_POSTGRES") == "1"
    if not url:
        if required:
            pytest.fail("COORD_REQUIRE_POSTGRES=1 but COORD_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests skipped: set COORD_TEST_DATABASE_URL=postgresql+psycopg://…")
    schema = f"coord_test_{os.getpid()}"  # one per process: each xdist worker has its own
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            # Parallel workers and other runs set up at the same time; IF NOT EXISTS is not
            # safe against a concurrent CREATE, so take turns.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SETUP_LOCK)))
            # Extensions are per database: keep them in a schema of their own, on the path.
            conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS coord_extensions"))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA coord_extensions"))
            conn.execute(sa.text("ALTER EXTENSION pg_trgm SET SCHEMA coord_extensions"))
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL at COORD_TEST_DATABASE_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: cannot connect ({exc.__class__.__name__})")
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema},coord_extensions"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def _years_after_the_package() -> list[int]:
    """Return the years from the calendar package's last one to next year."""
    known = official_calendar().years or frozenset({utcnow().year})
    return list(range(max(known) + 1, utcnow().year + 2))


def settings_for(database_url: str, **extra) -> dict:
    """Return the settings every test app uses."""
    return {
        "ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "DATA_KEY": DATA_KEY,
        "AUDIT_SIGNING_KEY": audit_chain.new_private_key(),  # one per app
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        # Background network jobs never run by themselves in tests, whatever COORD_NETWORK_JOBS
        # or COORD_REDIS_URL say in the environment; a test that wants them asks for them.
        "NETWORK_JOBS": "",
        # Deadlines set today must not fail once they reach a year whose holidays the
        # installed calendar package does not know yet (tests of that case clear this).
        "WORK_CALENDAR_ASSUMED_YEARS": _years_after_the_package(),
        "REDIS_URL": "",
        **extra,
    }


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database, once per backend for the whole session (of each xdist worker:
    tmp_path_factory is per worker, and so is the PostgreSQL schema)."""
    if request.param == "sqlite":
        urls = iter(["sqlite:///" + str(tmp_path_factory.mktemp("db") / "coord-test.db")])
    else:
        urls = _postgres_url()
    url = next(urls)
    app = create_app(settings_for(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    next(urls, None)


def _empty_tables() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in reversed(tables):
            db.session.execute(sa.text(f"DELETE FROM {name}"))  # noqa: S608 (table names)
    db.session.commit()


def _discard_session() -> None:
    """Drop the session after a failed clean-up, never returning its connection to the pool.

    An exception in the middle of a query (a timeout, a signal) can leave the connection
    busy ("another command is already in progress") or idle in a transaction that holds
    TRUNCATE's locks; reused, it would fail or block every later test.
    """
    try:
        db.session.invalidate()
    finally:
        db.session.remove()


class FreshGlobalsClient(FlaskClient):
    """A test client whose every request starts with an empty `g`.

    A request reuses the test's pushed application context (and so its database
    session), but must not see what an earlier request cached in `g`, such as the
    signed-in user.
    """

    def open(self, *args, **kwargs):
        ctx = _cv_app.get(None)
        if ctx is not None and ctx.app is self.application:
            ctx.g.__dict__.clear()
        return super().open(*args, **kwargs)


def _new_app(database_url: str, **extra) -> Flask:
    rv = create_app(settings_for(database_url, **extra))
    rv.test_client_class = FreshGlobalsClient
    return rv


@pytest.fixture(scope="session")
def shared_app(database_url: str) -> Iterator[Flask]:
    """One app per backend for the whole session (templates compiled once)."""
    rv = _new_app(database_url)
    yield rv
    with rv.app_context():
        db.engine.dispose()


class JoinedSession(FlaskSession):
    """`db.session` during a transactional test.

    Statements for the test database go through the test's own connection, inside a
    savepoint of its outer transaction (`join_transaction_mode="create_savepoint"`), so
    the application's `commit()` releases a savepoint and its `rollback()` returns to one,
    and nothing outlives the test. This holds for every app on that database (the shared
    app and those of `make_app`); an app on another database (a test's own SQLite file)
    uses its engine as usual. Flask-SQLAlchemy's `get_bind` ignores a session's `bind`,
    hence this subclass.
    """

    def __init__(self, db, *, test_connection: sa.Connection, test_thread: int, **kwargs) -> None:
        super().__init__(db, **kwargs)
        self.test_connection = test_connection
        self.test_thread = test_thread

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        rv = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if isinstance(rv, sa.Engine) and rv.url == self.test_connection.engine.url:
            if threading.get_ident() != self.test_thread:
                raise RuntimeError(
                    "another thread used the database inside a transactional test: one "
                    "connection must never serve two threads; mark the test "
                    "@pytest.mark.committed"
                )
            return self.test_connection
        return rv


def _transactional() -> Iterator[None]:
    """Run the test inside an outer transaction that is rolled back at its end."""
    connection = db.engine.connect()
    transaction = connection.begin()
    outer = db.session
    db.session = db._make_scoped_session(
        {
            "class_": JoinedSession,
            "test_connection": connection,
            "test_thread": threading.get_ident(),
            "join_transaction_mode": "create_savepoint",
        }
    )
    try:
        yield
    finally:
        try:
            db.session.remove()
        finally:
            db.session = outer
            try:
                transaction.rollback()
            except BaseException:
                connection.invalidate()  # busy or broken: never back into the pool
                raise
            finally:
                connection.close()


def _committed() -> Iterator[None]:
    """Let the test commit for real; empty every table at its end."""
    try:
        yield
    finally:
        try:
            db.session.rollback()
            _empty_tables()
        except BaseException:
            _discard_session()
            raise
        db.session.remove()


@pytest.fixture
def app(shared_app: Flask, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The shared app with an application context pushed, inside a transaction.

    Each test runs in an outer transaction rolled back at its end (see `JoinedSession`).
    Tests marked `committed` (several connections: threads, concurrency) commit for real
    and the tables are emptied afterwards.

    Messages raised outside a request (service tests) are in English; requests still pick
    their language as the app does (Chinese by default).
    """
    forget_caches()  # keyed by ids, which SQLite reuses after a rollback
    committed = request.node.get_closest_marker("committed") is not None
    with shared_app.app_context(), force_locale("en"):
        for _ in (_committed if committed else _transactional)():
            yield shared_app


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """Fail a test that leaves SIGINT or SIGTERM handled differently.

    An RQ worker installs its own handlers, which turn Ctrl-C or a CI timeout into an
    ordinary exception raised in the middle of whatever query later tests are running.
    SIGALRM is pytest-timeout's: it sets and clears its handler around each test (and
    clears it early when a test fails), so checking it would add an error to every failure.
    """
    signals = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.getsignal(s) for s in signals}
    yield
    changed = [s.name for s in signals if signal.getsignal(s) != before[s]]
    for s in signals:
        signal.signal(s, before[s])
    if changed:
        pytest.fail(f"the test left these signal handlers changed: {', '.join(changed)}")


@pytest.fixture
def network_threads(app: Flask) -> Iterator[None]:
    """For tests that run background network jobs in threads: wait for them at the end.

    A thread that outlives its test keeps querying while the tables are emptied and the
    next test runs (its statements then count in that test's query counts).
    """
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("coord-network-"):
            thread.join(timeout=30)
            if thread.is_alive():
                pytest.fail(f"background job {thread.name} did not finish")


@pytest.fixture
def rq_jobs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[RQJobs]:
    """Jobs go to RQ on a real Redis (skipped without one), in queues of this test only;
    `rq_jobs.work()` runs them in this thread."""
    url = redis_url_for_tests()
    if url is None:
        pytest.skip("no Redis at COORD_TEST_REDIS_URL / 127.0.0.1:6379")
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "JOBS_QUEUE_PREFIX", unique_prefix("jobs"))
    rv = RQJobs(app)
    yield rv
    rv.delete()


@pytest.fixture(scope="session")
def _bare_app() -> Flask:
    return _new_app("sqlite://")  # never connected to


@pytest.fixture
def bare_app(_bare_app: Flask) -> Iterator[Flask]:
    """An app context without a database, for tests of settings, translations and rendering:
    they run once, not once per backend."""
    with _bare_app.app_context(), force_locale("en"):
        yield _bare_app


@pytest.fixture
def make_bare_app() -> Callable[..., Flask]:
    """Build an app with other settings that never touches a database (runs once)."""
    return lambda **extra: _new_app("sqlite://", **extra)


@pytest.fixture
def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build an extra app with other settings on the same test database.

    In a transactional test its sessions join the test's connection too (same thread).
    """
    apps: list[Flask] = []

    def build(**extra) -> Flask:
        rv = _new_app(database_url, **extra)
        apps.append(rv)
        return rv

    yield build
    for extra_app in apps:
        with extra_app.app_context():
            db.session.remove()
            db.engine.dispose()
    if apps:  # Flask-Limiter's switch is shared by every app: restore the shared app's
        limiter.enabled = app.config["RATELIMIT_ENABLED"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[[User], FlaskClient]:
    """Sign `client` in as a user (Flask-Login's session keys, no password round-trip)."""

    def login(user: User, acting_as: Stakeholder | None = None) -> FlaskClient:
        with client.session_transaction() as session:
            session["_user_id"] = user.session_token
            session["_fresh"] = True
            if acting_as is not None:
                session["acting_as"] = acting_as.id
        return client

    return login


@pytest.fixture
def community(app: Flask) -> Community:
    street = Street(name="清河街道")
    rv = Community(street=street, name="兰苑社区")
    db.session.add_all([street, rv])
    db.session.commit()
    return rv


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(
        username: str | None = None, *, is_admin: bool = False, display_name: str = ""
    ) -> User:
        from coord import accounts

        name = username or f"user{next(counter)}"
        user = accounts.register_user(name, display_name or name, PASSWORD, is_admin=is_admin)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_org(app: Flask, community: Community) -> Callable[..., Stakeholder]:
    def make(
        name: str = "安居物业",
        kind: Kind = Kind.BUSINESS,
        function: Function = Function.PROPERTY_MANAGER,
        *,
        admin: User | None = None,
        members: dict[User, Role] | None = None,
        in_community: bool = True,
        confirmed: bool = True,
    ) -> Stakeholder:
        org = Stakeholder(
            kind=kind,
            function=function,
            name=name,
            street_id=community.street_id,
            community_id=community.id if in_community else None,
            is_confirmed=confirmed,
        )
        db.session.add(org)
        db.session.flush()
        for user, role in (({admin: Role.ADMIN} if admin else {}) | (members or {})).items():
            db.session.add(
                Membership(
                    user_id=user.id,
                    organisation_id=org.id,
                    role=role,
                    status=MembershipStatus.ACTIVE,
                    decided_at=utcnow(),
                )
            )
        db.session.commit()
        from stakeholders.permissions import forget_roles

        forget_roles()
        return org

    return make


@pytest.fixture
def committee(make_org: Callable[..., Stakeholder], make_user: Callable[..., User]) -> Stakeholder:
    """The community's residents committee with one admin, `committee.admin_user`."""
    staff = make_user("rc_staff")
    rv = make_org(
        "兰苑社区居委会", Kind.SOCIAL_ORGANIZATION, Function.RESIDENTS_COMMITTEE, admin=staff
    )
    rv.admin_user = staff
    return rv


@pytest.fixture
def make_resident(app: Flask, community: Community, make_user: Callable[..., User]):
    def make(
        username: str | None = None,
        *,
        status: ResidenceStatus = ResidenceStatus.VERIFIED,
        phone: str = "13812345678",
        building: str = "3",
        unit: str = "501",
    ) -> User:
        user = make_user(username)
        profile = ResidentProfile(
            user_id=user.id, community_id=community.id, building=building, unit=unit, status=status
        )
        profile.phone = phone
        db.session.add(profile)
        db.session.commit()
        return user

    return make


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], QueryCounter]:
    return lambda: QueryCounter(db.engine)

"""The application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import load_dotenv
from werkzeug.middleware.proxy_fix import ProxyFix

from coord import config as default_config
from coord.crypto import load_data_key, load_signing_key
from coord.db import db
from coord.extensions import babel, csrf, limiter, login_manager, migrate
from coord.runtime import runtime_problems, setting_errors
from coord.web import IdConverter

_ROOT = Path(__file__).resolve().parent.parent


def asset_folder(name: str) -> Path:
    """Return the templates, static or migrations folder: the installed wheel's or the checkout's.

    A wheel ships the top-level folders as the package ``coord_assets`` beside ``coord``
    (setup.cfg); a checkout or an editable install has them beside the ``coord`` folder.
    """
    installed = _ROOT / "coord_assets" / name
    return installed if installed.is_dir() else _ROOT / name


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete for the chosen environment."""


def _database_url(app: Flask) -> str:
    if app.config.get("DATABASE_URL"):
        return app.config["DATABASE_URL"]
    return "sqlite:///" + os.path.join(app.instance_path, "coord.db")


def _check_production(app: Flask) -> None:
    problems = []
    if app.config["SECRET_KEY"] in ("", default_config.DEFAULT_SECRET_KEY):
        problems.append("COORD_SECRET_KEY is missing or the default: set a long random string")
    if not app.config.get("DATA_KEY"):
        problems.append("COORD_DATA_KEY is missing: set a Fernet key (see the README)")
    if not app.config.get("AUDIT_SIGNING_KEY"):
        problems.append(
            "COORD_AUDIT_SIGNING_KEY (or COORD_AUDIT_SIGNING_KEY_FILE) is missing: the audit "
            "trail's checkpoints need an Ed25519 key kept outside the database"
        )
    problems += runtime_problems(app.config, debug=app.debug)
    if problems:
        raise ConfigError(
            "refusing to start in production: "
            + "; ".join(problems)
            + " (set COORD_ENV=development for a local trial)"
        )


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Coord application.

    Under a `flask` command, a refused configuration ends the command with its one-line
    message (no traceback) and exit status 1.
    """
    try:
        return _create_app(test_config)
    except ConfigError as exc:
        if click.get_current_context(silent=True) is not None:
            raise click.ClickException(str(exc)) from None
        raise


def _create_app(test_config: dict[str, Any] | None) -> Flask:
    if not os.environ.get("FLASK_SKIP_DOTENV"):
        load_dotenv()  # .flaskenv and .env, as `flask` does; set variables win
    app = Flask(
        __name__,
        template_folder=str(asset_folder("templates")),
        static_folder=str(asset_folder("static")),
        instance_path=os.environ.get("COORD_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("COORD")
    if test_config:
        app.config.update(test_config)
    if app.config["ENV"] != "production":
        app.config["SESSION_COOKIE_SECURE"] = False
    app.url_map.converters["int"] = IdConverter
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app)
    load_data_key(app)
    errors = setting_errors(app.config)
    if errors:
        raise ConfigError("; ".join(errors))
    try:
        load_signing_key(app)
    except ValueError as exc:
        raise ConfigError(f"refusing to start: {exc}") from None
    if app.config["ENV"] == "production":
        _check_production(app)

    if app.config.get("PROXY_FIX"):  # behind nginx or another reverse proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    db.init_app(app)
    migrate.init_app(app, db, directory=str(asset_folder("migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    _register_packages(app)
    return app


def _register_packages(app: Flask) -> None:
    """Bind the core, then every package in dependency order (lower packages first).

    Each package's `init_app` registers its blueprints, CLI commands, signal receivers,
    proposal page parts and demo loader; demo loaders run in this order. Only this function
    imports every package (lower packages never import higher ones).
    """
    import proposals
    import proposals.deliberation
    import proposals.tenders
    import proposals.tracking
    import stakeholders
    import stakeholders.network
    import voting
    from coord import (
        api,
        audit,
        auth,
        cli,
        errors,
        i18n,
        inbox,
        logs,
        notifications,
        ops,
        schedule,
        security,
        signals,
        tasks,
        views,
    )

    logs.init_app(app)
    i18n.init_app(app, babel)
    security.init_app(app)
    ops.init_app(app)
    errors.register_error_handlers(app)
    auth.init_app(app)
    cli.init_app(app)
    schedule.init_app(app)
    for blueprint in (views.bp, api.bp, inbox.bp):
        app.register_blueprint(blueprint)
    signals.user_deleting.connect(notifications.on_user_deleting)
    signals.user_data_requested.connect(notifications.on_user_data_requested)
    tasks.add_task_source(app, notifications.unread_tasks)
    signals.clock_ticked.connect(audit.checkpoint_on_tick)
    for package in (
        stakeholders,
        stakeholders.network,
        proposals,
        proposals.deliberation,
        proposals.tenders,
        proposals.tracking,
        voting,
    ):
        package.init_app(app)

"""The application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from coord import config as default_config
from coord.crypto import load_data_key
from coord.db import db
from coord.extensions import babel, csrf, limiter, login_manager, migrate
from coord.web import IdConverter

_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete for the chosen environment."""


def _database_url(app: Flask) -> str:
    if app.config.get("DATABASE_URL"):
        return app.config["DATABASE_URL"]
    return "sqlite:///" + os.path.join(app.instance_path, "coord.db")


def _check_production(app: Flask) -> None:
    problems = []
    if app.config["SECRET_KEY"] in ("", default_config.DEFAULT_SECRET_KEY):
        problems.append("COORD_SECRET_KEY is missing or the default")
    if not app.config.get("DATA_KEY"):
        problems.append("COORD_DATA_KEY is missing")
    if problems:
        raise ConfigError(
            "refusing to start in production: "
            + "; ".join(problems)
            + " (set COORD_ENV=development for a local trial)"
        )


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Coord application."""
    app = Flask(
        __name__,
        template_folder=str(_ROOT / "templates"),
        static_folder=str(_ROOT / "static"),
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
    if app.config["ENV"] == "production":
        _check_production(app)

    if app.config.get("PROXY_FIX"):  # behind nginx or another reverse proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from coord import auth, cli, errors, i18n, security, views

    i18n.init_app(app, babel)
    security.init_app(app)
    errors.register_error_handlers(app)
    auth.init_app(app)
    cli.init_app(app)
    app.register_blueprint(views.bp)

    import proposals.comment_views
    import proposals.deliberation_views
    import proposals.models
    import proposals.moderation_views
    import proposals.tender_models
    import proposals.tracking_models
    import proposals.views
    import stakeholders.api
    import stakeholders.demo
    import stakeholders.demo_relations
    import stakeholders.network_api
    import stakeholders.network_views
    import stakeholders.views
    import voting.models  # noqa: F401 (every model is known to migrations)
    from coord import api

    app.register_blueprint(stakeholders.views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(stakeholders.api.bp)
    app.register_blueprint(proposals.views.bp)
    app.register_blueprint(proposals.comment_views.bp)
    app.register_blueprint(proposals.deliberation_views.bp)
    app.register_blueprint(proposals.moderation_views.bp)

    import proposals.api
    import proposals.notify  # (connects its signal receivers)
    from coord import notification_views

    app.register_blueprint(notification_views.bp)
    app.register_blueprint(proposals.api.bp)

    import proposals.dashboard_views
    import proposals.demo_tracking
    import proposals.tracking_cli
    import proposals.tracking_views  # noqa: F401 (demo receiver, CLI and proposal page parts)

    app.register_blueprint(proposals.tracking_views.bp)
    app.register_blueprint(proposals.dashboard_views.bp)

    import proposals.demo_tenders  # (its demo receiver runs after stakeholders.demo)
    import proposals.tender_api
    import proposals.tender_views

    app.register_blueprint(proposals.tender_views.bp)
    app.register_blueprint(proposals.tender_api.bp)

    import voting.api
    import voting.views
    from voting.cli import voting_cli

    app.register_blueprint(voting.views.bp)
    app.register_blueprint(voting.api.bp)
    cli.coord_cli.add_command(voting_cli)

    import proposals.conflict_map
    import proposals.stances
    import voting.stances

    app.register_blueprint(stakeholders.network_views.bp)
    app.register_blueprint(stakeholders.network_api.bp)
    return app

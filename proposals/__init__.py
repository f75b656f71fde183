"""Proposals: what every kind shares (models, lifecycle, services, pages, API, notifications);
one sub-package per family: `deliberation`, `tenders`, `tracking`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the proposal pages and API and the notification receiver of state changes."""
    from coord import signals, tasks
    from proposals import api, notify, queries, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    signals.proposal_transitioned.connect(notify.on_proposal_transitioned)
    tasks.add_highlight_source(app, queries.active_consultations)
    tasks.add_highlight_source(app, queries.recent_decisions)

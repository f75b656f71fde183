"""Stakeholders: the four kinds, organisations and memberships, residents' verification and
personal data; the conflict network in `stakeholders.network`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the stakeholder pages, their API, the account receivers and the demo."""
    from coord import signals
    from stakeholders import api, demo, services, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    signals.user_registered.connect(services.on_user_registered)
    signals.user_deleting.connect(services.on_user_deleting)
    signals.user_data_requested.connect(services.on_user_data_requested)
    signals.demo_loading.connect(demo.load)

"""Proposals: what every kind shares (models, lifecycle, services, pages, API, notifications);
one sub-package per family: `deliberation`, `tenders`, `tracking`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the proposal pages and API, the notification receivers, the stance sources
    of deliberation for the network, and the demo deliberations."""
    from coord import signals
    from proposals import api, demo, notify, stances, views
    from stakeholders.network.stances import register_stance_source

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    signals.comment_posted.connect(notify.on_comment_posted)
    signals.position_declared.connect(notify.on_position_declared)
    signals.proposal_transitioned.connect(notify.on_proposal_transitioned)
    signals.amendment_decided.connect(notify.on_amendment_decided)
    signals.report_handled.connect(notify.on_report_handled)
    register_stance_source(
        stances.position_stances,
        name="proposals.positions",
        version=stances.position_version,
        labels=stances.proposal_labels,
    )
    register_stance_source(
        stances.comment_stances, name="proposals.comments", version=stances.comment_version
    )
    signals.position_declared.connect(stances.on_position)
    signals.comment_posted.connect(stances.on_comment)
    signals.demo_loading.connect(demo.load)

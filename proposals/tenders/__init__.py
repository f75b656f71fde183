"""Tenders: publish, sealed bids, opening, evaluation, award, standstill, contract, OCDS."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the tender pages and API, the tender part of proposal pages, the lifecycle guard,
    the scheduled tick's due work, the `flask coord tenders` commands, the demo tender and
    the bidders who hear about the tender's steps."""
    from coord import signals, tasks
    from coord.cli import coord_cli
    from proposals import notify
    from proposals import views as proposal_views
    from proposals.tenders import api, cli, deadlines, demo, queries, services, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    proposal_views.add_detail_part("tenders/_part.html", views.proposal_part)
    signals.proposal_transitioned.connect(services.refuse_generic_steps)
    signals.clock_ticked.connect(deadlines.finalize_due)
    coord_cli.add_command(cli.tenders_cli)
    tasks.add_task_source(app, queries.bid_tasks)
    signals.demo_loading.connect(demo.load)
    notify.add_participant_source(services.participants)

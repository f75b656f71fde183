"""Voting: polls, ballots, eligibility, tallies, results and the ballot bulletin."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the poll pages and API, the poll part of proposal pages, the ballot stances for
    the network, the withdrawal and tick receivers, the poll result a decision cites, the
    `flask coord voting` commands and the ballots-cast metric."""
    from coord import ops, signals, tasks
    from coord.cli import coord_cli
    from proposals import views as proposal_views
    from proposals.decision import add_evidence_source
    from proposals.tracking.plans import add_consultation_result
    from stakeholders.network.stances import register_stance_source
    from voting import api, queries, services, stances, views
    from voting.cli import settle_due_polls, voting_cli
    from voting.plan_results import poll_evidence, poll_result

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    proposal_views.add_detail_part("voting/_proposal_poll.html", views.proposal_part)
    register_stance_source(
        stances.ballot_stances,
        name="voting.ballots",
        version=stances.ballot_version,
        labels=stances.poll_labels,
    )
    signals.proposal_transitioned.connect(services.on_proposal_transitioned)
    add_consultation_result(poll_result)
    add_evidence_source(poll_evidence)
    signals.clock_ticked.connect(settle_due_polls)
    coord_cli.add_command(voting_cli)
    tasks.add_task_source(app, queries.vote_tasks)
    tasks.add_highlight_source(app, queries.open_polls)
    ops.add_gauge("coord_ballots_cast", "Ballots cast in all polls.", services.count_ballots)

"""Deliberation: comments, positions and interests, amendments, moderation, negotiation,
the conflict map and merge."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the comment, deliberation and moderation pages, their JSON endpoints, the
    proposal page's sections and conflict map, the notification receivers, the stance
    sources for the network, the demo deliberations, the accepted amendments a decision
    cites and the conditions on the home page's task list."""
    from coord import signals, tasks
    from proposals import decision
    from proposals import stances as proposal_stances
    from proposals import views as proposal_views
    from proposals.deliberation import amendments as amendment_services
    from proposals.deliberation import (
        api,
        conflict_map,
        demo,
        notify,
        page,
        queries,
        stances,
        views,
    )
    from proposals.deliberation.views import amendments, comments, moderation, positions  # noqa: F401
    from stakeholders.network import services as network_service
    from stakeholders.network.stances import register_stance_source

    app.jinja_env.globals["is_own_identity"] = page.is_own_identity
    app.register_blueprint(comments.bp)
    app.register_blueprint(views.bp)  # with the routes of `positions` and `amendments`
    app.register_blueprint(moderation.bp)
    api.add_endpoints(app)
    proposal_views.add_detail_part("network/_proposal_conflict.html", conflict_map.context)
    proposal_views.add_detail_section(page.TEMPLATES, page.context, page.is_deliberated)
    tasks.add_task_source(app, queries.condition_tasks)
    network_service.network_changed.connect(notify.on_network_changed)
    signals.comment_posted.connect(notify.on_comment_posted)
    signals.position_declared.connect(notify.on_position_declared)
    signals.amendment_decided.connect(notify.on_amendment_decided)
    signals.report_handled.connect(notify.on_report_handled)
    register_stance_source(
        stances.position_stances,
        name="proposals.positions",
        version=stances.position_version,
        labels=proposal_stances.proposal_labels,
    )
    register_stance_source(
        stances.comment_stances, name="proposals.comments", version=stances.comment_version
    )
    signals.position_declared.connect(stances.on_position)
    signals.comment_posted.connect(stances.on_comment)
    signals.demo_loading.connect(demo.load)
    decision.add_evidence_source(amendment_services.accepted_evidence)

"""Plan approvals and tracked requests: review routes, deadlines in working days, the
supervision dashboard and its charts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the plan, request and dashboard pages and their JSON, the lifecycle receivers,
    the review reminders on the scheduler's tick, the extra lifecycle roles, the
    `flask coord tracking` commands, the demo and the overdue-requests metric."""
    from coord import ops, signals, tasks
    from coord.cli import coord_cli
    from proposals import permissions
    from proposals import views as proposal_views
    from proposals.tracking import api, cli, dashboard, demo, plans, queries, requests, views
    from proposals.tracking.permissions import extra_roles

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(views.dashboard.bp)
    proposal_views.add_kind_page("request", views.requests.request_page)
    proposal_views.add_detail_part("tracking/_plan.html", views.plans.plan_part)
    permissions.add_role_provider(extra_roles)
    signals.proposal_published.connect(requests.on_published)
    signals.proposal_transitioned.connect(requests.on_transitioned)
    signals.proposal_published.connect(plans.on_published)
    signals.proposal_transitioned.connect(plans.on_transitioned)
    signals.clock_ticked.connect(plans.remind_on_tick)
    coord_cli.add_command(cli.tracking_cli)
    tasks.add_task_source(app, queries.review_tasks)
    tasks.add_task_source(app, queries.request_tasks)
    tasks.add_highlight_source(app, queries.public_figures)
    signals.demo_loading.connect(demo.load)
    ops.add_gauge(
        "coord_requests_overdue",
        "Open residents' requests past a deadline.",
        dashboard.count_overdue,
    )

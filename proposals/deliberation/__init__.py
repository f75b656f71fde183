"""Deliberation: comments, positions and interests, amendments, moderation, negotiation,
the conflict map, merge and diff."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the comment, deliberation and moderation pages and the proposal's conflict map."""
    from proposals import views as proposal_views
    from proposals.deliberation import comment_views, conflict_map, moderation_views, views
    from stakeholders.network import services as network_service

    app.register_blueprint(comment_views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(moderation_views.bp)
    proposal_views.add_detail_part("network/_proposal_conflict.html", conflict_map.context)
    network_service.network_changed.connect(conflict_map.on_network_changed)

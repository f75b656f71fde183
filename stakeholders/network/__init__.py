"""The conflict network: pure analysis, declared and inferred relations, the cached report,
the graph, its pages and API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the network pages, the network API and the demo relations."""
    from coord import signals
    from stakeholders.network import api, demo, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    signals.demo_loading.connect(demo.load)

"""The pages of plan approvals, tracked requests and the supervision dashboard.

- `common`: the ``tracking`` blueprint, its filters and what its pages share;
- `requests` and `plans`: their pages, forms, actions and proposal-page sections
  (on the ``tracking`` blueprint);
- `calendar`: the working-day calendar's local adjustments (on ``tracking``);
- `dashboard`: the ``dashboard`` blueprint.
"""

from __future__ import annotations

from proposals.tracking.views import calendar, dashboard, plans, requests
from proposals.tracking.views.common import bp

__all__ = ["bp", "calendar", "dashboard", "plans", "requests"]

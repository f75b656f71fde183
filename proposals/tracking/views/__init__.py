"""The pages of plan approvals, tracked requests and the supervision dashboard.

- `common`: the ``tracking`` blueprint, its filters and what its pages share;
- `requests` and `plans`: their pages, forms, actions and proposal-page sections
  (on the ``tracking`` blueprint);
- `dashboard`: the ``dashboard`` blueprint.
"""

from __future__ import annotations

from proposals.tracking.views import dashboard, plans, requests
from proposals.tracking.views.common import bp

__all__ = ["bp", "dashboard", "plans", "requests"]

"""Demo data for story 3: the street office's tender for the elderly canteen (社区长者食堂).

Runs after `stakeholders.demo` (receivers run in import order) and uses its organisations.
The tender is published and in its enquiry period: Lüyuan Catering asked a question that
the street office answered; the panel (Social Affairs, the volunteer association and Anju)
has not taken its opening shares yet, so signing in as `social`, `volunteers` or `anju` shows
the share page. The network ties the conflict check finds (Anju's service contracts, the
Heshun–Anju affiliation) are seeded by `stakeholders.network.demo`.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from coord.db import db, utcnow
from coord.models import User
from proposals.tenders import services
from stakeholders.acting import Actor


def _login(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def load(created: dict) -> None:
    """Add the canteen tender in its enquiry period, with one answered question."""
    orgs = created.get("organisations")
    if not orgs:
        return
    now = utcnow()
    office = Actor(_login("qinghe"), orgs["street_office"])
    tender = services.create_tender(
        office,
        {
            "community_id": created["communities"]["xinhe"].id,
            "title": "新河社区长者食堂运营服务招标",
            "summary": "为新河社区60岁以上老人提供午餐和晚餐，含送餐上门服务，服务期两年。",
            "scope": (
                "新河社区长者食堂（新河社区服务中心一层）日常运营，"
                "午餐、晚餐，行动不便老人送餐上门；服务期2年。"
            ),
            "body": (
                "## 服务要求\n\n"
                "- 每日供应午餐、晚餐，每餐至少两荤两素一汤；\n"
                "- 少盐少油，提供软食和糖尿病餐；\n"
                "- 对80岁以上及行动不便老人提供送餐上门；\n"
                "- 食品安全等级不低于B级，配备持证营养师。\n"
            ),
            "category": "services",
            "budget_ceiling": "960000",
            "budget_public": True,
            "verified_only": True,
            "conditions": "持有有效的食品经营许可证。",
            "price_weight": 40,
            "quality": [("服务方案", 30), ("食品安全管理", 20), ("送餐与适老服务", 10)],
            "enquiry_ends_at": now + timedelta(days=7),
            "bid_deadline_at": now + timedelta(days=21),
            "opening_at": now + timedelta(days=21, hours=1),
            "standstill_days": 10,
            "panel": ["social", "volunteers", "anju"],
            "shares_needed": 2,
            "publish": True,
        },
    )
    question = services.ask_question(
        Actor(_login("lvyuan"), orgs["lvyuan"]),
        tender,
        "送餐上门的范围是否包括新河社区以外的老人？餐费补贴由谁结算？",
    )
    services.answer_question(
        office,
        tender,
        question,
        "送餐范围仅限新河社区登记在册的老人。餐费补贴由街道社会事务科按月与中标单位结算。",
    )
    db.session.flush()
    created["tenders"] = {"canteen": tender}

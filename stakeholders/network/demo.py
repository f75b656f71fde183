"""The demo neighbourhood's relations: the tensions of ../shared/SCENARIOS.md.

Runs after `stakeholders.demo` (imported first below, so its receiver is connected first)
and declares, through the relation services, the ties worth seeding: the owners committee
and the volunteer association are allies; Anju Property holds the service contract of both
communities and is in dispute with the owners committee over fees (Anju disputes that
account: both sides are shown); Heshun Construction's director is related to a member of
Anju's board (an affiliation); the street office supervises Anju; residents of Lanyuan
building 3 are in a parking dispute with Anju; the volunteer association cooperates with
everybody and is the broker; in Xinhe, building 5 complains about square-dancing noise. One
neighbour dispute is visible to the committee and the street office only.

Relations get back-dated creation times, and a report "of a month ago" is stored for each
community and scope, so that the network page's "since last month" has something to say:
the parking and noise disputes are new.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from coord.db import db, utcnow
from coord.models import User
from stakeholders import demo as _base_demo  # noqa: F401 (its receiver must run first)
from stakeholders.acting import Actor
from stakeholders.models import Membership, MembershipStatus, Relation, Role, Stakeholder
from stakeholders.network import relations
from stakeholders.network import services as network_service

# source, target, type, strength, days ago, visibility, note, evidence, answer
# answer: ("confirm" | "dispute" | "verify", text) or None; keys are organisation keys or
# resident logins (prefixed with "@").
RELATIONS = [
    (
        "owners",
        "volunteers",
        "alliance",
        2,
        120,
        "public",
        "共同推动长者食堂建设和物业费用公开。",
        "2025年联合倡议书",
        ("confirm", ""),
    ),
    (
        "owners",
        "lanyuan_rc",
        "cooperation",
        2,
        150,
        "public",
        "业委会与居委会每月联席会议。",
        "联席会议纪要",
        ("confirm", ""),
    ),
    (
        "anju",
        "lanyuan_rc",
        "contract",
        3,
        400,
        "public",
        "兰苑小区物业服务合同（2021—2026年）。",
        "合同编号 LY-2021-07",
        ("verify", ""),
    ),
    (
        "anju",
        "xinhe_rc",
        "contract",
        3,
        400,
        "public",
        "新河小区物业服务合同（2021—2026年）。",
        "合同编号 XH-2021-03",
        ("verify", ""),
    ),
    (
        "owners",
        "anju",
        "dispute",
        3,
        90,
        "public",
        "物业费上涨15%，业委会认为服务没有相应改善。",
        "2025年业主大会决议",
        ("dispute", "调价符合合同约定，并已公示三十天。"),
    ),
    (
        "heshun",
        "anju",
        "affiliation",
        2,
        200,
        "public",
        "和顺建筑的董事长与安居物业的一名董事是亲属。",
        "企业自行申报",
        ("confirm", ""),
    ),
    (
        "street_office",
        "anju",
        "supervision",
        2,
        400,
        "public",
        "街道办对物业服务企业的日常监管。",
        "",
        None,
    ),
    (
        "volunteers",
        "anju",
        "cooperation",
        1,
        100,
        "public",
        "物业为长者助餐点提供场地。",
        "场地借用协议",
        ("confirm", ""),
    ),
    (
        "social_affairs",
        "volunteers",
        "cooperation",
        2,
        300,
        "public",
        "社会事务科资助志愿者协会的助老服务。",
        "2025年政府购买服务合同",
        ("confirm", ""),
    ),
    (
        "volunteers",
        "lanyuan_rc",
        "cooperation",
        2,
        200,
        "public",
        "志愿者协助居委会开展助老服务。",
        "",
        ("confirm", ""),
    ),
    (
        "@wangguihua",
        "owners",
        "membership",
        1,
        300,
        "public",
        "业委会楼栋代表。",
        "",
        ("confirm", ""),
    ),
    (
        "@liming",
        "volunteers",
        "membership",
        1,
        250,
        "public",
        "志愿者，周末参加助餐服务。",
        "",
        ("confirm", ""),
    ),
    (
        "@liming",
        "anju",
        "dispute",
        3,
        10,
        "public",
        "物业把3号楼前的车位改为收费车位，影响小店进货。",
        "物业通知（2026年第3号）",
        ("dispute", "车位调整经过业主大会表决。"),
    ),
    ("@resident03", "anju", "dispute", 2, 8, "public", "3号楼前停车位被划为收费车位。", "", None),
    (
        "@resident15",
        "anju",
        "dispute",
        2,
        6,
        "public",
        "3号楼停车收费，老人就医接送不方便。",
        "",
        None,
    ),
    (
        "@wangguihua",
        "@resident03",
        "cooperation",
        1,
        200,
        "public",
        "邻居，互相照应。",
        "",
        ("confirm", ""),
    ),
    (
        "@resident15",
        "@liming",
        "conflict",
        2,
        12,
        "managers",
        "小店夜间进货噪音扰民，双方多次争吵。",
        "居委会调解记录",
        None,
    ),
    (
        "xinhe_rc",
        "volunteers",
        "cooperation",
        2,
        180,
        "public",
        "新河社区助老服务合作。",
        "",
        ("confirm", ""),
    ),
    (
        "lvyuan",
        "volunteers",
        "cooperation",
        1,
        60,
        "public",
        "为长者食堂试供午餐。",
        "",
        ("confirm", ""),
    ),
    (
        "@chenjing",
        "volunteers",
        "conflict",
        2,
        9,
        "public",
        "广场舞音量过大，影响5号楼住户休息。",
        "12345热线投诉记录",
        ("dispute", "我们已经调低音量并缩短时间。"),
    ),
    (
        "@resident04",
        "volunteers",
        "membership",
        1,
        200,
        "public",
        "广场舞队成员。",
        "",
        ("confirm", ""),
    ),
    ("@chenjing", "@resident04", "conflict", 1, 9, "public", "广场舞噪音。", "", None),
    (
        "@zhaolei",
        "@chenjing",
        "cooperation",
        1,
        120,
        "public",
        "同一业主群的热心邻居。",
        "",
        ("confirm", ""),
    ),
]

COMMUNITY_OF = {
    "xinhe_rc": "xinhe",
    "lvyuan": "xinhe",
    "@chenjing": "xinhe",
    "@resident04": "xinhe",
    "@zhaolei": "xinhe",
}


def _admin(org: Stakeholder) -> User:
    return db.session.scalar(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == org.id,
            Membership.role == Role.ADMIN,
            Membership.status == MembershipStatus.ACTIVE,
        )
        .order_by(Membership.id)
        .limit(1)
    )


def load(created: dict) -> None:
    """Declare the demo's relations through the services and store month-old reports."""
    orgs: dict[str, Stakeholder] = created["organisations"]
    residents: dict[str, User] = created["residents"]
    communities = created["communities"]
    own = {
        s.user_id: s
        for s in db.session.scalars(
            sa.select(Stakeholder).where(
                Stakeholder.user_id.in_([u.id for u in residents.values()])
            )
        )
    }

    def party(key: str) -> Actor:
        if key.startswith("@"):
            user = residents[key[1:]]
            return Actor(user, own[user.id])
        org = orgs[key]
        return Actor(_admin(org), org)

    committee = party("lanyuan_rc")
    committees = {"lanyuan": committee, "xinhe": party("xinhe_rc")}
    now = utcnow()
    declared: list[tuple[Relation, int]] = []
    for source, target, type_, strength, days, visibility, note, evidence, answer in RELATIONS:
        community_key = COMMUNITY_OF.get(source) or COMMUNITY_OF.get(target) or "lanyuan"
        community = communities[community_key]
        src, dst = party(source), party(target)
        relation = relations.declare_relation(
            src,
            community,
            {
                "target_id": dst.stakeholder.id,
                "type": type_,
                "strength": strength,
                "visibility": visibility,
                "note": note,
                "evidence": evidence,
            },
        )
        if answer is not None:
            action, text = answer
            if action == "confirm":
                relations.confirm_relation(dst, relation, text)
            elif action == "dispute":
                relations.dispute_relation(dst, relation, text)
            else:
                relations.verify_relation(committees[community_key], relation)
        declared.append((relation, days))
    for relation, days in declared:
        relation.created_at = now - timedelta(days=days)
        relation.updated_at = now - timedelta(days=max(0, days - 2))
    db.session.flush()
    month_ago = now - timedelta(days=31)
    for community in communities.values():
        for scope in network_service.SCOPES:
            report = network_service.compute(community, scope, as_of=month_ago)
            network_service.store_report(community, scope, report, month_ago)
    db.session.flush()
    network_service.forget_dirty()  # the pages compute the current reports when first shown

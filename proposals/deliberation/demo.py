"""Demo deliberations from ../shared/SCENARIOS.md: the lift of building 3, the waste-sorting
station, Anju's performance and the square-dancing noise. Runs after stakeholders/demo.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from coord.db import db
from coord.models import Signature, User
from proposals import services
from proposals.deliberation import amendments, comments, positions
from proposals.models import Proposal
from stakeholders import demo as _stakeholders_demo  # noqa: F401 (its receiver must run first)
from stakeholders.acting import Actor
from stakeholders.models import Membership, Role, Stakeholder

LIFT_BODY = """\
## 背景
兰苑3号楼建于1996年，共六层，没有电梯。楼内60岁以上居民占一半，王桂花等高层老人上下楼非常困难。

## 方案
- 在3号楼北侧单元入口加装一部观光电梯，平层入户；
- 总造价约 **68万元**，政府补贴 20万元，其余由本单元业主分摊；
- 施工期约 4 个月。

## 需要大家讨论
费用如何分摊、一楼住户的采光和噪音如何保障。
"""

LIFT_AMENDED = LIFT_BODY.replace(
    "- 施工期约 4 个月。",
    """- 施工期约 4 个月，夜间 22:00 至次日 07:00 不施工。

## 费用分摊（按楼层）
| 楼层 | 分摊比例 |
|---|---|
| 一楼 | 0% |
| 二楼 | 8% |
| 三楼 | 16% |
| 四楼 | 22% |
| 五楼 | 26% |
| 六楼 | 28% |""",
)


#: Residents who sign by building in the demo: a complaint about the property company and
#: a complaint about neighbours' noise. The others (the stories' Wang Guihua, Li Ming…)
#: sign by name.
BUILDING_SIGNERS = ("resident09", "resident10")


def _actor(user: User, stakeholder: Stakeholder | None = None) -> Actor:
    own = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == user.id))
    return Actor(user, stakeholder or own)


def _staff(org: Stakeholder) -> Actor:
    user = db.session.scalar(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org.id, Membership.role == Role.ADMIN)
        .order_by(User.id)
        .limit(1)
    )
    return _actor(user, org)


def _consultation(actor: Actor, community_id: int, **data: Any) -> Proposal:
    return services.create_proposal(
        actor,
        {
            "kind": "consultation",
            "community_id": community_id,
            "visibility": "public",
            "publish": True,
        }
        | data,
    )


def _say(actor: Actor, proposal: Proposal, stance: str, body: str, parent=None):
    return comments.post_comment(
        actor,
        proposal,
        {"body": body, "stance": stance, "parent_id": parent.id if parent else None},
    )


def _stand(
    actor: Actor,
    proposal: Proposal,
    stance: str,
    interests: list[str],
    statement: str,
    conditions: str = "",
) -> None:
    positions.declare_position(
        actor,
        proposal,
        {
            "stance": stance,
            "interests": interests,
            "statement": statement,
            "conditions": conditions,
        },
    )


def _lift(orgs: dict, people: dict, lanyuan: int) -> None:
    committee = _staff(orgs["lanyuan_rc"])
    wang, li = _actor(people["wangguihua"]), _actor(people["liming"])
    anju, owners = _staff(orgs["anju"]), _staff(orgs["owners"])
    upper = [_actor(people[f"resident{i:02d}"]) for i in (1, 3, 5)]
    lift = _consultation(
        committee,
        lanyuan,
        title="3号楼加装电梯方案征询",
        summary="居委会就3号楼北侧加装电梯征求全楼住户和相关方意见，重点讨论费用分摊和一楼住户的影响。",
        body=LIFT_BODY,
        category="facilities",
    )
    first = _say(
        wang,
        lift,
        "support",
        "我今年72岁，住五楼，每天上下楼要歇三次。电梯装上了，我们老人才能下楼晒太阳。",
    )
    _say(upper[0], lift, "support", "同意王阿姨，四楼以上的老人都盼着。", parent=first)
    worry = _say(
        li,
        lift,
        "oppose",
        "我家住一楼，还开着小卖部。电梯井挡住采光，施工噪音也影响生意，一楼还要出钱不合理。",
    )
    _say(
        upper[1], lift, "question", "一楼可以不出钱吗？有没有别的小区的做法可以参考？", parent=worry
    )
    _say(
        anju,
        lift,
        "neutral",
        "物业可以配合施工期间的停车和垃圾清运安排，电梯建成后的维保费用需要提前商定。",
    )
    _say(owners, lift, "support", "业委会支持，建议按楼层高低分摊费用，一楼免出资。")
    _stand(wang, lift, "support", ["convenience", "health"], "高层老人出行太难，电梯是刚需。")
    for actor in upper:
        _stand(actor, lift, "support", ["convenience", "health", "property_value"], "支持加装。")
    _stand(
        li,
        lift,
        "conditional",
        ["cost", "noise", "property_value", "business_income"],
        "一楼住户受影响最大。",
        conditions="一楼住户不出资，且夜间22:00至次日07:00不施工，我就支持。",
    )
    _stand(anju, lift, "neutral", ["cost", "safety"], "关注维保责任和施工安全。")
    amendment = amendments.propose_amendment(
        _actor(people["resident07"]),
        lift,
        {
            "title": lift.title,
            "body": LIFT_AMENDED,
            "rationale": "增加按楼层分摊的费用表（一楼为零），并规定夜间不施工，回应一楼住户的顾虑。",
        },
    )
    amendments.support_amendment(wang, amendment)
    amendments.support_amendment(owners, amendment)
    positions.declare_position(
        li,
        lift,
        {
            "stance": "conditional",
            "interests": ["cost", "noise", "property_value", "business_income"],
            "statement": "一楼住户受影响最大。",
            "conditions": "一楼住户不出资，且夜间22:00至次日07:00不施工，我就支持。",
            "condition_amendment_id": amendment.id,
        },
    )


def _waste_station(orgs: dict, people: dict, xinhe: int) -> None:
    committee = _staff(orgs["xinhe_rc"])
    station = _consultation(
        committee,
        xinhe,
        title="新河社区垃圾分类投放点选址",
        summary="四个备选地点：A 2号楼北侧空地、B 商业街东口、C 5号楼与6号楼之间、D 地下车库入口。请大家发表意见。",
        body="备选地点：\n\n- A：2号楼北侧空地\n- B：商业街东口\n- C：5号楼与6号楼之间\n- D：地下车库入口",
        category="environment",
    )
    shop = _staff(orgs["lvyuan"])
    bldg2 = [_actor(people[f"resident{i:02d}"]) for i in (2, 4, 6, 8)]
    statements = [
        (shop, "oppose", "放在商业街东口会影响餐饮店的卫生和生意。"),
        (bldg2[0], "oppose", "2号楼北侧离窗户太近，夏天会有异味。"),
        (bldg2[1], "support", "投放点必须离任何住户窗户至少20米。"),
        (_actor(people["zhaolei"]), "support", "地下车库入口方便清运，也离住户远。"),
        (_actor(people["chenjing"]), "question", "晚上投放有没有照明？带孩子去不安全。"),
    ]
    posted = [_say(actor, station, stance, text) for actor, stance, text in statements]
    voters = [shop, *bldg2, _actor(people["zhaolei"]), _actor(people["chenjing"])]
    for voter in voters:
        for comment in posted:
            if comment.user_id == voter.user.id:
                continue
            value = (
                "agree"
                if "20米" in comment.body_source or "照明" in comment.body_source
                else (
                    "agree"
                    if (voter is shop) == (comment.actor_id == shop.stakeholder.id)
                    else "disagree"
                )
            )
            comments.react(voter, comment, value)
    _stand(shop, station, "oppose", ["business_income", "environment"], "反对设在商业街。")
    for actor in bldg2[:2]:
        _stand(actor, station, "oppose", ["environment", "health"], "反对设在2号楼旁。")


def _dancing(orgs: dict, people: dict, xinhe: int) -> None:
    committee = _staff(orgs["xinhe_rc"])
    dancing = _consultation(
        committee,
        xinhe,
        title="广场舞时间和音量协商",
        summary="5号楼居民反映广场舞噪音影响休息，舞蹈队希望保留活动场地。居委会组织双方协商时间和音量。",
        body="建议：每天 19:00–20:30 活动，音量不超过 55 分贝，周末上午 8:00 以后可以活动。",
        category="culture",
    )
    volunteers = _staff(orgs["volunteers"])
    _say(_actor(people["resident10"]), dancing, "oppose", "孩子九点要睡觉，音响太响了。")
    _say(volunteers, dancing, "support", "老人跳舞是健身，我们愿意换小音箱、控制时间。")
    _stand(volunteers, dancing, "support", ["health", "public_order"], "支持协商后的时间表。")
    _stand(
        _actor(people["resident10"]),
        dancing,
        "conditional",
        ["noise", "health"],
        "",
        conditions="晚上八点半以后不放音乐。",
    )


def _anju_review(orgs: dict, people: dict, lanyuan: int) -> None:
    owners = _staff(orgs["owners"])
    review = _consultation(
        owners,
        lanyuan,
        title="安居物业服务满意度征询",
        summary="物业合同明年到期。业委会征求业主对安居物业服务质量和收费的意见，作为是否续签的依据。",
        body="请从保洁、安保、维修响应和收费透明四个方面评价。",
        category="property",
    )
    _say(_actor(people["resident09"]), review, "oppose", "报修水管漏水三天没人来。")
    _say(_staff(orgs["anju"]), review, "neutral", "我们会公开收支明细，并承诺报修24小时内响应。")
    _stand(owners, review, "oppose", ["cost", "convenience"], "服务质量与收费不匹配。")
    _stand(_staff(orgs["anju"]), review, "support", ["business_income"], "希望续签合同。")


def _signatures(people: dict) -> None:
    """Let the demo's residents sign by name, except those who fear retaliation."""
    for login, user in people.items():
        building = login in BUILDING_SIGNERS
        user.signature_default = Signature.RESIDENT if building else Signature.NAMED


def load(created: dict) -> None:
    """Seed the demo deliberations."""
    orgs, people = created["organisations"], created["residents"]
    _signatures(people)
    lanyuan, xinhe = created["communities"]["lanyuan"].id, created["communities"]["xinhe"].id
    _lift(orgs, people, lanyuan)
    _waste_station(orgs, people, xinhe)
    _dancing(orgs, people, xinhe)
    _anju_review(orgs, people, lanyuan)
    db.session.flush()

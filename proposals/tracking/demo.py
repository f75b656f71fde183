"""Demo plans and requests with some history, so the dashboard means something at first start.

Story 5 of ../shared/SCENARIOS.md: Chen Jing's dark lane (Urban Management, resolved in
two working days, rated 5) and Zhao Lei's leak (Anju, transferred to the water company's
contractor, overdue, reopened, rated 2) — plus some sixty other requests of the last ten
weeks, where Anju answers slowly and Urban Management quickly, and four plans at different
stages of their review (one with an overdue step, one being implemented).

History is written as rows with past times (services stamp the present); what a user
does after the demo loads goes through the services. Runs when the demo commits, after
every other demo receiver: it uses the organisations and residents of `stakeholders.demo`
and links the lift plan to the lift consultation of `proposals.deliberation.demo`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from coord import accounts
from coord.db import db, utcnow
from coord.models import Community, User
from proposals import services
from proposals.models import (
    Milestone,
    MilestoneUpdate,
    Proposal,
    ProposalTransition,
    ProposalVersion,
)
from proposals.tracking.deadlines import (
    add_workdays,
    is_workday,
    local_tz,
    request_deadlines,
    workdays_between,
)
from proposals.tracking.models import Plan, RequestEvent, ReviewStep
from proposals.tracking.permissions import tracked_request_of
from proposals.tracking.requests import PROPOSAL_CATEGORY, invite, track
from stakeholders.acting import Actor
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    Role,
    Stakeholder,
)
from stakeholders.names import name_key

WATER_LOGIN = "qingyuan"
WATER_NAME = "清源供水维修服务部"

# Handler of each category, and how it behaves: hours to accept (working), working days
# to resolve, ratings it gets, chance of being reopened.
_BEHAVIOUR = {
    "urban": ((1, 5), (1, 3), (4, 5), 0.05),
    "anju": ((18, 40), (3, 8), (2, 4), 0.25),
    "social_affairs": ((3, 10), (2, 5), (3, 5), 0.1),
    "water": ((4, 12), (2, 4), (3, 4), 0.1),
}
_CATEGORY_HANDLER = {
    "lighting": "urban",
    "roads": "urban",
    "sanitation": "urban",
    "safety": "urban",
    "water": "anju",
    "property": "anju",
    "parking": "anju",
    "noise": "social_affairs",
    "other": "social_affairs",
}
_TITLES = {
    "lighting": ["{b}号楼门口路灯不亮", "小区东门路灯闪烁", "{b}号楼楼道灯坏了"],
    "roads": ["{b}号楼前人行道砖块松动", "小区主干道有坑洼", "盲道被占用"],
    "sanitation": ["{b}号楼垃圾桶满溢无人清运", "绿化带垃圾堆积", "楼道堆放杂物"],
    "safety": ["{b}号楼消防通道被占", "电动车在楼道充电", "小区围墙破损"],
    "water": ["{b}号楼地下室渗水", "{b}号楼水压太低", "{b}单元水管漏水"],
    "property": ["{b}号楼单元门门禁坏了", "电梯经常停运", "{b}号楼外墙瓷砖脱落"],
    "parking": ["车位被长期占用", "小区停车收费不透明", "非机动车乱停放"],
    "noise": ["夜间施工噪音扰民", "商铺音响声音太大", "楼上装修噪音"],
    "other": ["希望增设老年活动座椅", "快递柜不够用", "希望增加健身器材"],
}


class _Clock:
    """Local working-hour moments relative to now."""

    def __init__(self) -> None:
        self.now = utcnow()
        self.tz = local_tz()

    def at(self, moment: datetime, hour: float) -> datetime:
        """The same local day as `moment`, at `hour` o'clock."""
        day = moment.astimezone(self.tz).date()
        minutes = round(hour * 60)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)
        return local.astimezone(UTC)

    def workdays(self, moment: datetime, days: int, hour: float) -> datetime:
        """`days` working days after `moment`, at `hour` o'clock (local)."""
        return self.at(add_workdays(moment, days), hour)

    def hours(self, moment: datetime, hours: float) -> datetime:
        """`hours` working hours (09:00–17:30 on working days) after `moment`."""
        rv, left = moment, hours
        while True:
            if not is_workday(rv) or rv >= self.at(rv, 17.5):
                rv = self.at(add_workdays(self.at(rv, 0) + timedelta(days=1), 0), 9)
                continue
            rv = max(rv, self.at(rv, 9))
            step = min(left, (self.at(rv, 17.5) - rv).total_seconds() / 3600)
            rv += timedelta(hours=step)
            left -= step
            if left <= 0:
                return rv


def _staff(org: Stakeholder) -> User:
    return db.session.scalar(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org.id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(Membership.role != Role.ADMIN, User.id)
        .limit(1)
    )


def _office_of(community: Community) -> Stakeholder:
    return db.session.scalar(
        sa.select(Stakeholder).where(
            Stakeholder.street_id == community.street_id,
            Stakeholder.function == Function.STREET_OFFICE,
        )
    )


def _own(user: User) -> Stakeholder:
    return db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == user.id))


class _Story:
    """One request told step by step, with its times (rows written directly)."""

    def __init__(
        self,
        resident: User,
        community: Community,
        category: str,
        title: str,
        text: str,
        submitted: datetime,
        handlers_only: bool = False,
    ) -> None:
        self.requester = Actor(resident, _own(resident))
        proposal = services.create_proposal(
            self.requester,
            {
                "kind": "request",
                "community_id": community.id,
                "title": title,
                "summary": text,
                "category": PROPOSAL_CATEGORY[category],
                "visibility": "invited" if handlers_only else "public",
            },
        )
        self.proposal = proposal
        self.tracked = tracked_request_of(proposal.id) or track(proposal)
        if handlers_only:
            invite(proposal, _office_of(community).id)
        self.tracked.category = category
        self.tracked.handlers_only = handlers_only
        self.tracked.submitted_at = submitted
        for model in (ProposalTransition, ProposalVersion):
            for row in db.session.scalars(sa.select(model).where(model.proposal_id == proposal.id)):
                row.created_at = submitted
        for event in db.session.scalars(
            sa.select(RequestEvent).where(RequestEvent.request_id == self.tracked.id)
        ):
            event.created_at = submitted
        proposal.created_at = proposal.published_at = proposal.last_activity_at = submitted
        self.custody: RequestEvent | None = None
        self.when = submitted

    def _event(
        self,
        actor: Actor,
        type_: str,
        when: datetime,
        text: str = "",
        from_id: int | None = None,
        to_id: int | None = None,
    ) -> RequestEvent:
        rv = RequestEvent(
            request_id=self.tracked.id,
            type=type_,
            from_handler_id=from_id,
            to_handler_id=to_id,
            text=text,
            user_id=actor.user.id,
            actor_id=actor.stakeholder.id,
            created_at=when,
        )
        db.session.add(rv)
        self.when = when
        self.proposal.last_activity_at = when
        return rv

    def _move(self, actor: Actor, action: str, to_state: str, when: datetime, reason: str = ""):
        db.session.add(
            ProposalTransition(
                proposal_id=self.proposal.id,
                action=action,
                from_state=self.proposal.status,
                to_state=to_state,
                reason=reason,
                user_id=actor.user.id,
                actor_id=actor.stakeholder.id,
                created_at=when,
            )
        )
        self.proposal.status = to_state

    def _respond(self, actor: Actor, when: datetime) -> None:
        if (
            self.tracked.first_response_at is None
            and actor.stakeholder.id == self.tracked.handler_id
        ):
            self.tracked.first_response_at = when
        if self.custody is not None and self.custody.responded_at is None:
            self.custody.responded_at = when
            self.custody.response_workdays = workdays_between(self.custody.created_at, when)

    def assign(self, committee: Actor, handler: Stakeholder, when: datetime) -> _Story:
        invite(self.proposal, handler.id)
        first, resolution = request_deadlines(self.tracked.category)
        t = self.tracked
        t.handler_id, t.assigned_at = handler.id, when
        t.first_response_due_at = add_workdays(when, first)
        t.resolution_due_at = add_workdays(when, resolution)
        self.custody = self._event(committee, "assigned", when, to_id=handler.id)
        return self

    def accept(self, handler: Actor, when: datetime) -> _Story:
        self._respond(handler, when)
        self._move(handler, "accept", "accepted", when)
        self._event(handler, "accepted", when)
        return self

    def start(self, handler: Actor, when: datetime) -> _Story:
        self._respond(handler, when)
        self._move(handler, "start", "in_progress", when)
        self._event(handler, "started", when)
        return self

    def progress(self, handler: Actor, when: datetime, text: str) -> _Story:
        self._respond(handler, when)
        self._event(handler, "progress", when, text)
        return self

    def transfer(self, handler: Actor, to: Stakeholder, when: datetime, reason: str) -> _Story:
        self._respond(handler, when)
        invite(self.proposal, to.id)
        first, _resolution = request_deadlines(self.tracked.category)
        previous = self.tracked.handler_id
        self.tracked.handler_id = to.id
        self.tracked.first_response_at = None
        self.tracked.first_response_due_at = add_workdays(when, first)
        self.custody = self._event(handler, "transferred", when, reason, previous, to.id)
        return self

    def resolve(self, handler: Actor, when: datetime, text: str) -> _Story:
        self._respond(handler, when)
        self.tracked.resolved_at = when
        self.tracked.resolution_workdays = workdays_between(self.tracked.assigned_at, when)
        self._move(handler, "resolve", "resolved", when, text)
        self._event(handler, "resolved", when, text)
        return self

    def reopen(self, when: datetime, reason: str) -> _Story:
        t = self.tracked
        t.reopen_count += 1
        t.resolved_at = t.resolution_workdays = None
        self._move(self.requester, "reopen", "in_progress", when, reason)
        self._event(self.requester, "reopened", when, reason)
        return self

    def rate(self, when: datetime, rating: int, comment: str = "") -> _Story:
        t = self.tracked
        t.satisfaction, t.satisfaction_comment, t.closed_at = rating, comment, when
        self._move(self.requester, "confirm", "closed", when)
        self._event(self.requester, "confirmed", when)
        return self

    def reject(self, committee: Actor, when: datetime, reason: str) -> _Story:
        self.tracked.closed_at = when
        self._move(committee, "reject", "rejected", when, reason)
        self._event(committee, "rejected", when, reason)
        return self


def _story_five(orgs: dict, people: dict, communities: dict, water: Stakeholder, clock: _Clock):
    """Chen Jing's dark lane and Zhao Lei's leak."""
    xinhe = communities["xinhe"]
    committee = Actor(_staff(orgs["xinhe_rc"]), orgs["xinhe_rc"])
    urban = Actor(_staff(orgs["urban"]), orgs["urban"])
    anju = Actor(_staff(orgs["anju"]), orgs["anju"])
    contractor = Actor(_staff(water), water)

    submitted = clock.at(add_workdays(clock.now - timedelta(days=30), 0), 19.5)
    assigned = clock.workdays(submitted, 1, 9)
    (
        _Story(
            people["chenjing"],
            xinhe,
            "lighting",
            "5号楼后面小巷路灯不亮",
            "5号楼后面通往菜场的小巷，路灯坏了快一周，晚上漆黑一片，孩子放学和老人买菜都不安全。",
            submitted,
        )
        .assign(committee, orgs["urban"], assigned)
        .accept(urban, clock.at(assigned, 10.5))
        .start(urban, clock.at(assigned, 14))
        .progress(
            urban,
            clock.workdays(assigned, 1, 11),
            "已安排电工检查，线路老化，需更换灯具和一段电缆。",
        )
        .resolve(urban, clock.workdays(assigned, 2, 9), "更换了3盏LED路灯和20米电缆，已恢复照明。")
        .rate(clock.workdays(assigned, 2, 20), 5, "修得很快，晚上终于亮了，谢谢城管科！")
    )

    submitted = clock.at(add_workdays(clock.now - timedelta(days=27), 0), 8.5)
    leak = _Story(
        people["zhaolei"],
        xinhe,
        "water",
        "2号楼12层楼道水管漏水",
        "2号楼12层楼道天花板的水管一直在滴水，地面积水，墙皮已经发霉，电梯口很滑。",
        submitted,
    ).assign(committee, orgs["anju"], clock.at(submitted, 10))
    accepted = clock.workdays(submitted, 2, 16)
    (
        leak.accept(anju, accepted)
        .transfer(
            anju,
            water,
            clock.workdays(accepted, 1, 15),
            "漏水点在供水主管，属于供水公司维修范围，已转清源供水维修服务部。",
        )
        .progress(
            contractor,
            clock.workdays(accepted, 3, 10),
            "已到现场查看，需要订购配件，预计下周更换。",
        )
        .start(contractor, clock.workdays(accepted, 3, 10.2))
    )
    resolved = clock.workdays(accepted, 8, 16)
    (
        leak.resolve(contractor, resolved, "已更换漏水管段。")
        .reopen(clock.workdays(resolved, 1, 8), "第二天早上又开始滴水，地面还是湿的。")
        .progress(contractor, clock.workdays(resolved, 2, 11), "发现接头处密封不良，已重新处理。")
        .resolve(
            contractor, clock.workdays(resolved, 3, 15), "更换接头并做了闭水试验，确认不再渗漏。"
        )
        .rate(clock.workdays(resolved, 4, 21), 2, "前后拖了两个多星期，物业一开始一直推诿。")
    )


_CATEGORY_WEIGHTS = [6, 3, 4, 2, 5, 5, 3, 3, 2]  # in the order of _CATEGORY_HANDLER


def _history(orgs: dict, people: dict, communities: dict, water: Stakeholder, clock: _Clock):
    """Some sixty more requests of the last ten weeks, a few still open or overdue."""
    rng = random.Random(2026)  # noqa: S311 (demo data, not security)
    residents = {
        key: [u for name, u in sorted(people.items()) if name.startswith("resident")][i::2]
        for i, key in enumerate(("lanyuan", "xinhe"))
    }
    handlers = {
        key: Actor(_staff(org), org)
        for key, org in (
            ("urban", orgs["urban"]),
            ("anju", orgs["anju"]),
            ("social_affairs", orgs["social_affairs"]),
            ("water", water),
        )
    }
    for i in range(64):
        key = "lanyuan" if i % 5 < 3 else "xinhe"
        committee = Actor(_staff(orgs[f"{key}_rc"]), orgs[f"{key}_rc"])
        story = _random_request(rng, clock, i, communities[key], residents[key])
        if i % 23 == 7:
            story.reject(
                committee,
                clock.hours(story.when, 3),
                "属于市政热线受理范围，已告知居民拨打12345。",
            )
            continue
        _handle(rng, clock, story, committee, handlers)


def _random_request(
    rng: random.Random, clock: _Clock, i: int, community: Community, residents: list[User]
) -> _Story:
    """The `i`-th request of the history: a random category, day, title and resident."""
    category = rng.choices(list(_CATEGORY_HANDLER), _CATEGORY_WEIGHTS)[0]
    days_ago = 2 + (i * 68) // 64 + rng.randint(0, 2)
    submitted = clock.at(clock.now - timedelta(days=days_ago), rng.choice([8, 9.5, 12, 18, 20.5]))
    buildings = 12 if i % 5 < 3 else 8  # Lanyuan has twelve, Xinhe eight
    title = rng.choice(_TITLES[category]).format(b=rng.randint(1, buildings))
    return _Story(
        rng.choice(residents),
        community,
        category,
        title,
        f"{title}，已经好几天了，请尽快处理。",
        submitted,
        handlers_only=rng.random() < 0.1,
    )


def _handle(
    rng: random.Random,
    clock: _Clock,
    story: _Story,
    committee: Actor,
    handlers: dict[str, Actor],
) -> None:
    """Assign, accept (perhaps transfer), start, resolve (perhaps reopen) and rate a request,
    each step a random time after the last, as far as the present allows."""
    assigned = clock.hours(story.when, rng.uniform(0.5, 4))
    if assigned > clock.now:
        return
    category = story.tracked.category
    name = _CATEGORY_HANDLER[category]
    story.assign(committee, handlers[name].stakeholder, assigned)
    accept_hours, resolve_days, ratings, reopen_chance = _BEHAVIOUR[name]
    accepted = clock.hours(assigned, rng.uniform(*accept_hours))
    if accepted > clock.now:
        return
    handler = handlers[name]
    story.accept(handler, accepted)
    if name == "anju" and category == "water" and rng.random() < 0.5:
        moved = clock.hours(accepted, rng.uniform(4, 16))
        if moved > clock.now:
            return
        handler = handlers["water"]
        story.transfer(
            handlers[name], handler.stakeholder, moved, "属于供水管网问题，转供水公司维修。"
        )
        accepted = clock.hours(moved, rng.uniform(2, 8))
        if accepted > clock.now:
            return
        story.progress(handler, accepted, "已联系居民，安排上门查看。")
    started = clock.hours(accepted, rng.uniform(1, 6))
    if started > clock.now:
        return
    story.start(handler, started)
    resolved = clock.workdays(started, rng.randint(*resolve_days), rng.uniform(9, 17))
    if resolved > clock.now:
        return
    story.resolve(handler, resolved, "已处理完毕，请居民确认。")
    if rng.random() < reopen_chance:
        reopened = clock.workdays(resolved, 1, rng.uniform(8, 20))
        if reopened > clock.now:
            return
        story.reopen(reopened, "问题没有彻底解决。")
        resolved = clock.workdays(reopened, rng.randint(1, 3), rng.uniform(9, 17))
        if resolved > clock.now:
            return
        story.resolve(handler, resolved, "再次处理，已彻底解决。")
    rated = clock.workdays(resolved, rng.randint(0, 2), rng.uniform(18, 22))
    if rated > clock.now:
        return
    story.rate(rated, rng.randint(*ratings))


# -- Plans -------------------------------------------------------------------------------------


def _plan(
    author: Actor,
    community: Community,
    office: Stakeholder,
    title: str,
    summary: str,
    body: str,
    budget: int,
    schedule: str,
    submitted: datetime,
    consultation_id: int | None = None,
) -> Plan:
    proposal = services.create_proposal(
        author,
        {
            "kind": "plan",
            "community_id": community.id,
            "title": title,
            "summary": summary,
            "body": body,
            "category": "facilities",
            "visibility": "public",
        },
    )
    proposal.status = "submitted"
    proposal.created_at = proposal.published_at = proposal.last_activity_at = submitted
    db.session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            number=1,
            title=proposal.title,
            summary=proposal.summary,
            body_source=proposal.body_source,
            body_html=proposal.body_html,
            user_id=author.user.id,
            actor_id=author.stakeholder.id,
            created_at=submitted,
        )
    )
    for row in db.session.scalars(
        sa.select(ProposalTransition).where(ProposalTransition.proposal_id == proposal.id)
    ):
        row.created_at = submitted
    db.session.add(
        ProposalTransition(
            proposal_id=proposal.id,
            action="submit",
            from_state="draft",
            to_state="submitted",
            user_id=author.user.id,
            actor_id=author.stakeholder.id,
            created_at=submitted,
        )
    )
    plan = Plan(
        proposal_id=proposal.id,
        street_office_id=office.id,
        budget=Decimal(budget),
        schedule=schedule,
        consultation_id=consultation_id,
        route=[],
        round=0,
        submitted_at=submitted,
    )
    plan.proposal = proposal
    db.session.add(plan)
    db.session.flush()
    return plan


def _transition(
    plan: Plan, actor: Actor, action: str, to_state: str, when: datetime, reason: str = ""
) -> None:
    db.session.add(
        ProposalTransition(
            proposal_id=plan.proposal_id,
            action=action,
            from_state=plan.proposal.status,
            to_state=to_state,
            reason=reason,
            user_id=actor.user.id,
            actor_id=actor.stakeholder.id,
            created_at=when,
        )
    )
    plan.proposal.status = to_state
    plan.proposal.last_activity_at = when


def _route(plan: Plan, office: Actor, groups: list[list[tuple[Stakeholder, int]]], when: datetime):
    n = 0
    plan.route = []
    for group in groups:
        steps = []
        for owner, days in group:
            n += 1
            steps.append({"id": f"s{n}", "owner_id": owner.id, "due_workdays": days})
        plan.route.append(steps)
    plan.round = 1
    _transition(plan, office, "start_review", "under_review", when)


def _step(
    plan: Plan,
    key: str,
    round_: int,
    activated: datetime,
    decision: str = "pending",
    opinion: str = "",
    decided: datetime | None = None,
    by: User | None = None,
) -> ReviewStep:
    index, spec = next((i, s) for i, g in enumerate(plan.route) for s in g if s["id"] == key)
    row = ReviewStep(
        plan_id=plan.id,
        round=round_,
        group_index=index,
        step_key=key,
        owner_id=spec["owner_id"],
        decision=decision,
        opinion=opinion,
        version=plan.proposal.version,
        activated_at=activated,
        due_at=add_workdays(activated, spec["due_workdays"]),
        decided_at=decided,
        decided_by_id=by.id if by else None,
    )
    db.session.add(row)
    return row


@dataclass(frozen=True)
class _Cast:
    """Who takes part in the demo plans: the street office, its departments, the authors."""

    orgs: dict
    office_org: Stakeholder
    office: Actor
    urban: Actor
    social: Actor
    anju: Actor
    lanyuan_rc: Actor
    xinhe_rc: Actor
    owners: Actor
    lanyuan: Community
    xinhe: Community


def _plans(orgs: dict, communities: dict, clock: _Clock) -> None:
    """Four plans at different stages of their review, and two older ones decided in time."""

    def actor(key: str) -> Actor:
        return Actor(_staff(orgs[key]), orgs[key])

    cast = _Cast(
        orgs,
        orgs["street_office"],
        actor("street_office"),
        actor("urban"),
        actor("social_affairs"),
        actor("anju"),
        actor("lanyuan_rc"),
        actor("xinhe_rc"),
        actor("owners"),
        communities["lanyuan"],
        communities["xinhe"],
    )
    lift = db.session.scalar(
        sa.select(Proposal.id)
        .where(
            Proposal.kind == "consultation",
            Proposal.community_id == cast.lanyuan.id,
            Proposal.title.contains("电梯"),
        )
        .limit(1)
    )
    _lift_plan(cast, clock, lift)
    _parking_plan(cast, clock)
    _waste_station_plan(cast, clock)
    _corridor_lights_plan(cast, clock)
    _older_plans(cast, clock)


def _lift_plan(cast: _Cast, clock: _Clock, lift: int | None) -> None:
    """The lift of building 3: under review, Social Affairs is late."""
    submitted = clock.workdays(clock.now - timedelta(days=16), 0, 10)
    plan = _plan(
        cast.lanyuan_rc,
        cast.lanyuan,
        cast.office_org,
        "兰苑3号楼加装电梯实施方案",
        "经居民意见征询和投票，3号楼北侧加装一部电梯，费用按楼层分摊，一楼不分摊。",
        "## 实施内容\n- 北侧单元入口加装电梯一部，平层入户；\n- 夜间22:00至次日07:00不施工。\n\n"
        "## 费用\n总造价68万元，政府补贴20万元，其余按楼层比例分摊（一楼0%）。",
        680000,
        "2027年1月开工，工期4个月。",
        submitted,
        lift,
    )
    started = clock.workdays(submitted, 1, 9)
    _route(
        plan,
        cast.office,
        [[(cast.orgs["urban"], 3)], [(cast.orgs["social_affairs"], 3), (cast.office_org, 2)]],
        started,
    )
    _step(
        plan,
        "s1",
        1,
        started,
        "approved",
        "电梯位置不占用消防通道，符合市容管理要求。",
        clock.workdays(started, 2, 15),
        cast.urban.user,
    )
    second = clock.workdays(started, 2, 15)
    _step(plan, "s2", 1, second)
    _step(
        plan,
        "s3",
        1,
        second,
        "approved",
        "程序合规，征询和表决材料齐全。",
        clock.workdays(second, 1, 11),
        cast.office.user,
    )


def _parking_plan(cast: _Cast, clock: _Clock) -> None:
    """Re-marking the parking spaces: approved after a second round, being implemented."""
    submitted = clock.workdays(clock.now - timedelta(days=60), 0, 10)
    plan = _plan(
        cast.anju,
        cast.lanyuan,
        cast.office_org,
        "兰苑小区停车位重新划线方案",
        "重新规划小区内停车位，增加32个车位，并设置消防通道禁停标线。",
        "## 方案\n- 重新划定停车位，总数由118个增加到150个；\n- 消防通道全程施划禁停标线；\n"
        "- 增设非机动车停放区两处。",
        86000,
        "两周内分片施工，每片施工前三天公告。",
        submitted,
    )
    started = clock.workdays(submitted, 1, 9)
    _route(plan, cast.office, [[(cast.orgs["urban"], 3)], [(cast.office_org, 2)]], started)
    asked = clock.workdays(started, 2, 16)
    _step(
        plan,
        "s1",
        1,
        started,
        "changes_requested",
        "3号楼东侧车位占用消防通道，请调整。",
        asked,
        cast.urban.user,
    )
    _transition(
        plan,
        cast.urban,
        "request_changes",
        "changes_requested",
        asked,
        "3号楼东侧车位占用消防通道，请调整。",
    )
    _parking_plan_approved(cast, clock, plan, asked)


def _parking_plan_approved(cast: _Cast, clock: _Clock, plan: Plan, asked: datetime) -> None:
    """The parking plan revised, approved in its second round and being implemented."""
    office, urban, anju = cast.office, cast.urban, cast.anju
    revised = clock.workdays(asked, 2, 11)
    proposal = plan.proposal
    proposal.body_source += "\n- 3号楼东侧取消6个车位，保留消防通道宽度4米。"
    proposal.body_html = proposal.body_html + "<p>3号楼东侧取消6个车位，保留消防通道宽度4米。</p>"
    proposal.version = 2
    db.session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            number=2,
            title=proposal.title,
            summary=proposal.summary,
            body_source=proposal.body_source,
            body_html=proposal.body_html,
            note="按城管科意见调整",
            user_id=anju.user.id,
            actor_id=anju.stakeholder.id,
            created_at=revised,
        )
    )
    _transition(plan, anju, "resubmit", "under_review", revised)
    plan.round = 2
    approved = clock.workdays(revised, 1, 10)
    _step(plan, "s1", 2, revised, "approved", "已调整，同意。", approved, urban.user)
    signed = clock.workdays(approved, 1, 15)
    _step(plan, "s2", 2, approved, "approved", "同意。", signed, office.user)
    plan.decided_at, plan.signoff_opinion = signed, "同意实施。施工期间保障居民出行，做好公告。"
    _transition(plan, office, "approve", "approved", signed, plan.signoff_opinion)
    _transition(plan, anju, "implement", "implementing", clock.workdays(signed, 2, 9))
    done = Milestone(
        proposal_id=plan.proposal_id,
        title="北区车位划线完成",
        status="met",
        due_on=clock.at(clock.workdays(signed, 7, 0), 0),
        created_at=signed,
    )
    next_ = Milestone(
        proposal_id=plan.proposal_id,
        title="南区车位及消防通道标线完成",
        due_on=clock.at(clock.now + timedelta(days=10), 0),
        created_at=signed,
    )
    db.session.add_all([done, next_])
    db.session.flush()
    db.session.add_all(
        [
            MilestoneUpdate(
                milestone_id=done.id,
                text="北区78个车位划线完成，已验收。",
                status="met",
                user_id=anju.user.id,
                actor_id=anju.stakeholder.id,
                created_at=clock.workdays(signed, 6, 16),
            ),
        ]
    )


def _waste_station_plan(cast: _Cast, clock: _Clock) -> None:
    """The waste-sorting station: Urban Management asked for changes."""
    submitted = clock.workdays(clock.now - timedelta(days=9), 0, 14)
    plan = _plan(
        cast.xinhe_rc,
        cast.xinhe,
        cast.office_org,
        "新河社区垃圾分类投放点改造方案",
        "在2号楼与商业街之间新建一处垃圾分类投放点，距离住户窗户不少于20米。",
        "## 选址\n经居民投票，选址位于2号楼西侧绿地边缘。\n\n## 设施\n四分类投放亭一座，配洗手池。",
        120000,
        "审批通过后一个月内完成。",
        submitted,
    )
    started = clock.workdays(submitted, 1, 9)
    _route(
        plan,
        cast.office,
        [[(cast.orgs["urban"], 3), (cast.orgs["social_affairs"], 3)], [(cast.office_org, 2)]],
        started,
    )
    asked = clock.workdays(started, 1, 16)
    _step(
        plan,
        "s1",
        1,
        started,
        "changes_requested",
        "请补充除臭和定时清运安排，并附选址测距图。",
        asked,
        cast.urban.user,
    )
    _step(plan, "s2", 1, started, "not_needed", "", asked)
    _transition(
        plan,
        cast.urban,
        "request_changes",
        "changes_requested",
        asked,
        "请补充除臭和定时清运安排，并附选址测距图。",
    )


def _corridor_lights_plan(cast: _Cast, clock: _Clock) -> None:
    """Corridor lights: submitted, waiting for the route."""
    office_org, owners, lanyuan = cast.office_org, cast.owners, cast.lanyuan
    _plan(
        owners,
        lanyuan,
        office_org,
        "兰苑楼道照明改造方案",
        "将12栋楼的楼道灯全部更换为声控LED灯，费用从公共维修资金列支。",
        "更换楼道灯约300盏，预计每年节电40%。",
        45000,
        "一个月。",
        clock.workdays(clock.now - timedelta(days=3), 0, 11),
    )


def _older_plans(cast: _Cast, clock: _Clock) -> None:
    """Older plans decided in time, for the review-time figures."""
    for i, (title, days) in enumerate(
        [("新河社区健身步道修缮方案", 40), ("兰苑社区老年活动室改造方案", 30)]
    ):
        author = (cast.xinhe_rc, cast.xinhe) if i == 0 else (cast.lanyuan_rc, cast.lanyuan)
        submitted = clock.workdays(clock.now - timedelta(days=days), 0, 10)
        plan = _plan(
            author[0],
            author[1],
            cast.office_org,
            title,
            "改善社区公共设施。",
            "详见附件清单。",
            50000 + 10000 * i,
            "一个月。",
            submitted,
        )
        started = clock.workdays(submitted, 1, 9)
        _route(
            plan,
            cast.office,
            [[(cast.orgs["urban"], 3), (cast.orgs["social_affairs"], 3)]],
            started,
        )
        _step(
            plan,
            "s1",
            1,
            started,
            "approved",
            "同意。",
            clock.workdays(started, 1 + i, 11),
            cast.urban.user,
        )
        decided = clock.workdays(started, 2, 16)
        _step(plan, "s2", 1, started, "approved", "同意。", decided, cast.social.user)
        plan.decided_at, plan.signoff_opinion = clock.workdays(decided, 1, 10), "同意实施。"
        _transition(plan, cast.office, "approve", "approved", plan.decided_at, plan.signoff_opinion)


def _water_company(created: dict) -> Stakeholder:
    orgs = created["organisations"]
    org = Stakeholder(
        kind=Kind.BUSINESS,
        function=Function.CONTRACTOR,
        name=WATER_NAME,
        name_key=name_key(WATER_NAME),
        credit_code="91110108MA04QY2D8Q",
        description="供水公司指定的管网维修单位，负责小区供水主管和接头维修。",
        street_id=orgs["street_office"].street_id,
        is_confirmed=True,
    )
    db.session.add(org)
    db.session.flush()
    staff = accounts.register_user(WATER_LOGIN, f"{WATER_NAME}工作人员", created["password"])
    db.session.add(
        Membership(
            user_id=staff.id,
            organisation_id=org.id,
            role=Role.ADMIN,
            status=MembershipStatus.ACTIVE,
            decided_at=utcnow(),
        )
    )
    orgs["water"] = org
    created.setdefault("logins", []).append((WATER_LOGIN, "admin of Qingyuan Water Repair"))
    return org


def _load(created: dict) -> None:
    clock = _Clock()
    orgs, people, communities = (
        created["organisations"],
        created["residents"],
        created["communities"],
    )
    water = _water_company(created)
    _story_five(orgs, people, communities, water, clock)
    _history(orgs, people, communities, water, clock)
    _plans(orgs, communities, clock)
    db.session.flush()


def load(created: dict) -> None:
    """Add plans and requests with history once every demo receiver has run.

    Receivers run in no guaranteed order; the work waits for the demo's commit, so the
    stakeholders' organisations and the deliberation demo's consultations are there.
    """

    def later(session: Any) -> None:
        if created.get("organisations"):
            _load(created)

    sa.event.listen(db.session(), "before_commit", later, once=True)

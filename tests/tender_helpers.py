"""A tender scene shared by the tender tests: buyer, bidders, panel and a movable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from coord.db import db, utcnow
from coord.models import User
from proposals.tenders import bids, deadlines, scoring, services
from proposals.tenders import clock as clock_module
from proposals.tenders.models import Tender
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, Relation, RelationType, Role, Stakeholder

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% PDFSECRET-FILE-CONTENT\n%%EOF\n"
SECRET_PRICE = "987654.32"
SECRET_TEXT = "SECRET-PROPOSAL-质量承诺书"


class Clock:
    """The services' server time, movable by tests."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def at(self, when: datetime, seconds: float = 0) -> None:
        self.now = when + timedelta(seconds=seconds)


@dataclass
class Scene:
    community: Any
    buyer: Actor
    bidder_a: Actor
    bidder_b: Actor
    unverified: Actor
    ngo: Actor
    panel: list[User]
    clock: Clock
    codes: dict[int, str] = field(default_factory=dict)

    def data(self, **extra: Any) -> dict[str, Any]:
        now = self.clock.now
        return {
            "community_id": self.community.id,
            "title": "兰苑小区物业服务招标",
            "summary": "选聘2027—2029年物业服务企业。",
            "scope": "兰苑小区12栋住宅的物业服务，三年。",
            "body": "## 要求\n\n- 24小时门岗",
            "category": "services",
            "budget_ceiling": "1200000",
            "budget_public": True,
            "verified_only": True,
            "conditions": "",
            "price_weight": 40,
            "quality": [("服务方案", 40), ("人员配置", 20)],
            "enquiry_ends_at": now + timedelta(days=1),
            "bid_deadline_at": now + timedelta(days=2),
            "opening_at": now + timedelta(days=2, hours=1),
            "standstill_days": 10,
            "panel": [u.username for u in self.panel],
            "shares_needed": 2,
            "publish": True,
        } | extra

    def publish(self, **extra: Any) -> Tender:
        rv = services.create_tender(self.buyer, self.data(**extra))
        db.session.commit()
        return rv

    def take_shares(self, tender: Tender) -> dict[int, str]:
        for user in self.panel:
            self.codes[user.id] = services.take_share(user, tender)
        db.session.commit()
        return self.codes

    def to_bidding(self, tender: Tender) -> None:
        self.take_shares(tender)
        self.clock.at(tender.enquiry_ends_at)
        assert deadlines.settle(tender)
        db.session.commit()
        assert tender.proposal.status == "bidding"

    def bid(self, tender: Tender, actor: Actor, price: str = "1000000", text: str = "方案", **kw):
        rv = bids.submit_bid(actor, tender, price, text, **kw)
        db.session.commit()
        return rv

    def open(self, tender: Tender, users: list[User] | None = None) -> dict:
        self.clock.at(tender.opening_at)
        codes = [self.codes[u.id] for u in (users or self.panel[:2])]
        rv = bids.open_bids(self.buyer, tender, codes)
        db.session.commit()
        return rv

    def score_all(self, tender: Tender, marks: dict[int, int] | None = None) -> None:
        """Every non-recused member scores every qualified bid (mark per member index)."""
        qualified = [b for b in bids.opened_bids(tender) if b.is_qualified]
        for i, user in enumerate(self.panel):
            seat = services.panelist_for(user, tender)
            if seat.recused_at is not None:
                continue
            mark = (marks or {}).get(i, 70 + i)
            entries = {
                (b.id, c["key"]): (
                    mark + (5 if b.bidder_id == self.bidder_a.stakeholder.id else 0),
                    "理由充分",
                )
                for b in qualified
                for c in services.quality_criteria(tender)
            }
            scoring.score_bids(user, tender, entries)
        db.session.commit()


def build_scene(make_user, make_org, community, monkeypatch) -> Scene:
    clock = Clock()
    monkeypatch.setattr(clock_module, "now", clock)
    staff = make_user("owners_staff")
    owners = make_org(
        "兰苑业主委员会", Kind.SOCIAL_ORGANIZATION, Function.OWNERS_COMMITTEE, admin=staff
    )
    a_user, b_user, c_user, ngo_user = (
        make_user("anju_staff"),
        make_user("heshun_staff"),
        make_user("shadow_staff"),
        make_user("ngo_staff"),
    )
    anju = make_org("安居物业", Kind.BUSINESS, Function.PROPERTY_MANAGER, admin=a_user)
    heshun = make_org("和顺建筑", Kind.BUSINESS, Function.CONTRACTOR, admin=b_user)
    shadow = make_org("未核实公司", Kind.BUSINESS, Function.OTHER, admin=c_user, confirmed=False)
    ngo = make_org(
        "银龄志愿者协会", Kind.SOCIAL_ORGANIZATION, Function.VOLUNTEER_ASSOCIATION, admin=ngo_user
    )
    panel = [make_user("panel_wang"), make_user("panel_li"), make_user("panel_zhao")]
    return Scene(
        community=community,
        buyer=Actor(staff, owners),
        bidder_a=Actor(a_user, anju),
        bidder_b=Actor(b_user, heshun),
        unverified=Actor(c_user, shadow),
        ngo=Actor(ngo_user, ngo),
        panel=panel,
        clock=clock,
    )


def tie(source: Stakeholder, target: Stakeholder, kind: RelationType, by: User) -> Relation:
    """Declare a relation (confirmed) between two stakeholders."""
    rv = Relation(
        source_id=source.id,
        target_id=target.id,
        type=kind,
        sign=1,
        status="confirmed",
        declared_by_user_id=by.id,
    )
    db.session.add(rv)
    db.session.commit()
    return rv


def join(user: User, org: Stakeholder, role: Role = Role.MEMBER) -> None:
    """Make `user` an active member of `org`."""
    from stakeholders.models import Membership, MembershipStatus

    db.session.add(
        Membership(
            user_id=user.id, organisation_id=org.id, role=role, status=MembershipStatus.ACTIVE
        )
    )
    db.session.commit()

"""The demo neighbourhood of ../shared/SCENARIOS.md: Qinghe street, its people and organisations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coord import accounts
from coord.db import db, utcnow
from coord.models import Community, Grid, Street, User
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)
from stakeholders.names import name_key

# key, kind, function, name, English name, community key (None: the whole street), admin login
ORGANISATIONS = [
    (
        "street_office",
        Kind.GOVERNMENT,
        Function.STREET_OFFICE,
        "清河街道办事处",
        "Qinghe Street Office",
        None,
        "qinghe",
    ),
    (
        "urban",
        Kind.GOVERNMENT,
        Function.DEPARTMENT,
        "城市管理科",
        "Urban Management",
        None,
        "urban",
    ),
    (
        "social_affairs",
        Kind.GOVERNMENT,
        Function.DEPARTMENT,
        "社会事务科",
        "Social Affairs",
        None,
        "social",
    ),
    (
        "lanyuan_rc",
        Kind.SOCIAL_ORGANIZATION,
        Function.RESIDENTS_COMMITTEE,
        "兰苑社区居委会",
        "Lanyuan Residents Committee",
        "lanyuan",
        "lanyuan_rc",
    ),
    (
        "xinhe_rc",
        Kind.SOCIAL_ORGANIZATION,
        Function.RESIDENTS_COMMITTEE,
        "新河社区居委会",
        "Xinhe Residents Committee",
        "xinhe",
        "xinhe_rc",
    ),
    (
        "owners",
        Kind.SOCIAL_ORGANIZATION,
        Function.OWNERS_COMMITTEE,
        "兰苑业主委员会",
        "Lanyuan Owners Committee",
        "lanyuan",
        "owners",
    ),
    (
        "volunteers",
        Kind.SOCIAL_ORGANIZATION,
        Function.VOLUNTEER_ASSOCIATION,
        "银龄志愿者协会",
        "Silver Age Volunteer Association",
        None,
        "volunteers",
    ),
    (
        "anju",
        Kind.BUSINESS,
        Function.PROPERTY_MANAGER,
        "安居物业服务有限公司",
        "Anju Property Services Ltd",
        None,
        "anju",
    ),
    (
        "heshun",
        Kind.BUSINESS,
        Function.CONTRACTOR,
        "和顺建筑工程有限公司",
        "Heshun Construction",
        None,
        "heshun",
    ),
    ("lvyuan", Kind.BUSINESS, Function.SHOP, "绿园餐饮", "Lüyuan Catering", "xinhe", "lvyuan"),
]

DESCRIPTIONS = {
    "street_office": "负责清河街道的社区治理、公共服务与方案审批。",
    "urban": "负责市容环境、道路照明、违章搭建与垃圾分类。",
    "social_affairs": "负责养老服务、社会救助与社会组织培育。",
    "lanyuan_rc": "组织兰苑社区居民议事与意见征询，核实居民身份，调解邻里纠纷。",
    "xinhe_rc": "组织新河社区居民议事与意见征询，核实居民身份，调解邻里纠纷。",
    "owners": "代表兰苑小区业主，关注物业费用、服务质量和物业合同。",
    "volunteers": "关爱社区老人，推动社区长者食堂建设。",
    "anju": "兰苑、新河两个小区的物业服务企业。",
    "heshun": "承接社区小型工程与老旧小区改造。",
    "lvyuan": "新河商业街上的餐饮企业，有意承接长者食堂。",
}

#: Unified social credit codes (fictitious, with valid check digits; 110108 is Haidian, Beijing)
#: of the organisations the street office confirmed by their code; the others by registration.
CREDIT_CODES = {
    "anju": "91110108MA01AJ5K2J",
    "heshun": "91110108MA02HX7P4G",
    "lvyuan": "92110108MA03LY8W10",
    "volunteers": "51110108MJ0YXQ3R6P",
}

# login, name, community key, building, unit, phone
NAMED_RESIDENTS = [
    ("wangguihua", "王桂花", "lanyuan", "3", "501", "13800135001"),
    ("liming", "李明", "lanyuan", "3", "101", "13800135002"),
    ("zhaolei", "赵磊", "xinhe", "2", "1203", "13800135003"),
    ("chenjing", "陈静", "xinhe", "5", "802", "13800135004"),
]

_SURNAMES = "张刘杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程"
_GIVEN = [
    "建国",
    "秀英",
    "志强",
    "丽娟",
    "海燕",
    "国庆",
    "玉兰",
    "文华",
    "晓东",
    "春梅",
    "子涵",
    "浩然",
]


def _user(login: str, name: str, password: str, **extra: Any) -> User:
    return accounts.register_user(login, name, password, **extra)


def _residents() -> list[tuple[str, str, str, str, str, str]]:
    rv = list(NAMED_RESIDENTS)
    for i in range(36):
        community = "lanyuan" if i % 2 == 0 else "xinhe"
        building = str(1 + i % (12 if community == "lanyuan" else 8))
        name = _SURNAMES[i] + _GIVEN[i % len(_GIVEN)]
        rv.append(
            (
                f"resident{i + 1:02d}",
                name,
                community,
                building,
                f"{1 + i % 6}0{1 + i % 2}",
                f"139{i:08d}",
            )
        )
    return rv


def load(created: dict) -> None:
    """Create the street, communities, organisations and residents, all verified."""
    password = created["password"]
    now = utcnow()
    street, communities = _places()
    logins: list[tuple[str, str]] = [("admin", "platform administrator")]
    _user("admin", "平台管理员", password, is_admin=True)
    orgs = _organisations(street, communities, password, now, logins)
    residents = _verified_residents(communities, orgs, password, now)
    for login, name, *_ in NAMED_RESIDENTS:
        logins.append((login, f"resident {name}"))
    # Li Ming also volunteers; the owners committee has a resident member.
    for login, org_key, role in (
        ("liming", "volunteers", Role.MEMBER),
        ("wangguihua", "owners", Role.DELEGATE),
    ):
        db.session.add(
            Membership(
                user_id=residents[login].id,
                organisation_id=orgs[org_key].id,
                role=role,
                status=MembershipStatus.ACTIVE,
                decided_at=now,
            )
        )
    db.session.flush()
    created.update(
        street=street,
        communities=communities,
        organisations=orgs,
        residents=residents,
        logins=logins,
    )


def _places() -> tuple[Street, dict[str, Community]]:
    """Create Qinghe Street, its two communities and their grids."""
    street = Street(name="清河街道", name_en="Qinghe Street")
    lanyuan = Community(
        street=street,
        name="兰苑社区",
        name_en="Lanyuan Community",
        description="1990年代老旧小区，12栋六层住宅楼，无电梯，老年居民多，停车位紧张。",
    )
    xinhe = Community(
        street=street,
        name="新河社区",
        name_en="Xinhe Community",
        description="2015年建成，8栋高层住宅，年轻家庭多，临近繁忙的商业街。",
    )
    db.session.add_all([street, lanyuan, xinhe])
    for n in (1, 2, 3):
        db.session.add(Grid(community=lanyuan, number=n, name=f"第{n}网格"))
    for n in (4, 5):
        db.session.add(Grid(community=xinhe, number=n, name=f"第{n}网格"))
    db.session.flush()
    return street, {"lanyuan": lanyuan, "xinhe": xinhe}


def _organisations(
    street: Street,
    communities: dict[str, Community],
    password: str,
    now: datetime,
    logins: list[tuple[str, str]],
) -> dict[str, Stakeholder]:
    """Create the organisations, each with one admin user (added to `logins`)."""
    orgs: dict[str, Stakeholder] = {}
    for key, kind, function, name, name_en, community_key, login in ORGANISATIONS:
        community = communities.get(community_key) if community_key else None
        org = Stakeholder(
            kind=kind,
            function=function,
            name=name,
            name_key=name_key(name),
            credit_code=CREDIT_CODES.get(key),
            description=DESCRIPTIONS[key],
            street_id=street.id,
            community_id=community.id if community else None,
            is_confirmed=True,
            parent_id=orgs["street_office"].id if function == Function.DEPARTMENT else None,
        )
        db.session.add(org)
        db.session.flush()
        orgs[key] = org
        staff = _user(login, f"{name}工作人员", password)
        db.session.add(
            Membership(
                user_id=staff.id,
                organisation_id=org.id,
                role=Role.ADMIN,
                status=MembershipStatus.ACTIVE,
                decided_at=now,
            )
        )
        logins.append((login, f"admin of {name_en}"))
    return orgs


def _verified_residents(
    communities: dict[str, Community], orgs: dict[str, Stakeholder], password: str, now: datetime
) -> dict[str, User]:
    """Create the residents, verified by their community's residents committee."""
    rv = {}
    for login, name, community_key, building, unit, phone in _residents():
        user = _user(login, name, password)
        profile = ResidentProfile(
            user_id=user.id,
            community_id=communities[community_key].id,
            building=building,
            unit=unit,
            status=ResidenceStatus.VERIFIED,
            decided_at=now,
            decided_by_id=orgs[f"{community_key}_rc"].id,
        )
        profile.phone = phone
        db.session.add(profile)
        rv[login] = user
    return rv

"""A small neighbourhood for plan and request tests (import as `from tracking_helpers import …`).

One street (清河街道) with two communities, its street office and two departments, a
residents committee, a property manager, a water contractor and a shop (not a handler),
two residents; and a department of another street.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from coord.db import db, utcnow
from coord.models import Community, Grid, Street, User
from proposals.tracking import plans, requests
from proposals.tracking.models import Plan, TrackedRequest
from stakeholders.acting import Actor
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
from stakeholders.permissions import forget_roles

from helpers import identity


@pytest.fixture(autouse=True)
def tracking_setup(request, monkeypatch):
    """Store uploads in a temporary folder; match the services' English messages.

    (Services speak the default language, Chinese, outside a request.) Import this fixture
    into a test module to use it there. Pure tests (no `app`) are left alone: they run once,
    not once per backend.
    """
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    tmp_path = request.getfixturevalue("tmp_path")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    with force_locale("en"):
        yield


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(*extra: bytes) -> bytes:
    """A 1×1 PNG, with extra chunks (e.g. metadata) before its image data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    meta = b"".join(chunk(b"tEXt", e) for e in extra)
    return b"\x89PNG\r\n\x1a\n" + ihdr + meta + idat + chunk(b"IEND", b"")


def jpeg_with_gps() -> bytes:
    """A tiny JPEG whose EXIF segment carries a GPS marker."""
    exif = b"\xff\xe1" + struct.pack(">H", 2 + 14) + b"Exif\x00\x00GPS-LAT!"
    quant = b"\xff\xdb" + struct.pack(">H", 2 + 3) + b"\x00\x01\x02"
    return b"\xff\xd8" + exif + quant + b"\xff\xda\x00\x02scan-data\xff\xd9"


@dataclass
class World:
    street: Street
    community: Community
    other_community: Community
    grid: Grid
    office: Stakeholder
    urban: Stakeholder
    social: Stakeholder
    committee: Stakeholder
    anju: Stakeholder
    water: Stakeholder
    shop: Stakeholder
    far_dept: Stakeholder
    users: dict[str, User] = field(default_factory=dict)

    def actor(self, user: str, org: Stakeholder | None = None) -> Actor:
        """The user acting as `org` (or as themself)."""
        u = self.users[user]
        return Actor(u, org if org is not None else identity(u))


def _org(
    name: str,
    kind: Kind,
    function: Function,
    street: Street,
    admin: User,
    community: Community | None = None,
) -> Stakeholder:
    org = Stakeholder(
        kind=kind,
        function=function,
        name=name,
        street_id=street.id,
        community_id=community.id if community else None,
        is_confirmed=True,
    )
    db.session.add(org)
    db.session.flush()
    db.session.add(
        Membership(
            user_id=admin.id,
            organisation_id=org.id,
            role=Role.ADMIN,
            status=MembershipStatus.ACTIVE,
            decided_at=utcnow(),
        )
    )
    return org


def build_world(community: Community, make_user) -> World:
    """Create the neighbourhood around the `community` fixture."""
    street = community.street
    other_community = Community(street=street, name="新河社区")
    grid = Grid(community=community, number=1, name="第1网格")
    far_street = Street(name="东湖街道")
    db.session.add_all([other_community, grid, far_street])
    db.session.flush()
    users = {
        name: make_user(name)
        for name in (
            "office",
            "urban",
            "social",
            "rc",
            "anju",
            "water",
            "shop",
            "far",
            "chen",
            "zhao",
            "outsider",
        )
    }
    gov, biz, soc = Kind.GOVERNMENT, Kind.BUSINESS, Kind.SOCIAL_ORGANIZATION
    rv = World(
        street=street,
        community=community,
        other_community=other_community,
        grid=grid,
        office=_org("清河街道办事处", gov, Function.STREET_OFFICE, street, users["office"]),
        urban=_org("城市管理科", gov, Function.DEPARTMENT, street, users["urban"]),
        social=_org("社会事务科", gov, Function.DEPARTMENT, street, users["social"]),
        committee=_org(
            "兰苑社区居委会", soc, Function.RESIDENTS_COMMITTEE, street, users["rc"], community
        ),
        anju=_org("安居物业", biz, Function.PROPERTY_MANAGER, street, users["anju"]),
        water=_org("清源供水维修", biz, Function.CONTRACTOR, street, users["water"]),
        shop=_org("绿园餐饮", biz, Function.SHOP, street, users["shop"], community),
        far_dept=_org("东湖城管科", gov, Function.DEPARTMENT, far_street, users["far"]),
        users=users,
    )
    for name in ("chen", "zhao"):
        db.session.add(
            ResidentProfile(
                user_id=users[name].id,
                community_id=community.id,
                building="5",
                unit="802",
                status=ResidenceStatus.VERIFIED,
            )
        )
    db.session.commit()
    forget_roles()
    return rv


def new_request(world: World, who: str = "chen", **data) -> TrackedRequest:
    """File a request as a resident and commit."""
    values = {
        "community_id": world.community.id,
        "category": "lighting",
        "title": "5号楼后面小巷路灯不亮",
        "description": "5号楼后面的小巷路灯坏了一周，晚上很黑，老人孩子走路不安全。",
    } | data
    rv = requests.create_request(world.actor(who), values)
    db.session.commit()
    return rv


def new_plan(world: World, *, submit: bool = True, **data) -> Plan:
    """Submit a plan as the property manager and commit."""
    values = {
        "community_id": world.community.id,
        "title": "3号楼加装电梯施工方案",
        "summary": "在3号楼北侧加装电梯，工期三个月。",
        "body": "## 方案\n\n北侧加装电梯一部。",
        "budget": "680000",
        "schedule": "2026年12月开工，2027年3月完工。",
        "submit": submit,
    } | data
    rv = plans.create_plan(world.actor("anju", world.anju), values)
    db.session.commit()
    return rv


def count(model) -> int:
    """Count the rows of a model."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))

"""A small neighbourhood for network tests (import as `from network_helpers import …`).

Like the demo: a residents committee, the street office, Anju (property manager), Heshun
(contractor), the owners committee, the volunteer association, residents of building 3 and
one of building 5, and a stranger who lives elsewhere.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from coord.db import db
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, Relation, Stakeholder
from stakeholders.network import relations

from helpers import identity


def build_world(community, committee, make_org, make_user, make_resident) -> SimpleNamespace:
    """Create the neighbourhood; every organisation has one admin user (`<key>_user`)."""
    w = SimpleNamespace(community=community, committee=committee)
    w.committee_user = committee.admin_user
    specs = {
        "street": ("清河街道办事处", Kind.GOVERNMENT, Function.STREET_OFFICE, False),
        "anju": ("安居物业", Kind.BUSINESS, Function.PROPERTY_MANAGER, False),
        "heshun": ("和顺建筑", Kind.BUSINESS, Function.CONTRACTOR, False),
        "owners": ("兰苑业主委员会", Kind.SOCIAL_ORGANIZATION, Function.OWNERS_COMMITTEE, True),
        "volunteers": (
            "银龄志愿者协会",
            Kind.SOCIAL_ORGANIZATION,
            Function.VOLUNTEER_ASSOCIATION,
            False,
        ),
    }
    for key, (name, kind, function, local) in specs.items():
        user = make_user(f"{key}_staff")
        org = make_org(name, kind, function, admin=user, in_community=local)
        setattr(w, key, org)
        setattr(w, f"{key}_user", user)
    w.residents = [make_resident(f"bldg3_{i}", building="3", unit=f"{i}01") for i in range(1, 4)]
    w.r5 = make_resident("bldg5", building="5", unit="501")
    w.stranger = make_user("stranger")
    return w


def actor(user, stakeholder: Stakeholder | None = None) -> Actor:
    """The actor of a user acting as themself or as an organisation."""
    return Actor(user, stakeholder or identity(user))


def declare(
    w: SimpleNamespace, source_key: Any, target: Stakeholder, type_: str, **data: Any
) -> Relation:
    """Declare a relation from an organisation key ("anju") or a resident user; commit."""
    if isinstance(source_key, str):
        who = actor(getattr(w, f"{source_key}_user"), getattr(w, source_key))
    else:
        who = actor(source_key)
    rv = relations.declare_relation(
        who, w.community, {"target_id": target.id, "type": type_, **data}
    )
    db.session.commit()
    return rv

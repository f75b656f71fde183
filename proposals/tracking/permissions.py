"""Who handles requests and reviews plans: predicates and the extra lifecycle roles.

`roles_for` (proposals.permissions) knows authors, moderators and the street office; this
module adds, through `add_role_provider`:

- ``handler``: acting as the organisation a request is assigned to (and a member of it);
- ``reviewer``: acting as the owner of a review step of the plan's current round.

"Street office" here is strict: a member of the organisation whose function is
``street_office`` for the street (its departments are not the street office). The
dashboard, in contrast, is open to every government unit of the street
(`government_street_ids`).
"""

from __future__ import annotations

import sqlalchemy as sa

from coord.db import db
from coord.models import User
from coord.permissions import is_platform_admin
from proposals import permissions as perm
from proposals.models import Proposal
from proposals.tracking.models import Plan, ReviewStep, TrackedRequest
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind, Stakeholder
from stakeholders.permissions import active_roles, street_office_ids

#: Organisations that may be assigned requests (handlers).
HANDLER_FUNCTIONS = frozenset(
    {
        Function.STREET_OFFICE,
        Function.DEPARTMENT,
        Function.PROPERTY_MANAGER,
        Function.CONTRACTOR,
        Function.RESIDENTS_COMMITTEE,
    }
)

#: Organisations that may own a plan review step: the street office and its departments.
#: They approve plans, so they do not submit them.
REVIEWER_FUNCTIONS = frozenset({Function.STREET_OFFICE, Function.DEPARTMENT})


def signed_in(user: User | None) -> bool:
    """Tell whether `user` is a signed-in user."""
    return user is not None and getattr(user, "is_authenticated", False)


def is_member(user: User | None, org_id: int | None) -> bool:
    """Tell whether `user` is an active member of the organisation `org_id`."""
    return org_id is not None and org_id in active_roles(user)


def acts_for(user: User | None, actor_id: int | None, org_id: int | None) -> bool:
    """Tell whether `user` acts as `org_id` now and is one of its active members."""
    return org_id is not None and actor_id == org_id and is_member(user, org_id)


def street_office_of(street_id: int) -> Stakeholder | None:
    """Return the street office of a street."""
    return db.session.scalar(
        sa.select(Stakeholder)
        .where(
            Stakeholder.street_id == street_id,
            Stakeholder.function == Function.STREET_OFFICE,
            Stakeholder.deleted_at.is_(None),
        )
        .order_by(Stakeholder.id)
        .limit(1)
    )


def is_street_office(user: User | None, street_id: int | None) -> bool:
    """Tell whether `user` works for the street office of `street_id`."""
    return street_id is not None and street_id in street_office_ids(user)


def can_triage(user: User | None, tracked: TrackedRequest) -> bool:
    """The community's residents committee and the street office triage requests."""
    proposal = tracked.proposal
    return perm.can_moderate(user, proposal.community_id) or is_street_office(
        user, proposal.community.street_id
    )


def can_transfer(user: User | None, actor_id: int | None, tracked: TrackedRequest) -> bool:
    """The assigned handler (acting as it) and the street office hand a request on."""
    return acts_for(user, actor_id, tracked.handler_id) or is_street_office(
        user, tracked.proposal.community.street_id
    )


def is_handler(user: User | None, actor_id: int | None, tracked: TrackedRequest) -> bool:
    """Tell whether the user acts as the request's assigned handler."""
    return acts_for(user, actor_id, tracked.handler_id)


def is_requester(user: User | None, actor_id: int | None, tracked: TrackedRequest) -> bool:
    """Tell whether the user filed the request (or speaks for who did)."""
    return perm.is_author(user, actor_id, tracked.proposal)


def can_submit_plans(actor: Actor | None) -> bool:
    """Organisations other than the street office and its departments submit plans."""
    if actor is None:
        return False
    org = actor.stakeholder
    return (
        org.kind != Kind.RESIDENT and org.function not in REVIEWER_FUNCTIONS and not org.is_deleted
    )


def is_plan_street_office(user: User | None, plan: Plan) -> bool:
    """Tell whether the user works for the street office the plan was submitted to."""
    return is_member(user, plan.street_office_id)


def handler_filter(street_id: int) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Stakeholder` selecting the handlers of a street."""
    return sa.and_(
        Stakeholder.street_id == street_id,
        Stakeholder.kind != Kind.RESIDENT,
        Stakeholder.function.in_([f.value for f in HANDLER_FUNCTIONS]),
        Stakeholder.is_confirmed.is_(True),
        Stakeholder.deleted_at.is_(None),
    )


def handlers_of(street_id: int) -> list[Stakeholder]:
    """Return the organisations of a street that may handle requests."""
    return list(
        db.session.scalars(
            sa.select(Stakeholder)
            .where(handler_filter(street_id))
            .order_by(Stakeholder.function, Stakeholder.name)
        )
    )


def reviewers_of(street_id: int) -> list[Stakeholder]:
    """Return the organisations of a street that may own a review step."""
    return list(
        db.session.scalars(
            sa.select(Stakeholder)
            .where(
                Stakeholder.street_id == street_id,
                Stakeholder.kind == Kind.GOVERNMENT,
                Stakeholder.function.in_([f.value for f in REVIEWER_FUNCTIONS]),
                Stakeholder.deleted_at.is_(None),
            )
            .order_by(Stakeholder.function.desc(), Stakeholder.name)
        )
    )


def tracked_request_of(proposal_id: int) -> TrackedRequest | None:
    """Return the tracking part of a request."""
    return db.session.scalar(
        sa.select(TrackedRequest).where(TrackedRequest.proposal_id == proposal_id)
    )


def plan_of(proposal_id: int) -> Plan | None:
    """Return the plan part of a plan proposal."""
    return db.session.scalar(sa.select(Plan).where(Plan.proposal_id == proposal_id))


def current_step_owners(plan: Plan) -> set[int]:
    """Return the owners of the review steps of the plan's current round."""
    if not plan.round:
        return set()
    return set(
        db.session.scalars(
            sa.select(ReviewStep.owner_id).where(
                ReviewStep.plan_id == plan.id, ReviewStep.round == plan.round
            )
        )
    )


def extra_roles(user: User, actor_id: int | None, proposal: Proposal) -> set[str]:
    """Add ``handler`` and ``reviewer`` (see the module doc)."""
    if actor_id is None or actor_id not in active_roles(user):
        return set()
    if proposal.kind == "request":
        tracked = tracked_request_of(proposal.id)
        if tracked is not None and tracked.handler_id == actor_id:
            return {"handler"}
    elif proposal.kind == "plan":
        plan = plan_of(proposal.id)
        if plan is not None and actor_id in current_step_owners(plan):
            return {"reviewer"}
    return set()


def can_edit_calendar(user: User | None) -> bool:
    """The platform admin and the street office staff keep the working-day calendar."""
    return is_platform_admin(user) or (signed_in(user) and bool(street_office_ids(user)))

"""Stakeholder use cases: organisations, memberships, residence claims and verification."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from coord import audit
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import Community, Grid, Street, User
from coord.text import clean_text
from stakeholders import credit_code, names
from stakeholders import permissions as perm
from stakeholders.acting import Actor
from stakeholders.models import (
    ConfirmationBasis,
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)

NAME_MAX, DESCRIPTION_MAX = 80, 2000
#: Bounds of the note a confirmer writes about what they checked.
NOTE_MIN, NOTE_MAX = 4, 500

#: Functions an organisation of each kind may carry.
FUNCTIONS_BY_KIND = {
    Kind.GOVERNMENT: (Function.STREET_OFFICE, Function.DEPARTMENT),
    Kind.BUSINESS: (Function.PROPERTY_MANAGER, Function.CONTRACTOR, Function.SHOP, Function.OTHER),
    Kind.SOCIAL_ORGANIZATION: (
        Function.RESIDENTS_COMMITTEE,
        Function.OWNERS_COMMITTEE,
        Function.VOLUNTEER_ASSOCIATION,
        Function.OTHER,
    ),
}


def ensure_resident_identity(user: User) -> Stakeholder:
    """Return the user's own resident stakeholder, creating it if missing."""
    rv = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == user.id))
    if rv is None:
        rv = Stakeholder(kind=Kind.RESIDENT, name=user.display_name, user_id=user.id)
        db.session.add(rv)
        db.session.flush()
    return rv


def _kind_and_function(actor: Actor, data: dict[str, Any]) -> tuple[Kind, Function]:
    """Read the kind and function of a new organisation; refuse what the actor may not create."""
    kind = next((k for k in Kind if k.value == data.get("kind") and k != Kind.RESIDENT), None)
    if kind is None:
        raise DomainError(str(_l("Choose the kind of organisation.")), field="kind")
    if not perm.can_create_organisation(actor.user, kind):
        raise NotAllowed(str(_l("Only the platform administrator can create government units.")))
    wanted = data.get("function") or Function.OTHER.value
    function = next((f for f in Function if f.value == wanted), None)
    if function not in FUNCTIONS_BY_KIND[kind]:
        raise DomainError(
            str(_l("This function does not fit this kind of organisation.")), field="function"
        )
    if function == Function.RESIDENTS_COMMITTEE and not actor.user.is_admin:
        raise NotAllowed(
            str(_l("Only the platform administrator can register a residents committee."))
        )
    return kind, function


def _community(data: dict[str, Any]) -> Community | None:
    """Return the community an organisation belongs to (None: the whole street)."""
    if not data.get("community_id"):
        return None
    rv = db.session.get(Community, data["community_id"])
    if rv is None:
        raise DomainError(str(_l("Choose a community.")), field="community_id")
    return rv


def _street_id(community: Community | None, data: dict[str, Any]) -> int | None:
    if community is not None:
        return community.street_id
    return data.get("street_id") or db.session.scalar(
        sa.select(Street.id).order_by(Street.id).limit(1)
    )


_CREDIT_CODE_PROBLEMS = {
    credit_code.Reason.LENGTH: _l(
        "A unified social credit code has 18 characters; this one has %(detail)s."
    ),
    credit_code.Reason.CHARACTERS: _l(
        "A unified social credit code uses digits and capital letters except I, O, S, V and Z; "
        "it may not contain: %(detail)s."
    ),
    credit_code.Reason.DIVISION: _l(
        "Characters 3 to 8 of a unified social credit code are the administrative division "
        "code, six digits, not %(detail)s."
    ),
    credit_code.Reason.CHECK_DIGIT: _l(
        "The check digit (the last character, %(detail)s) does not match the first 17 "
        "characters: the code is mistyped or not genuine."
    ),
}


def check_credit_code(raw: str | None) -> str | None:
    """Return the normalised credit code (None if not given); refuse a malformed one."""
    code = credit_code.normalise(raw or "")
    if not code:
        return None
    problem = credit_code.problem(code)
    if problem is not None:
        message = _CREDIT_CODE_PROBLEMS[problem.reason]
        raise DomainError(str(message) % {"detail": problem.detail}, field="credit_code")
    return code


def check_name(raw: str | None) -> tuple[str, str]:
    """Return an organisation's name as stored and its key; refuse an empty or long one."""
    name = names.clean_name(clean_text(raw or ""))
    key = names.name_key(name)
    if not key:
        raise DomainError(str(_l("Give the organisation's name.")), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(str(_l("At most %(n)d characters.", n=NAME_MAX)), field="name")
    return name, key


def check_description(raw: str | None) -> str:
    """Return an organisation's description as stored; refuse a long one."""
    rv = clean_text(raw or "").strip()
    if len(rv) > DESCRIPTION_MAX:
        raise DomainError(
            str(_l("At most %(n)d characters.", n=DESCRIPTION_MAX)), field="description"
        )
    return rv


def refuse_namesakes(key: str, code: str | None) -> None:
    """Refuse a name or a credit code that an organisation already holds."""
    others = sa.select(Stakeholder.name).limit(1)
    namesake = db.session.scalar(others.where(Stakeholder.name_key == key))
    if namesake is not None:
        raise Conflict(
            str(_l("An organisation with this name already exists: %(name)s.", name=namesake)),
            field="name",
        )
    holder = db.session.scalar(others.where(Stakeholder.credit_code == code)) if code else None
    if holder is not None:
        raise Conflict(
            str(
                _l(
                    "This unified social credit code is already registered to %(name)s.",
                    name=holder,
                )
            ),
            field="credit_code",
        )


def _insert(org: Stakeholder) -> None:
    """Flush a new organisation; a namesake that got in first (unique indexes) is refused alike."""
    try:
        with db.session.begin_nested():
            db.session.add(org)
            db.session.flush()
    except IntegrityError:
        refuse_namesakes(org.name_key or "", org.credit_code)
        raise


def create_organisation(actor: Actor, data: dict[str, Any]) -> Stakeholder:
    """Create an organisation; its creator becomes its first admin.

    Names are unique as read (stakeholders.names), credit codes when given. Government units
    and residents committees are created only by the platform administrator and are confirmed
    at once; other organisations wait for the street office's confirmation.
    """
    kind, function = _kind_and_function(actor, data)
    community = _community(data)
    if function == Function.RESIDENTS_COMMITTEE and perm.residents_committee_of(
        community.id if community else None
    ):
        raise Conflict(
            str(_l("This community already has a residents committee.")), field="function"
        )
    name, key = check_name(data.get("name"))
    code = check_credit_code(data.get("credit_code"))
    refuse_namesakes(key, code)
    rv = Stakeholder(
        kind=kind,
        function=function,
        name=name,
        name_key=key,
        credit_code=code,
        description=check_description(data.get("description")),
        community_id=community.id if community else None,
        street_id=_street_id(community, data),
        parent_id=data.get("parent_id"),
        is_confirmed=kind == Kind.GOVERNMENT or function == Function.RESIDENTS_COMMITTEE,
    )
    _insert(rv)
    db.session.add(
        Membership(
            user_id=actor.user.id,
            organisation_id=rv.id,
            role=Role.ADMIN,
            status=MembershipStatus.ACTIVE,
            decided_at=utcnow(),
        )
    )
    perm.forget_roles()
    audit.record(
        "organisation.create",
        "stakeholder",
        rv.id,
        community_id=rv.community_id,
        is_public=True,
        data={"kind": kind.value, "function": function.value, "credit_code": code},
        **actor.audit_ids,
    )
    return rv


def confirm_organisation(actor: Actor, org: Stakeholder, basis: str, note: str) -> None:
    """Confirm an organisation after checking its credit code or its registration.

    `basis` says which was checked and `note` what exactly; both go into the public audit event.
    """
    if not perm.can_confirm_organisation(actor.user, org):
        raise NotAllowed(
            str(_l("Only the street office or the platform administrator confirms organisations."))
        )
    if org.is_confirmed:
        raise Conflict(str(_l("This organisation is already confirmed.")))
    try:
        checked = ConfirmationBasis(basis)
    except ValueError:
        raise DomainError(str(_l("Say what you checked.")), field="basis") from None
    if checked == ConfirmationBasis.CREDIT_CODE and not org.credit_code:
        raise DomainError(
            str(_l("This organisation gave no credit code: check its registration instead.")),
            field="basis",
        )
    note = " ".join((note or "").split())
    if len(note) < NOTE_MIN:
        raise DomainError(
            str(_l("Note what you checked, e.g. the register and the entry you compared.")),
            field="note",
        )
    org.is_confirmed = True
    office_id = perm.street_office_ids(actor.user).get(org.street_id)
    audit.record(
        "organisation.confirm",
        "stakeholder",
        org.id,
        community_id=org.community_id,
        is_public=True,
        data={"basis": checked.value, "credit_code": org.credit_code, "note": note[:NOTE_MAX]},
        user_id=actor.user.id,
        actor_id=office_id or actor.stakeholder.id,
    )


def request_membership(actor: Actor, org: Stakeholder) -> Membership:
    """Ask to join an organisation (pending until one of its admins accepts)."""
    if not org.is_organisation or org.is_deleted:
        raise DomainError(str(_l("You can only join organisations.")))
    rv = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == actor.user.id, Membership.organisation_id == org.id
        )
    )
    if rv is not None and rv.status in (MembershipStatus.PENDING, MembershipStatus.ACTIVE):
        raise Conflict(str(_l("You have already asked to join or are a member.")))
    if rv is None:
        rv = Membership(user_id=actor.user.id, organisation_id=org.id)
        db.session.add(rv)
    rv.status, rv.role, rv.decided_at = MembershipStatus.PENDING, Role.MEMBER, None
    db.session.flush()
    audit.record(
        "membership.request", "membership", rv.id, community_id=org.community_id, **actor.audit_ids
    )
    return rv


def _count_admins(org_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Membership.organisation_id == org_id,
            Membership.role == Role.ADMIN,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )


def decide_membership(actor: Actor, membership: Membership, accept: bool) -> None:
    """Accept or decline a pending request to join."""
    org = membership.organisation
    if not perm.can_manage_organisation(actor.user, org):
        raise NotAllowed(str(_l("Only the organisation's admins decide on members.")))
    if membership.status != MembershipStatus.PENDING:
        raise Conflict(str(_l("This request was already decided.")))
    membership.status = MembershipStatus.ACTIVE if accept else MembershipStatus.REJECTED
    membership.decided_at = utcnow()
    perm.forget_roles()
    audit.record(
        "membership.accept" if accept else "membership.decline",
        "membership",
        membership.id,
        community_id=org.community_id,
        is_public=accept,
        data={"organisation_id": org.id, "member_id": _identity_id(membership.user_id)},
        user_id=actor.user.id,
        actor_id=org.id,
    )


def set_role(actor: Actor, membership: Membership, role: Role) -> None:
    """Change an active member's role; an organisation always keeps one admin."""
    org = membership.organisation
    if not perm.can_manage_organisation(actor.user, org):
        raise NotAllowed(str(_l("Only the organisation's admins set roles.")))
    if not membership.is_active:
        raise DomainError(str(_l("Only active members have a role.")))
    if membership.role == Role.ADMIN and role != Role.ADMIN and _count_admins(org.id) <= 1:
        raise DomainError(str(_l("An organisation needs at least one admin.")))
    old, membership.role = membership.role, role
    perm.forget_roles()
    audit.record(
        "membership.set_role",
        "membership",
        membership.id,
        community_id=org.community_id,
        is_public=True,
        data={
            "organisation_id": org.id,
            "member_id": _identity_id(membership.user_id),
            "from": old.value,
            "to": role.value,
        },
        user_id=actor.user.id,
        actor_id=org.id,
    )


def leave_organisation(actor: Actor, membership: Membership) -> None:
    """Leave an organisation (the last admin cannot leave)."""
    if membership.user_id != actor.user.id:
        raise NotAllowed(str(_l("You can only leave for yourself.")))
    if (
        membership.role == Role.ADMIN
        and membership.is_active
        and _count_admins(membership.organisation_id) <= 1
    ):
        raise DomainError(str(_l("An organisation needs at least one admin.")))
    membership.status = MembershipStatus.LEFT
    perm.forget_roles()
    audit.record("membership.leave", "membership", membership.id, **actor.audit_ids)


def _identity_id(user_id: int) -> int | None:
    return db.session.scalar(sa.select(Stakeholder.id).where(Stakeholder.user_id == user_id))


def claim_residence(actor: Actor, data: dict[str, Any]) -> ResidentProfile:
    """Claim residence in a community; the residents committee verifies it."""
    community = db.session.get(Community, data["community_id"])
    if community is None:
        raise DomainError(str(_l("Choose a community.")), field="community_id")
    grid_id = data.get("grid_id") or None
    if grid_id is not None and db.session.get(Grid, grid_id) not in community.grids:
        raise DomainError(str(_l("This grid is not in the chosen community.")), field="grid_id")
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == actor.user.id)
    )
    if (
        profile is not None
        and profile.status == ResidenceStatus.VERIFIED
        and (
            profile.community_id == community.id
            and (profile.building, profile.unit) == (data["building"], data["unit"])
        )
    ):
        raise Conflict(str(_l("Your residence here is already verified.")))
    if profile is None:
        profile = ResidentProfile(user_id=actor.user.id)
        db.session.add(profile)
    profile.community_id = community.id
    profile.grid_id = grid_id
    profile.building, profile.unit = data["building"], data["unit"]
    profile.phone = data["phone"]
    profile.status, profile.reason = ResidenceStatus.PENDING, ""
    profile.claimed_at, profile.decided_at, profile.decided_by_id = utcnow(), None, None
    db.session.flush()
    audit.record(
        "residence.claim",
        "resident_profile",
        profile.id,
        community_id=community.id,
        **actor.audit_ids,
    )
    return profile


def _decide_residence(
    actor: Actor, profile: ResidentProfile, status: ResidenceStatus, reason: str
) -> None:
    if not perm.can_verify_residents(actor.user, profile.community):
        raise NotAllowed(str(_l("Only the community's residents committee verifies residents.")))
    if profile.status != ResidenceStatus.PENDING:
        raise Conflict(str(_l("This claim was already decided.")))
    committee = perm.residents_committee_of(profile.community_id)
    profile.status, profile.reason = status, reason
    profile.decided_at, profile.decided_by_id = utcnow(), committee.id
    verified = status == ResidenceStatus.VERIFIED
    audit.record(
        "residence.verify" if verified else "residence.reject",
        "resident_profile",
        profile.id,
        community_id=profile.community_id,
        is_public=True,
        data={"resident_id": _identity_id(profile.user_id)},
        user_id=actor.user.id,
        actor_id=committee.id,
    )


def verify_residence(actor: Actor, profile: ResidentProfile) -> None:
    """Verify a pending residence claim."""
    _decide_residence(actor, profile, ResidenceStatus.VERIFIED, "")


def reject_residence(actor: Actor, profile: ResidentProfile, reason: str) -> None:
    """Reject a pending residence claim with a reason shown to the claimant."""
    if not reason.strip():
        raise DomainError(str(_l("Give a reason for the rejection.")), field="reason")
    _decide_residence(actor, profile, ResidenceStatus.REJECTED, reason.strip())


def reveal_personal_data(
    actor: Actor, profile: ResidentProfile, reason: str
) -> dict[str, str | None]:
    """Return a resident's full personal data, recording who read it and why."""
    if not perm.can_reveal_personal_data(actor.user, profile):
        raise NotAllowed(
            str(_l("Only the verifying residents committee may see full personal data."))
        )
    committee = perm.residents_committee_of(profile.community_id)
    record_personal_data_read(
        actor,
        ("resident_profile", profile.id),
        profile.community_id,
        reason,
        as_id=committee.id,
        missing=str(_l("Say why you need the full data.")),
    )
    return {"phone": profile.phone, "id_number": profile.id_number, "address": profile.address}


def record_personal_data_read(
    actor: Actor,
    subject: tuple[str, int],
    community_id: int | None,
    reason: str,
    *,
    as_id: int | None = None,
    field: str = "reason",
    missing: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    """Record in the audit trail that `actor` reads personal data, and why (refused without
    a reason of at least 4 characters)."""
    if len((reason or "").strip()) < 4:
        raise DomainError(missing or str(_l("Say why you need it.")), field=field)
    audit.record(
        "personal_data.read",
        subject[0],
        subject[1],
        community_id=community_id,
        data={field: reason.strip()[:200], **(extra or {})},
        user_id=actor.user.id,
        actor_id=as_id if as_id is not None else actor.stakeholder.id,
    )


def erase_personal_data(user: User) -> None:
    """Erase a leaving user's personal data; keep their stakeholder for attribution."""
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == user.id)
    )
    if profile is not None:
        profile.phone_encrypted = profile.id_number_encrypted = profile.address_encrypted = None
        profile.building = profile.unit = profile.reason = ""
    own = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == user.id))
    if own is not None:
        own.name, own.description, own.deleted_at = "", "", utcnow()
    for membership in db.session.scalars(
        sa.select(Membership).where(Membership.user_id == user.id)
    ):
        if membership.status in (MembershipStatus.ACTIVE, MembershipStatus.PENDING):
            membership.status = MembershipStatus.LEFT


def user_data(user: User) -> dict[str, Any]:
    """Collect a user's stakeholder data for their download (full, unmasked: it is theirs)."""
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == user.id)
    )
    memberships = db.session.scalars(
        sa.select(Membership).where(Membership.user_id == user.id)
    ).all()
    return {
        "residence": None
        if profile is None
        else {
            "community": profile.community.name if profile.community else None,
            "building": profile.building,
            "unit": profile.unit,
            "phone": profile.phone,
            "id_number": profile.id_number,
            "address": profile.address,
            "status": profile.status.value,
            "reason": profile.reason,
            "claimed_at": profile.claimed_at.isoformat(),
        },
        "memberships": [
            {"organisation": m.organisation.name, "role": m.role.value, "status": m.status.value}
            for m in memberships
        ],
    }


def on_user_registered(user: User) -> None:
    ensure_resident_identity(user)


def on_user_deleting(user: User) -> None:
    erase_personal_data(user)


def on_user_data_requested(user: User) -> tuple[str, dict[str, Any]]:
    return "stakeholders", user_data(user)

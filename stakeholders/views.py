"""Pages: community directory, profiles, organisations, residence, verification, acting-as."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from coord.db import db
from coord.i18n import FUNCTION_LABELS, KIND_LABELS
from coord.models import Community
from coord.permissions import is_platform_admin, require
from coord.security import is_safe_next
from coord.web import form_status, run
from stakeholders import acting, credit_code, queries, services
from stakeholders import permissions as perm
from stakeholders.forms import (
    ConfirmOrganisationForm,
    OrganisationForm,
    ReasonForm,
    ResidenceForm,
    RoleForm,
)
from stakeholders.models import (
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
    Stakeholder,
)
from stakeholders.network import services as network_service

bp = Blueprint("stakeholders", __name__)
bp.record_once(lambda state: acting.init_app(state.app))


def _community_choices() -> list[SelectChoice]:
    communities = db.session.scalars(sa.select(Community).order_by(Community.id))
    return [SelectChoice(c.id, c.name) for c in communities]


@bp.get("/communities/<int:community_id>")
def community(community_id: int):
    community = db.get_or_404(Community, community_id)
    kind_arg = request.args.get("kind")
    kind = Kind(kind_arg) if kind_arg in {k.value for k in Kind} else None
    organisations = queries.community_stakeholders(community, kind).where(
        Stakeholder.kind != Kind.RESIDENT
    )
    page = db.paginate(organisations, per_page=60, error_out=False)
    verified = queries.verified_user_ids([s.user_id for s in page.items if s.user_id])
    can_verify = current_user.is_authenticated and perm.can_verify_residents(
        current_user, community
    )
    groups = network_service.load_groups(community) if kind in (None, Kind.RESIDENT) else None
    return render_template(
        "stakeholders/community.html",
        community=community,
        resident_groups=network_service.community_group_counts(community, groups),
        page=page,
        kind=kind,
        kinds=list(Kind),
        verified=verified,
        can_verify=can_verify,
        can_review=perm.can_review_organisations(current_user),
    )


@bp.get("/stakeholders/<int:stakeholder_id>")
def profile(stakeholder_id: int):
    stakeholder = db.get_or_404(Stakeholder, stakeholder_id)
    verified = bool(stakeholder.user_id) and bool(queries.verified_user_ids([stakeholder.user_id]))
    members = []
    membership = None
    user = current_user if current_user.is_authenticated else None
    can_see_members = perm.can_act_as(user, stakeholder) or is_platform_admin(user)
    if stakeholder.is_organisation:
        members = db.session.execute(
            sa.select(Stakeholder, Membership.role)
            .join(Membership, Membership.user_id == Stakeholder.user_id)
            .where(
                Membership.organisation_id == stakeholder.id,
                Membership.status == MembershipStatus.ACTIVE,
                Stakeholder.deleted_at.is_(None),
            )
            .order_by(Membership.role, Stakeholder.name)
        ).all()
        if current_user.is_authenticated:
            membership = db.session.scalar(
                sa.select(Membership).where(
                    Membership.organisation_id == stakeholder.id,
                    Membership.user_id == current_user.id,
                )
            )
    return render_template(
        "stakeholders/profile.html",
        stakeholder=stakeholder,
        verified=verified,
        members=members,
        can_see_members=can_see_members,
        membership=membership,
        can_manage=perm.can_manage_organisation(current_user, stakeholder),
        can_confirm=perm.can_confirm_organisation(current_user, stakeholder)
        and not stakeholder.is_confirmed,
    )


def _organisation_form() -> OrganisationForm:
    form = OrganisationForm()
    kinds = [Kind.BUSINESS, Kind.SOCIAL_ORGANIZATION]
    if is_platform_admin(current_user):
        kinds.insert(0, Kind.GOVERNMENT)
    form.kind.choices = [SelectChoice(k.value, KIND_LABELS[k.value]) for k in kinds]
    functions = {f for k in kinds for f in services.FUNCTIONS_BY_KIND[k]}
    form.function.choices = [
        SelectChoice(f.value, FUNCTION_LABELS[f.value]) for f in sorted(functions)
    ]
    form.community_id.choices = [SelectChoice(0, _("The whole street")), *_community_choices()]
    return form


@bp.route("/organisations/new", methods=["GET", "POST"])
@login_required
def create_organisation():
    form = _organisation_form()
    if form.validate_on_submit():
        actor = acting.require_actor()
        data = dict(form.data)
        rv = run(
            lambda: services.create_organisation(actor, data),
            lambda org: _(
                "The organisation %(name)s was created. You are its admin.", name=org.name
            ),
            lambda org: url_for(".profile", stakeholder_id=org.id),
            form=form,
        )
        if rv is not None:
            return rv
    return render_template("stakeholders/organisation_new.html", form=form), form_status(form)


@bp.post("/stakeholders/<int:stakeholder_id>/join")
@login_required
def join(stakeholder_id: int):
    org = db.get_or_404(Stakeholder, stakeholder_id)
    actor = acting.require_actor()
    return run(
        lambda: services.request_membership(actor, org),
        _("Your request to join was sent to the organisation's admins."),
        url_for(".profile", stakeholder_id=org.id),
    )


@bp.get("/stakeholders/<int:stakeholder_id>/members")
@login_required
def members(stakeholder_id: int):
    org = db.get_or_404(Stakeholder, stakeholder_id)
    require(perm.can_manage_organisation(current_user, org))
    rows = db.session.execute(
        sa.select(Membership, Stakeholder)
        .join(Stakeholder, Stakeholder.user_id == Membership.user_id)
        .where(
            Membership.organisation_id == org.id,
            Membership.status.in_([MembershipStatus.PENDING, MembershipStatus.ACTIVE]),
        )
        .order_by(Membership.status.desc(), Membership.created_at)
    ).all()
    return render_template("stakeholders/members.html", org=org, rows=rows, role_form=RoleForm())


def _run_form(
    form: FlaskForm, invalid: str, action: Callable[[], object], success: str, target: str
) -> Response:
    """Run a one-field form's use case; an invalid form is flashed as `invalid`."""
    if not form.validate_on_submit():
        flash(invalid, "error")
        return redirect(target)
    return run(action, success, target)


def _membership_for_admin(membership_id: int) -> Membership:
    membership = db.get_or_404(Membership, membership_id)
    require(perm.can_manage_organisation(current_user, membership.organisation))
    return membership


@bp.post("/memberships/<int:membership_id>/<any(accept, decline):decision>")
@login_required
def decide_membership(membership_id: int, decision: str):
    membership = _membership_for_admin(membership_id)
    actor = acting.require_actor()
    accept = decision == "accept"
    return run(
        lambda: services.decide_membership(actor, membership, accept),
        _("The request was accepted.") if accept else _("The request was declined."),
        url_for(".members", stakeholder_id=membership.organisation_id),
    )


@bp.post("/memberships/<int:membership_id>/role")
@login_required
def set_role(membership_id: int):
    membership = _membership_for_admin(membership_id)
    form = RoleForm()
    return _run_form(
        form,
        _("Choose a valid role."),
        lambda: services.set_role(acting.require_actor(), membership, Role(form.role.data)),
        _("The role was changed."),
        url_for(".members", stakeholder_id=membership.organisation_id),
    )


@bp.post("/memberships/<int:membership_id>/leave")
@login_required
def leave(membership_id: int):
    membership = db.get_or_404(Membership, membership_id)
    require(membership.user_id == current_user.id, 404)
    actor = acting.require_actor()
    return run(
        lambda: services.leave_organisation(actor, membership),
        _("You left the organisation."),
        url_for(".profile", stakeholder_id=membership.organisation_id),
    )


@bp.route("/residence", methods=["GET", "POST"])
@login_required
def residence():
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == current_user.id)
    )
    form = ResidenceForm(obj=None if request.method == "POST" else profile)
    form.community_id.choices = _community_choices()
    if request.method == "GET" and profile is not None:
        form.phone.data = ""  # never echo stored personal data into the page
    if form.validate_on_submit():
        actor = acting.require_actor()
        rv = run(
            lambda: services.claim_residence(actor, form.data),
            _("Your claim was sent to the residents committee for verification."),
            url_for(".residence"),
            form=form,
        )
        if rv is not None:
            return rv
    return render_template("stakeholders/residence.html", form=form, profile=profile), form_status(
        form
    )


@bp.get("/communities/<int:community_id>/verification")
@login_required
def verification_queue(community_id: int):
    community = db.get_or_404(Community, community_id)
    require(perm.can_verify_residents(current_user, community))
    status = request.args.get("status", "pending")
    status = status if status in {s.value for s in ResidenceStatus} else "pending"
    rows = db.session.execute(
        sa.select(ResidentProfile, Stakeholder)
        .join(Stakeholder, Stakeholder.user_id == ResidentProfile.user_id)
        .where(ResidentProfile.community_id == community.id, ResidentProfile.status == status)
        .order_by(ResidentProfile.claimed_at)
    ).all()
    return render_template(
        "stakeholders/verification.html",
        community=community,
        rows=rows,
        status=status,
        reason_form=ReasonForm(),
    )


def _profile_for_committee(profile_id: int) -> ResidentProfile:
    profile = db.get_or_404(ResidentProfile, profile_id)
    require(perm.can_reveal_personal_data(current_user, profile), 404)
    return profile


@bp.post("/residence/<int:profile_id>/verify")
@login_required
def verify(profile_id: int):
    profile = _profile_for_committee(profile_id)
    actor = acting.require_actor()
    return run(
        lambda: services.verify_residence(actor, profile),
        _("The resident is verified."),
        url_for(".verification_queue", community_id=profile.community_id),
    )


@bp.post("/residence/<int:profile_id>/reject")
@login_required
def reject(profile_id: int):
    profile = _profile_for_committee(profile_id)
    form = ReasonForm()
    return _run_form(
        form,
        _("Give a reason for the rejection."),
        lambda: services.reject_residence(acting.require_actor(), profile, form.reason.data),
        _("The claim was rejected."),
        url_for(".verification_queue", community_id=profile.community_id),
    )


@bp.route("/residence/<int:profile_id>/reveal", methods=["GET", "POST"])
@login_required
def reveal(profile_id: int):
    """Show a resident's personal data in full, once, for a stated reason (audited)."""
    profile = _profile_for_committee(profile_id)
    form = ReasonForm()
    owner = db.session.scalar(sa.select(Stakeholder).where(Stakeholder.user_id == profile.user_id))

    def page(data: dict[str, str | None] | None = None) -> ResponseReturnValue:
        return render_template(
            "stakeholders/reveal.html", profile=profile, owner=owner, form=form, data=data
        ), form_status(form)

    if form.validate_on_submit():
        done = run(
            lambda: services.reveal_personal_data(
                acting.require_actor(), profile, form.reason.data
            ),
            None,
            page,
            form=form,
        )
        if done is not None:
            return done
    return page()


@bp.post("/acting-as")
@login_required
def switch_actor():
    raw = request.form.get("stakeholder_id", "")
    require(raw.isdigit() and len(raw) < 12, 400)
    chosen = acting.switch(current_user, int(raw))  # 403 when the user may not act as it
    flash(_("You are now acting as %(name)s.", name=chosen.name), "success")
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("main.index"))


@bp.get("/admin/organisations")
@login_required
def admin_organisations():
    """List organisations waiting for confirmation: the street office's, or all for the admin."""
    require(perm.can_review_organisations(current_user))
    return render_template(
        "stakeholders/admin_organisations.html",
        pending=queries.unconfirmed_organisations(
            None if is_platform_admin(current_user) else set(perm.street_office_ids(current_user))
        ),
        form=ConfirmOrganisationForm(),
        is_valid_code=credit_code.is_valid,
    )


@bp.post("/stakeholders/<int:stakeholder_id>/confirm")
@login_required
def confirm(stakeholder_id: int):
    org = db.get_or_404(Stakeholder, stakeholder_id)
    require(perm.can_confirm_organisation(current_user, org))
    form = ConfirmOrganisationForm()
    return _run_form(
        form,
        _("Say what you checked, and note what exactly."),
        lambda: services.confirm_organisation(
            acting.require_actor(), org, form.basis.data, form.note.data
        ),
        _("%(name)s is confirmed.", name=org.name),
        url_for(".admin_organisations"),
    )

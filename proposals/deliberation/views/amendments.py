"""Amendment pages: propose, read with its diff, support, withdraw, reject, accept."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from coord.db import db
from coord.extensions import limiter
from coord.permissions import require
from coord.web import form_status, run
from proposals import lifecycle
from proposals import permissions as perm
from proposals.deliberation import amendments, limits, signatures
from proposals.deliberation.forms import AcceptForm, AmendmentForm, RejectForm
from proposals.deliberation.models import Amendment, AmendmentStatus, Position
from proposals.deliberation.negotiation import STANCE_LABELS
from proposals.deliberation.permissions import can_decide_amendments, can_withdraw
from proposals.deliberation.views import bp, claimed_actor, offer_signature, proposal_url
from proposals.diff import diff_lines
from proposals.models import Proposal
from proposals.views import visible_or_404
from stakeholders import acting
from stakeholders.models import Stakeholder

_limit_posts = limiter.limit(limits.deliberation_posts, key_func=limits.user_key, methods=["POST"])


def _amendment(amendment_id: int) -> tuple[Amendment, Proposal]:
    amendment = db.get_or_404(Amendment, amendment_id)
    return amendment, visible_or_404(amendment.proposal_id)


def _amendment_url(amendment: Amendment) -> str:
    return url_for(".amendment", amendment_id=amendment.id)


@bp.route("/proposals/<int:proposal_id>/amendments/new", methods=["GET", "POST"])
@_limit_posts
@login_required
def amendment_new(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = claimed_actor()
    require(perm.can_participate(current_user, proposal))
    form = AmendmentForm()
    choice = offer_signature(form, actor, proposal)
    if request.method == "GET":
        form.acting_as.data = actor.stakeholder.id
        form.base_version.data = proposal.version
        form.title.data = proposal.title
        form.body.data = proposal.body_source
    if form.validate_on_submit():
        data = {
            "base_version": form.base_version.data,
            "title": form.title.data,
            "body": form.body.data or "",
            "rationale": form.rationale.data,
            "signature": form.signature.data if choice else None,
        }
        done = run(
            lambda: amendments.propose_amendment(actor, proposal, data),
            _("Your amendment was proposed."),
            _amendment_url,
            form=form,
        )
        if done:
            return done
    stale = bool(form.base_version.data) and form.base_version.data != proposal.version
    return render_template(
        "proposals/amendment_form.html",
        form=form,
        proposal=proposal,
        actor=actor,
        stale=stale,
        signature=choice,
    ), form_status(form)


def _render_amendment(
    amendment: Amendment, proposal: Proposal, reject_form: RejectForm | None = None
) -> tuple[str, int]:
    actor = acting.current_actor()
    proposer = db.session.get(Stakeholder, amendment.actor_id)
    linked = db.session.execute(
        sa.select(Position, Stakeholder)
        .join(Stakeholder, Stakeholder.id == Position.stakeholder_id)
        .where(Position.condition_amendment_id == amendment.id)
        .order_by(Position.id)
    ).all()
    supporters = amendments.supporters(amendment)
    can_participate = actor is not None and perm.can_participate(current_user, proposal)
    is_open = amendment.status == AmendmentStatus.OPEN
    mine = actor is not None and actor.stakeholder.id == amendment.actor_id
    can_decide = is_open and can_decide_amendments(actor, proposal)
    if reject_form is None:
        reject_form = RejectForm()
    if actor is not None:
        reject_form.acting_as.data = actor.stakeholder.id
    context: dict[str, Any] = {
        "amendment": amendment,
        "proposal": proposal,
        "proposer": proposer,
        "signed_authors": signatures.labels_for(proposal.id).labels,
        "linked": linked,
        "supporters": supporters,
        "supported": actor is not None and any(s.id == actor.stakeholder.id for s in supporters),
        "can_support": can_participate and is_open and not mine,
        "can_withdraw": can_withdraw(actor, amendment),
        "can_decide": can_decide,
        "can_accept": can_decide
        and lifecycle.is_open_for_discussion(proposal.kind, proposal.status),
        "can_link_condition": can_participate and is_open,
        "reject_form": reject_form,
        "status_labels": amendments.STATUS_LABELS,
        "stance_labels": STANCE_LABELS,
        **amendments.amendment_diff(amendment, proposal),
    }
    return render_template("proposals/amendment_detail.html", **context), form_status(reject_form)


@bp.get("/amendments/<int:amendment_id>")
def amendment(amendment_id: int):
    amendment, proposal = _amendment(amendment_id)
    return _render_amendment(amendment, proposal)


@bp.post("/amendments/<int:amendment_id>/support")
@_limit_posts
@login_required
def amendment_support(amendment_id: int) -> Response:
    amendment, proposal = _amendment(amendment_id)
    actor = claimed_actor()
    require(perm.can_participate(current_user, proposal))
    return run(
        lambda: amendments.support_amendment(actor, amendment),
        _("You support this amendment."),
        _amendment_url(amendment),
        abort_forbidden=False,
    )


@bp.post("/amendments/<int:amendment_id>/withdraw")
@login_required
def amendment_withdraw(amendment_id: int) -> Response:
    amendment, _proposal = _amendment(amendment_id)
    actor = claimed_actor()
    require(actor.stakeholder.id == amendment.actor_id)
    return run(
        lambda: amendments.withdraw_amendment(actor, amendment),
        _("The amendment was withdrawn."),
        _amendment_url(amendment),
    )


@bp.post("/amendments/<int:amendment_id>/reject")
@login_required
def amendment_reject(amendment_id: int):
    amendment, proposal = _amendment(amendment_id)
    actor = claimed_actor()
    require(can_decide_amendments(actor, proposal))
    form = RejectForm()
    if form.validate_on_submit():
        done = run(
            lambda: amendments.reject_amendment(actor, amendment, form.reason.data),
            _("The amendment was rejected."),
            _amendment_url(amendment),
            form=form,
        )
        if done:
            return done
    return _render_amendment(amendment, proposal, form)


def _fill_accept_form(form: AcceptForm, plan: amendments.AcceptPlan) -> None:
    form.version.data, form.title.data, form.body.data = plan.version, plan.title, plan.body


@bp.route("/amendments/<int:amendment_id>/accept", methods=["GET", "POST"])
@login_required
def amendment_accept(amendment_id: int):
    amendment, proposal = _amendment(amendment_id)
    actor = claimed_actor()
    require(can_decide_amendments(actor, proposal))
    if amendment.status != AmendmentStatus.OPEN:
        flash(_("This amendment has already been decided or withdrawn."), "error")
        return redirect(_amendment_url(amendment))
    if not lifecycle.is_open_for_discussion(proposal.kind, proposal.status):
        flash(_("This proposal is not open for amendments."), "error")
        return redirect(_amendment_url(amendment))
    plan = amendments.accept_plan(amendment, proposal)
    form = AcceptForm()
    if request.method == "GET":
        form.acting_as.data = actor.stakeholder.id
        _fill_accept_form(form, plan)
    if form.validate_on_submit():
        done = run(
            lambda: amendments.accept_amendment(
                actor,
                amendment,
                version=form.version.data,
                title=form.title.data,
                body=form.body.data,
                note=form.note.data or "",
            ),
            lambda number: _("The amendment was accepted as version %(n)d.", n=number),
            proposal_url(proposal.id, "amendments"),
            form=form,
        )
        if done:
            return done
        plan = amendments.accept_plan(amendment, proposal)
        if plan.version != form.version.data:  # changed meanwhile: start from the new text
            _fill_accept_form(form, plan)
            form.version.raw_data = None  # render the new number, not the one posted
    result_lines = diff_lines(proposal.body_source, plan.body) if not plan.conflicts else []
    return render_template(
        "proposals/amendment_accept.html",
        amendment=amendment,
        proposal=proposal,
        plan=plan,
        form=form,
        result_lines=result_lines,
    ), form_status(form)

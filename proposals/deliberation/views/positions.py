"""Position pages: declare or change the acting stakeholder's position, its history."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from coord.db import db
from coord.extensions import limiter
from coord.permissions import require
from coord.text import shorten
from coord.web import form_status, int_arg, run
from proposals import permissions as perm
from proposals.deliberation import amendments, limits, positions, signatures
from proposals.deliberation.forms import PositionForm
from proposals.deliberation.models import Position, PositionStance
from proposals.deliberation.negotiation import STANCE_LABELS
from proposals.deliberation.views import bp, claimed_actor, offer_signature, proposal_url
from proposals.models import Proposal
from proposals.views import visible_or_404
from proposals.vocabulary import INTERESTS
from stakeholders.models import Stakeholder


def _excerpt(text: str, length: int = 60) -> str:
    return shorten(" ".join(text.split()), length)


def _amendment_choices(proposal: Proposal, current: Position | None) -> list[SelectChoice]:
    rv = [SelectChoice(0, _("None yet"))]
    for amendment_id, rationale in amendments.open_choices(proposal):
        label = _("Amendment #%(n)d: %(text)s", n=amendment_id, text=_excerpt(rationale))
        rv.append(SelectChoice(amendment_id, label))
    linked = current.condition_amendment_id if current else None
    if linked and all(c.value != linked for c in rv):
        rv.append(SelectChoice(linked, _("Amendment #%(n)d", n=linked)))
    return rv


def _fill(form: PositionForm, current: Position | None) -> None:
    """Fill the form with the current position, or the stance an amendment link asks for."""
    if current is not None:
        form.stance.data = current.stance.value
        form.interests.data = list(current.interests or [])
        form.tags.data = ", ".join(current.tags or [])
        form.statement.data = current.statement
        form.conditions.data = current.conditions
        form.condition_amendment_id.data = current.condition_amendment_id or 0
    wanted = int_arg("amendment")
    if wanted and any(c.value == wanted for c in form.condition_amendment_id.choices):
        form.stance.data = PositionStance.CONDITIONAL.value
        form.condition_amendment_id.data = wanted


@bp.route("/proposals/<int:proposal_id>/position", methods=["GET", "POST"])
@limiter.limit(limits.deliberation_posts, key_func=limits.user_key, methods=["POST"])
@login_required
def position(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = claimed_actor()
    require(perm.can_participate(current_user, proposal))
    current = positions.current_position(proposal, actor.stakeholder.id)
    form = PositionForm()
    choice = offer_signature(form, actor, proposal)
    form.condition_amendment_id.choices = _amendment_choices(proposal, current)
    if request.method == "GET":
        form.acting_as.data = actor.stakeholder.id
        _fill(form, current)
    if form.validate_on_submit():
        data = {
            "stance": form.stance.data,
            "interests": form.interests.data or [],
            "tags": form.tags.data or "",
            "statement": form.statement.data or "",
            "conditions": form.conditions.data or "",
            "condition_amendment_id": form.condition_amendment_id.data or None,
            "signature": form.signature.data if choice else None,
        }
        done = run(
            lambda: positions.declare_position(actor, proposal, data),
            _("Your position was saved."),
            proposal_url(proposal.id, "positions"),
            form=form,
        )
        if done:
            return done
    return render_template(
        "proposals/position_form.html",
        form=form,
        proposal=proposal,
        current=current,
        actor=actor,
        signature=choice,
    ), form_status(form)


@bp.get("/positions/<int:position_id>/history")
def position_history(position_id: int):
    row = db.session.execute(
        sa.select(Position, Stakeholder)
        .join(Stakeholder, Stakeholder.id == Position.stakeholder_id)
        .where(Position.id == position_id)
    ).first()
    if row is None:
        abort(404)
    position, stakeholder = row
    proposal = visible_or_404(position.proposal_id)
    return render_template(
        "proposals/position_history.html",
        proposal=proposal,
        position=position,
        stakeholder=stakeholder,
        signed=signatures.labels_for(proposal.id).labels.get(stakeholder.id),
        revisions=positions.history(position),
        interest_labels=INTERESTS,
        stance_labels=STANCE_LABELS,
    )

"""Pages and actions of positions and amendments.

Every view: parse → load (`db.get_or_404`) → `require` (404 when the proposal is not
visible to the viewer, 403 when they see it but may not act) → one service call → one
commit → redirect with a flash. A form that carries `acting_as` (or a request with an
`X-Acting-As` header) must name the identity the user currently acts as: a form
rendered for one identity is never saved under another.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from coord.db import db
from coord.errors import DomainError
from coord.extensions import limiter
from coord.forms import strip_text
from coord.i18n import AUDIT_LABELS
from coord.permissions import require
from coord.web import act, form_error, form_status, int_arg
from proposals import lifecycle
from proposals import permissions as perm
from proposals.deliberation import amendments, positions
from proposals.deliberation.comment_views import user_key
from proposals.deliberation.diff import diff_lines
from proposals.deliberation.models import Amendment, AmendmentStatus, Position, PositionStance
from proposals.deliberation.negotiation import STANCE_LABELS
from proposals.models import Proposal
from proposals.vocabulary import INTERESTS
from stakeholders import acting
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder

bp = Blueprint("deliberation", __name__)

AUDIT_LABELS.update(
    {
        "position.declare": _l("declared a position"),
        "position.change": _l("changed a position"),
        "amendment.propose": _l("proposed an amendment"),
        "amendment.support": _l("supported an amendment"),
        "amendment.withdraw": _l("withdrew an amendment"),
        "amendment.accept": _l("accepted an amendment"),
        "amendment.reject": _l("rejected an amendment"),
    }
)


def _posting_limit() -> str:
    return current_app.config.get("RATELIMIT_DELIBERATION_POSTS", "20 per minute")


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PositionForm(FlaskForm):
    acting_as = HiddenField()
    stance = RadioField(
        _l("Where do you stand?"),
        choices=[SelectChoice(s.value, _l(STANCE_LABELS[s.value])) for s in PositionStance],
        validators=[InputRequired(message=_l("Choose where you stand."))],
    )
    conditions = TextAreaField(
        _l("Your conditions"),
        filters=[strip_text],
        validators=[Length(max=positions.MAX_CONDITIONS)],
        description=_l(
            "For conditional support: on which conditions would you support it? "
            "E.g. “support if construction avoids 22:00–07:00”."
        ),
    )
    condition_amendment_id = SelectField(
        _l("An amendment that would meet your conditions"), coerce=int, validators=[Optional()]
    )
    interests = CheckboxesField(
        _l("Interests at stake"),
        choices=[SelectChoice(k, _l(v)) for k, v in INTERESTS.items()],
        validators=[Optional()],
    )
    tags = StringField(
        _l("Other interests (tags)"),
        filters=[strip_text],
        validators=[Length(max=200)],
        description=_l(
            "Up to %(n)d short tags separated by commas, each at most %(m)d characters.",
            n=positions.MAX_TAGS,
            m=positions.MAX_TAG_LENGTH,
        ),
    )
    statement = TextAreaField(
        _l("Statement"),
        filters=[strip_text],
        validators=[Length(max=positions.MAX_STATEMENT)],
        description=_l("Why you take this position (plain text)."),
    )
    submit = SubmitField(_l("Save my position"))


class AmendmentForm(FlaskForm):
    acting_as = HiddenField()
    base_version = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    title = StringField(
        _l("Title"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=amendments.MAX_TITLE)],
    )
    body = TextAreaField(
        _l("Proposed text"),
        validators=[Length(max=amendments.MAX_BODY)],
        description=_l("Edit the current text as you would like it to read (Markdown)."),
    )
    rationale = TextAreaField(
        _l("Rationale"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=amendments.MAX_RATIONALE)],
        description=_l("Why should the text change? Which concerns does it answer?"),
    )
    submit = SubmitField(_l("Propose the amendment"))


class AcceptForm(FlaskForm):
    acting_as = HiddenField()
    version = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    title = StringField(
        _l("Resolved title"), filters=[strip_text], validators=[Length(max=amendments.MAX_TITLE)]
    )
    body = TextAreaField(
        _l("Resolved text"),
        validators=[Length(max=amendments.MAX_BODY + 2000)],
        description=_l(
            "Between <<<<<<< and ======= stands the current text, between ======= and "
            ">>>>>>> the amendment. Keep what should stay and delete the marker lines."
        ),
    )
    note = StringField(
        _l("Note (optional)"),
        filters=[strip_text],
        validators=[Length(max=amendments.MAX_REASON)],
    )
    submit = SubmitField(_l("Accept the amendment"))


class RejectForm(FlaskForm):
    acting_as = HiddenField()
    reason = TextAreaField(
        _l("Reason for rejecting"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Give a reason for the rejection.")),
            Length(max=amendments.MAX_REASON),
        ],
    )
    submit = SubmitField(_l("Reject the amendment"))


def _refused(form: FlaskForm, error: DomainError) -> None:
    """Show a refused use case on the form; without a field of its own, it is flashed and
    still counts as an error of the form (so the page answers 422)."""
    form_error(form, error)
    if getattr(form, error.field or "", None) is None:
        form.form_errors.append(error.message)


def _actor() -> Actor:
    """Return the acting identity; 403 when the request claims another one."""
    actor = acting.require_actor()
    claimed = request.form.get("acting_as") or request.headers.get(acting.HEADER)
    if claimed is not None and claimed != str(actor.stakeholder.id):
        abort(403)
    return actor


def _visible(proposal_id: int) -> Proposal:
    proposal = db.get_or_404(Proposal, proposal_id)
    require(perm.can_view(current_user, proposal), 404)
    return proposal


def _amendment(amendment_id: int) -> tuple[Amendment, Proposal]:
    amendment = db.get_or_404(Amendment, amendment_id)
    return amendment, _visible(amendment.proposal_id)


def _proposal_url(proposal: Proposal, anchor: str) -> str:
    return url_for("proposals.detail", proposal_id=proposal.id, _anchor=anchor)


def _excerpt(text: str, length: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1] + "…"


def _amendment_choices(proposal: Proposal, current: Position | None) -> list[SelectChoice]:
    rv = [SelectChoice(0, _("None yet"))]
    for amendment_id, rationale in amendments.open_choices(proposal):
        label = _("Amendment #%(n)d: %(text)s", n=amendment_id, text=_excerpt(rationale))
        rv.append(SelectChoice(amendment_id, label))
    linked = current.condition_amendment_id if current else None
    if linked and all(c.value != linked for c in rv):
        rv.append(SelectChoice(linked, _("Amendment #%(n)d", n=linked)))
    return rv


@bp.route("/proposals/<int:proposal_id>/position", methods=["GET", "POST"])
@limiter.limit(_posting_limit, key_func=user_key, methods=["POST"])
@login_required
def position(proposal_id: int):
    proposal = _visible(proposal_id)
    actor = _actor()
    require(perm.can_participate(current_user, proposal))
    current = positions.current_position(proposal, actor.stakeholder.id)
    form = PositionForm()
    form.condition_amendment_id.choices = _amendment_choices(proposal, current)
    if request.method == "GET":
        form.acting_as.data = actor.stakeholder.id
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
    if form.validate_on_submit():
        data = {
            "stance": form.stance.data,
            "interests": form.interests.data or [],
            "tags": form.tags.data or "",
            "statement": form.statement.data or "",
            "conditions": form.conditions.data or "",
            "condition_amendment_id": form.condition_amendment_id.data or None,
        }
        try:
            positions.declare_position(actor, proposal, data)
        except DomainError as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash(_("Your position was saved."), "success")
            return redirect(_proposal_url(proposal, "positions"))
    return render_template(
        "proposals/position_form.html",
        form=form,
        proposal=proposal,
        current=current,
        actor=actor,
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
    proposal = _visible(position.proposal_id)
    return render_template(
        "proposals/position_history.html",
        proposal=proposal,
        position=position,
        stakeholder=stakeholder,
        revisions=positions.history(position),
        interest_labels=INTERESTS,
        stance_labels=STANCE_LABELS,
    )


@bp.route("/proposals/<int:proposal_id>/amendments/new", methods=["GET", "POST"])
@limiter.limit(_posting_limit, key_func=user_key, methods=["POST"])
@login_required
def amendment_new(proposal_id: int):
    proposal = _visible(proposal_id)
    actor = _actor()
    require(perm.can_participate(current_user, proposal))
    form = AmendmentForm()
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
        }
        try:
            amendment = amendments.propose_amendment(actor, proposal, data)
        except DomainError as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash(_("Your amendment was proposed."), "success")
            return redirect(url_for(".amendment", amendment_id=amendment.id))
    stale = bool(form.base_version.data) and form.base_version.data != proposal.version
    return render_template(
        "proposals/amendment_form.html", form=form, proposal=proposal, actor=actor, stale=stale
    ), form_status(form)


def _render_amendment(
    amendment: Amendment, proposal: Proposal, reject_form: RejectForm | None = None
) -> tuple[str, int]:
    actor = acting.current_actor()
    author = db.session.get(Stakeholder, amendment.actor_id)
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
    can_decide = is_open and amendments.is_owner(actor, proposal)
    if reject_form is None:
        reject_form = RejectForm()
    if actor is not None:
        reject_form.acting_as.data = actor.stakeholder.id
    context: dict[str, Any] = {
        "amendment": amendment,
        "proposal": proposal,
        "author": author,
        "linked": linked,
        "supporters": supporters,
        "supported": actor is not None and any(s.id == actor.stakeholder.id for s in supporters),
        "can_support": can_participate and is_open and not mine,
        "can_withdraw": amendments.can_withdraw(actor, amendment),
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
@limiter.limit(_posting_limit, key_func=user_key, methods=["POST"])
@login_required
def amendment_support(amendment_id: int) -> Response:
    amendment, proposal = _amendment(amendment_id)
    actor = _actor()
    require(perm.can_participate(current_user, proposal))
    return act(
        lambda: amendments.support_amendment(actor, amendment),
        _("You support this amendment."),
        url_for(".amendment", amendment_id=amendment.id),
    )


@bp.post("/amendments/<int:amendment_id>/withdraw")
@login_required
def amendment_withdraw(amendment_id: int) -> Response:
    amendment, _proposal = _amendment(amendment_id)
    actor = _actor()
    require(actor.stakeholder.id == amendment.actor_id)
    return act(
        lambda: amendments.withdraw_amendment(actor, amendment),
        _("The amendment was withdrawn."),
        url_for(".amendment", amendment_id=amendment.id),
    )


@bp.post("/amendments/<int:amendment_id>/reject")
@login_required
def amendment_reject(amendment_id: int):
    amendment, proposal = _amendment(amendment_id)
    actor = _actor()
    require(amendments.is_owner(actor, proposal))
    form = RejectForm()
    if form.validate_on_submit():
        try:
            amendments.reject_amendment(actor, amendment, form.reason.data)
        except DomainError as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash(_("The amendment was rejected."), "success")
            return redirect(url_for(".amendment", amendment_id=amendment.id))
    return _render_amendment(amendment, proposal, form)


@bp.route("/amendments/<int:amendment_id>/accept", methods=["GET", "POST"])
@login_required
def amendment_accept(amendment_id: int):
    amendment, proposal = _amendment(amendment_id)
    actor = _actor()
    require(amendments.is_owner(actor, proposal))
    if amendment.status != AmendmentStatus.OPEN:
        flash(_("This amendment has already been decided or withdrawn."), "error")
        return redirect(url_for(".amendment", amendment_id=amendment.id))
    if not lifecycle.is_open_for_discussion(proposal.kind, proposal.status):
        flash(_("This proposal is not open for amendments."), "error")
        return redirect(url_for(".amendment", amendment_id=amendment.id))
    plan = amendments.accept_plan(amendment, proposal)
    form = AcceptForm()
    if request.method == "GET":
        form.acting_as.data = actor.stakeholder.id
        form.version.data = plan.version
        form.title.data = plan.title
        form.body.data = plan.body
    if form.validate_on_submit():
        try:
            number = amendments.accept_amendment(
                actor,
                amendment,
                version=form.version.data,
                title=form.title.data,
                body=form.body.data,
                note=form.note.data or "",
            )
        except DomainError as exc:
            _refused(form, exc)
            plan = amendments.accept_plan(amendment, proposal)
            if plan.version != form.version.data:  # changed meanwhile: start from the new text
                form.version.data, form.title.data, form.body.data = (
                    plan.version,
                    plan.title,
                    plan.body,
                )
                form.version.raw_data = None  # render the new number, not the one posted
        else:
            db.session.commit()
            flash(_("The amendment was accepted as version %(n)d.", n=number), "success")
            return redirect(_proposal_url(proposal, "amendments"))
    result_lines = diff_lines(proposal.body_source, plan.body) if not plan.conflicts else []
    return render_template(
        "proposals/amendment_accept.html",
        amendment=amendment,
        proposal=proposal,
        plan=plan,
        form=form,
        result_lines=result_lines,
    ), form_status(form)

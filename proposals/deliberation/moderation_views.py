"""Moderation pages: report an item, the community's queue, hide with a reason, dismiss."""

from __future__ import annotations

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
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from coord.db import db
from coord.errors import DomainError
from coord.extensions import limiter
from coord.forms import strip_text
from coord.models import Community
from coord.permissions import require
from coord.web import MAX_ID, act, form_error, int_arg
from proposals import permissions as perm
from proposals.deliberation import moderation
from proposals.deliberation.comment_views import (
    comment_url,
    limits_disabled,
    proposal_url,
    user_key,
)
from proposals.deliberation.models import Comment, Report
from stakeholders.acting import require_actor

bp = Blueprint("moderation", __name__)


@bp.app_template_filter("hidden_reason")
def _hidden_reason(reason: str | None) -> str:
    """Show the public reason an item is hidden (the automatic one translated)."""
    return moderation.hidden_reason_text(reason)


class ReportForm(FlaskForm):
    target_type = SelectField(
        _l("What"),
        choices=[SelectChoice("comment", _l("Comment")), SelectChoice("proposal", _l("Proposal"))],
        validators=[InputRequired()],
    )
    target_id = IntegerField(
        _l("Number"),
        validators=[
            InputRequired(message=_l("Say which item you report.")),
            NumberRange(min=1, max=MAX_ID),
        ],
    )
    reason = TextAreaField(
        _l("What is wrong?"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Say what is wrong.")),
            Length(
                max=moderation.MAX_REPORT_REASON,
                message=_l("A reason can have at most 500 characters."),
            ),
        ],
    )
    submit = SubmitField(_l("Report"))


class HideForm(FlaskForm):
    reason = StringField(
        _l("Public reason"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Give the public reason for hiding it.")),
            Length(
                max=moderation.MAX_HIDE_REASON,
                message=_l("A reason can have at most 300 characters."),
            ),
        ],
        description=_l("Shown to everyone in place of the hidden item."),
    )
    submit = SubmitField(_l("Hide"))


def _reporting_limit() -> str:
    return current_app.config.get("RATELIMIT_REPORTS", "10 per minute")


def _target_url(target: Comment | object, proposal_id: int) -> str:
    return comment_url(target) if isinstance(target, Comment) else proposal_url(proposal_id)


@bp.post("/reports")
@limiter.limit(_reporting_limit, key_func=user_key, methods=["POST"], exempt_when=limits_disabled)
@login_required
def report():
    form = ReportForm()
    status = 422
    loaded = None
    if not form.target_type.errors and not form.target_id.errors:
        loaded = moderation.load_target(form.target_type.data, form.target_id.data)
    if form.validate_on_submit():
        if loaded is None or not perm.can_view(current_user, loaded[1]):
            return _report_page(form, None, 404)
        target, proposal = loaded
        actor = require_actor()
        try:
            moderation.report_item(actor, target, proposal, form.reason.data)
        except DomainError as exc:
            form_error(form, exc)
            status = 422 if exc.status == 400 else exc.status
        else:
            db.session.commit()
            if target.is_hidden:
                flash(_("Thank you. The item is hidden until a moderator reviews it."), "success")
            else:
                flash(_("Thank you. The moderators will review your report."), "success")
            return redirect(_target_url(target, proposal.id))
    if loaded is not None and not perm.can_view(current_user, loaded[1]):
        loaded = None
    return _report_page(form, loaded, status)


@bp.get("/reports/new")
@login_required
def new_report():
    form = ReportForm(formdata=None)
    form.target_type.data = request.args.get("target_type", "")
    form.target_id.data = int_arg("target_id")
    loaded = moderation.load_target(form.target_type.data, form.target_id.data)
    if loaded is None or not perm.can_view(current_user, loaded[1]):
        abort(404)
    return _report_page(form, loaded, 200)


def _report_page(form: ReportForm, loaded, status: int) -> tuple[str, int]:
    target, proposal = loaded if loaded else (None, None)
    return render_template(
        "proposals/moderation_report.html",
        form=form,
        target=target,
        proposal=proposal,
        not_found=status == 404,
    ), status


def _queue_page(community: Community, hide_form: HideForm | None, failed: int | None, status: int):
    return render_template(
        "proposals/moderation_queue.html",
        community=community,
        items=moderation.queue(community.id),
        hide_form=hide_form,
        failed_report_id=failed,
        max_reason=moderation.MAX_HIDE_REASON,
    ), status


@bp.get("/communities/<int:community_id>/moderation")
@login_required
def queue(community_id: int):
    community = db.get_or_404(Community, community_id)
    require(perm.can_moderate(current_user, community.id))
    return _queue_page(community, None, None, 200)


def _moderated_report(report_id: int) -> Report:
    report = db.get_or_404(Report, report_id)
    require(perm.can_moderate(current_user, report.community_id))
    return report


@bp.post("/reports/<int:report_id>/hide")
@login_required
def hide(report_id: int):
    report = _moderated_report(report_id)
    actor = require_actor()
    form = HideForm()
    if form.validate_on_submit():
        try:
            moderation.hide_item(actor, report, form.reason.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            db.session.commit()
            flash(_("The item is hidden; its public reason is shown in its place."), "success")
            return redirect(url_for(".queue", community_id=report.community_id))
    community = db.session.get(Community, report.community_id)
    return _queue_page(community, form, report.id, 422)


@bp.post("/reports/<int:report_id>/dismiss")
@login_required
def dismiss(report_id: int):
    report = _moderated_report(report_id)
    actor = require_actor()
    return act(
        lambda: moderation.dismiss_reports(actor, report),
        _("The reports were dismissed."),
        url_for(".queue", community_id=report.community_id),
    )

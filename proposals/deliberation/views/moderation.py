"""Moderation pages: report an item, the community's queue, hide with a reason, dismiss."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.db import db
from coord.extensions import limiter
from coord.models import Community
from coord.permissions import require
from coord.web import form_status, int_arg, run
from proposals import permissions as perm
from proposals.deliberation import limits, moderation
from proposals.deliberation.forms import HideForm, ReportForm
from proposals.deliberation.models import Comment, Report
from proposals.deliberation.views import comment_url, proposal_url
from stakeholders.acting import require_actor

bp = Blueprint("moderation", __name__)


def _target_url(target: Comment | object, proposal_id: int) -> str:
    return comment_url(target) if isinstance(target, Comment) else proposal_url(proposal_id)


def _thanks(target: moderation.Target) -> str:
    if target.is_hidden:
        return _("Thank you. The item is hidden until a moderator reviews it.")
    return _("Thank you. The moderators will review your report.")


@bp.post("/reports")
@limiter.limit(
    limits.reports, key_func=limits.user_key, methods=["POST"], exempt_when=limits.limits_disabled
)
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
        done = run(
            lambda: moderation.report_item(actor, target, proposal, form.reason.data),
            lambda _report: _thanks(target),
            _target_url(target, proposal.id),
            form=form,
            abort_forbidden=False,
        )
        if done:
            return done
        status = form_status(form, refusal_status=True)
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


def _queue_page(
    community: Community,
    hide_form: HideForm | None,
    failed: int | None,
    status: int,
    revealed: int | None = None,
):
    return render_template(
        "proposals/moderation_queue.html",
        community=community,
        items=moderation.queue(community.id),
        hide_form=hide_form,
        failed_report_id=failed,
        max_reason=moderation.MAX_HIDE_REASON,
        revealed_report_id=revealed,
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
        done = run(
            lambda: moderation.hide_item(actor, report, form.reason.data),
            _("The item is hidden; its public reason is shown in its place."),
            url_for(".queue", community_id=report.community_id),
            form=form,
        )
        if done:
            return done
    community = db.session.get(Community, report.community_id)
    return _queue_page(community, form, report.id, 422)


@bp.post("/reports/<int:report_id>/author")
@login_required
def reveal_author(report_id: int):
    """Show a moderator the author of a comment signed by building, in the answer itself
    (the reading is audited; a later GET of the queue shows the label again)."""
    report = _moderated_report(report_id)
    actor = require_actor()
    community = db.session.get(Community, report.community_id)
    return run(
        lambda: moderation.reveal_author(actor, report),
        None,
        lambda _author: _queue_page(community, None, None, 200, revealed=report.id),
        back=url_for(".queue", community_id=report.community_id),
    )


@bp.post("/reports/<int:report_id>/dismiss")
@login_required
def dismiss(report_id: int):
    report = _moderated_report(report_id)
    actor = require_actor()
    return run(
        lambda: moderation.dismiss_reports(actor, report),
        _("The reports were dismissed."),
        url_for(".queue", community_id=report.community_id),
    )

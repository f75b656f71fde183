"""Comment actions: post and reply, edit, delete, react, edit history, permalink."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from coord.db import db
from coord.errors import DomainError
from coord.extensions import limiter
from coord.permissions import require
from coord.web import MAX_ID, act, form_error
from proposals import permissions as perm
from proposals.deliberation import comments
from proposals.deliberation.comments import CommentForm, EditCommentForm
from proposals.deliberation.models import Comment, Reaction
from proposals.models import Proposal
from stakeholders.acting import require_actor

bp = Blueprint("comment", __name__)


def user_key() -> str:
    """Rate-limit signed-in users by account (anonymous requests by address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def limits_disabled() -> bool:
    """Skip these limits in an app whose settings turn rate limiting off (tests, mostly)."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def _posting_limit() -> str:
    return current_app.config.get("RATELIMIT_COMMENT_POSTS", "10 per minute")


def _reacting_limit() -> str:
    return current_app.config.get("RATELIMIT_COMMENT_REACTIONS", "60 per minute")


def proposal_url(proposal_id: int, anchor: str | None = None) -> str:
    """Return the address of a proposal page, optionally at an anchor."""
    return url_for("proposals.detail", proposal_id=proposal_id, _anchor=anchor)


def comment_url(comment: Comment) -> str:
    """Return the address of a comment on its proposal page."""
    return proposal_url(comment.proposal_id, f"comment-{comment.id}")


def _visible_proposal(proposal_id: int) -> Proposal:
    proposal = db.get_or_404(Proposal, proposal_id)
    require(perm.can_view(current_user, proposal), 404)
    return proposal


def _visible_comment(comment_id: int) -> tuple[Comment, Proposal]:
    comment = db.get_or_404(Comment, comment_id)
    return comment, _visible_proposal(comment.proposal_id)


def _form_page(
    form: CommentForm, proposal: Proposal, parent: Comment | None, status: int
) -> tuple[str, int]:
    return render_template(
        "proposals/comment_form.html",
        form=form,
        proposal=proposal,
        parent=parent,
        failed=status != 200,
        max_length=comments.MAX_LENGTH,
    ), status


@bp.post("/proposals/<int:proposal_id>/comments")
@limiter.limit(_posting_limit, key_func=user_key, methods=["POST"], exempt_when=limits_disabled)
@login_required
def create(proposal_id: int):
    proposal = _visible_proposal(proposal_id)
    actor = require_actor()
    form = CommentForm()
    parent = None
    if isinstance(form.parent_id.data, int) and 0 < form.parent_id.data <= MAX_ID:
        candidate = db.session.get(Comment, form.parent_id.data)
        parent = candidate if candidate and candidate.proposal_id == proposal.id else None
    if not form.validate_on_submit():
        return _form_page(form, proposal, parent, 422)
    try:
        comment = comments.post_comment(actor, proposal, form.data)
    except DomainError as exc:
        form_error(form, exc)
        return _form_page(form, proposal, parent, 422 if exc.status == 400 else exc.status)
    db.session.commit()
    flash(_("Your reply was posted.") if parent else _("Your comment was posted."), "success")
    return redirect(comment_url(comment))


@bp.get("/comments/<int:comment_id>/reply")
@login_required
def reply(comment_id: int):
    parent, proposal = _visible_comment(comment_id)
    refusal = comments.participation_refusal(current_user, proposal)
    if refusal is not None:
        raise DomainError(refusal, status=403)
    if parent.is_deleted or parent.is_hidden:
        raise DomainError(_("This comment cannot be replied to."), status=409)
    return _form_page(CommentForm(formdata=None), proposal, parent, 200)


@bp.get("/comments/<int:comment_id>")
def detail(comment_id: int):
    comment, _proposal = _visible_comment(comment_id)
    return redirect(comment_url(comment))


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@limiter.limit(_posting_limit, key_func=user_key, methods=["POST"], exempt_when=limits_disabled)
@login_required
def edit(comment_id: int):
    comment, proposal = _visible_comment(comment_id)
    require(comment.user_id == current_user.id)
    actor = require_actor()
    form = EditCommentForm()
    status = 200
    if form.validate_on_submit():
        try:
            changed = comments.edit_comment(actor, comment, form.body.data)
        except DomainError as exc:
            form_error(form, exc)
            status = 422 if exc.status == 400 else exc.status
        else:
            db.session.commit()
            flash(
                _("Your comment was changed.") if changed else _("Nothing was changed."), "success"
            )
            return redirect(comment_url(comment))
    elif form.is_submitted():
        status = 422
    else:
        form.body.data = comment.body_source
    return render_template(
        "proposals/comment_edit.html",
        form=form,
        comment=comment,
        proposal=proposal,
        max_length=comments.MAX_LENGTH,
    ), status


@bp.post("/comments/<int:comment_id>/delete")
@limiter.limit(_posting_limit, key_func=user_key, methods=["POST"], exempt_when=limits_disabled)
@login_required
def delete(comment_id: int):
    comment, proposal = _visible_comment(comment_id)
    require(comments.can_delete(current_user, comment, proposal))
    actor = require_actor()
    return act(
        lambda: comments.delete_comment(actor, comment),
        _("The comment was deleted. Its replies stay."),
        comment_url(comment),
    )


@bp.post("/comments/<int:comment_id>/react")
@limiter.limit(_reacting_limit, key_func=user_key, methods=["POST"], exempt_when=limits_disabled)
@login_required
def react(comment_id: int):
    comment, proposal = _visible_comment(comment_id)
    require(perm.can_participate(current_user, proposal))
    actor = require_actor()
    value = request.form.get("value", "")
    if value not in {r.value for r in Reaction}:
        raise DomainError(_("Choose agree, disagree or pass."))
    return act(
        lambda: comments.react(actor, comment, value),
        _("Your reaction was recorded."),
        comment_url(comment),
    )


@bp.get("/comments/<int:comment_id>/history")
def history(comment_id: int):
    comment, proposal = _visible_comment(comment_id)
    show_text = not comment.is_deleted and (
        not comment.is_hidden or perm.can_moderate(current_user, proposal.community_id)
    )
    return render_template(
        "proposals/comment_history.html",
        comment=comment,
        proposal=proposal,
        revisions=comments.revisions(comment) if show_text else [],
        show_text=show_text,
    )

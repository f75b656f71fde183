"""Comment actions: post and reply, edit, delete, react, edit history, permalink."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.db import db
from coord.errors import DomainError
from coord.extensions import limiter
from coord.permissions import require
from coord.web import MAX_ID, form_status, run
from proposals import permissions as perm
from proposals.deliberation import comments, limits, signatures
from proposals.deliberation.forms import CommentForm, EditCommentForm
from proposals.deliberation.models import Comment, Reaction
from proposals.deliberation.permissions import can_delete
from proposals.deliberation.signatures import SignatureChoice
from proposals.deliberation.views import comment_url, offer_signature
from proposals.models import Proposal
from proposals.views import visible_or_404
from stakeholders.acting import current_actor, require_actor

bp = Blueprint("comment", __name__)

_limit_posts = limiter.limit(
    limits.comment_posts,
    key_func=limits.user_key,
    methods=["POST"],
    exempt_when=limits.limits_disabled,
)


def _visible_comment(comment_id: int) -> tuple[Comment, Proposal]:
    comment = db.get_or_404(Comment, comment_id)
    return comment, visible_or_404(comment.proposal_id)


def _form_page(
    form: CommentForm,
    proposal: Proposal,
    parent: Comment | None,
    status: int,
    choice: SignatureChoice | None,
) -> tuple[str, int]:
    return render_template(
        "proposals/comment_form.html",
        form=form,
        proposal=proposal,
        parent=parent,
        signature=choice,
        signed=signatures.labels_for(proposal.id).labels if parent else {},
        failed=status != 200,
        max_length=comments.MAX_LENGTH,
    ), status


@bp.post("/proposals/<int:proposal_id>/comments")
@_limit_posts
@login_required
def create(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = require_actor()
    form = CommentForm()
    choice = offer_signature(form, actor, proposal)
    parent = None
    if isinstance(form.parent_id.data, int) and 0 < form.parent_id.data <= MAX_ID:
        candidate = db.session.get(Comment, form.parent_id.data)
        parent = candidate if candidate and candidate.proposal_id == proposal.id else None
    if not form.validate_on_submit():
        return _form_page(form, proposal, parent, 422, choice)
    return run(
        lambda: comments.post_comment(actor, proposal, form.data),
        _("Your reply was posted.") if parent else _("Your comment was posted."),
        comment_url,
        form=form,
        abort_forbidden=False,
    ) or _form_page(form, proposal, parent, form_status(form, refusal_status=True), choice)


@bp.get("/comments/<int:comment_id>/reply")
@login_required
def reply(comment_id: int):
    parent, proposal = _visible_comment(comment_id)
    refusal = comments.participation_refusal(current_user, proposal)
    if refusal is not None:
        raise DomainError(refusal, status=403)
    if parent.is_deleted or parent.is_hidden:
        raise DomainError(_("This comment cannot be replied to."), status=409)
    form = CommentForm(formdata=None)
    return _form_page(form, proposal, parent, 200, offer_signature(form, current_actor(), proposal))


@bp.get("/comments/<int:comment_id>")
def detail(comment_id: int):
    comment, _proposal = _visible_comment(comment_id)
    return redirect(comment_url(comment))


def _edited_message(changed: bool) -> str:
    return _("Your comment was changed.") if changed else _("Nothing was changed.")


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@_limit_posts
@login_required
def edit(comment_id: int):
    comment, proposal = _visible_comment(comment_id)
    require(comment.user_id == current_user.id)
    actor = require_actor()
    form = EditCommentForm()
    if form.validate_on_submit():
        done = run(
            lambda: comments.edit_comment(actor, comment, form.body.data),
            _edited_message,
            comment_url(comment),
            form=form,
            abort_forbidden=False,
        )
        if done:
            return done
    elif not form.is_submitted():
        form.body.data = comment.body_source
    return render_template(
        "proposals/comment_edit.html",
        form=form,
        comment=comment,
        proposal=proposal,
        max_length=comments.MAX_LENGTH,
    ), form_status(form, refusal_status=True)


@bp.post("/comments/<int:comment_id>/delete")
@_limit_posts
@login_required
def delete(comment_id: int):
    comment, proposal = _visible_comment(comment_id)
    require(can_delete(current_user, comment, proposal))
    actor = require_actor()
    return run(
        lambda: comments.delete_comment(actor, comment),
        _("The comment was deleted. Its replies stay."),
        comment_url(comment),
    )


@bp.post("/comments/<int:comment_id>/react")
@limiter.limit(
    limits.comment_reactions,
    key_func=limits.user_key,
    methods=["POST"],
    exempt_when=limits.limits_disabled,
)
@login_required
def react(comment_id: int):
    comment, proposal = _visible_comment(comment_id)
    require(perm.can_participate(current_user, proposal))
    actor = require_actor()
    value = request.form.get("value", "")
    if value not in {r.value for r in Reaction}:
        raise DomainError(_("Choose agree, disagree or pass."))
    return run(
        lambda: comments.react(actor, comment, value),
        _("Your reaction was recorded."),
        comment_url(comment),
        abort_forbidden=False,
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
        signed=signatures.labels_for(proposal.id).labels.get(comment.actor_id),
        show_text=show_text,
    )

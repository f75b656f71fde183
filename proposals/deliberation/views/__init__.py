"""Pages and actions of the deliberation, one module per feature:

- `comments`: post and reply, edit, delete, react, history (blueprint `comment`);
- `positions` and `amendments`: the blueprint `deliberation`, defined here;
- `moderation`: report, the community's queue, hide, dismiss (blueprint `moderation`).

Every action: parse → load (`db.get_or_404`) → `require` (404 when the proposal is not
visible to the viewer, 403 when they see it but may not act) → one use case through
`coord.web.run`. A form that carries `acting_as` (or a request with an `X-Acting-As`
header) must name the identity the user currently acts as: a form rendered for one
identity is never saved under another.
"""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from coord.i18n import AUDIT_LABELS
from proposals.deliberation import signatures
from proposals.deliberation.models import Comment
from proposals.models import Proposal
from stakeholders import acting
from stakeholders.acting import Actor

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
        "signature.named": _l("switched to signing by name"),
    }
)


def proposal_url(proposal_id: int, anchor: str | None = None) -> str:
    """Return the address of a proposal page, optionally at an anchor."""
    return url_for("proposals.detail", proposal_id=proposal_id, _anchor=anchor)


def comment_url(comment: Comment) -> str:
    """Return the address of a comment on its proposal page."""
    return proposal_url(comment.proposal_id, f"comment-{comment.id}")


def claimed_actor() -> Actor:
    """Return the acting identity; 403 when the request claims another one."""
    actor = acting.require_actor()
    claimed = request.form.get("acting_as") or request.headers.get(acting.HEADER)
    if claimed is not None and claimed != str(actor.stakeholder.id):
        abort(403)
    return actor


def offer_signature(
    form: FlaskForm, actor: Actor | None, proposal: Proposal
) -> signatures.SignatureChoice | None:
    """Fit a contribution form's `signature` field to the acting identity: a resident's own
    options and preselection, or no field at all for an organisation (one query)."""
    page = signatures.labels_for(proposal.id, actor.stakeholder.id if actor else None)
    choice = signatures.choice_for(actor, page)
    if choice is None:
        del form.signature
        return None
    form.signature.choices = choice.options
    if not form.is_submitted():
        form.signature.data = choice.selected
    return choice

"""What the proposal page shows of the deliberation: the negotiation panel, positions,
amendments and the discussion (`context`, added with `proposals.views.add_detail_section`).

Each part's context runs a fixed number of queries whatever the number of rows, and its
keys are prefixed so that the parts merge into one page context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user

from coord.db import db
from coord.i18n import KIND_LABELS
from proposals import lifecycle
from proposals.deliberation import amendments, comments, negotiation, positions, signatures
from proposals.deliberation.forms import CommentForm
from proposals.deliberation.models import (
    Amendment,
    AmendmentStatus,
    AmendmentSupport,
    Comment,
    CommentReaction,
    CommentStance,
    PositionStance,
    Report,
)
from proposals.models import Proposal
from proposals.viewer import Viewer
from proposals.vocabulary import INTERESTS

#: The page's sections, in the order they are shown.
TEMPLATES = (
    "proposals/_negotiation.html",
    "proposals/_positions.html",
    "proposals/_amendments.html",
    "proposals/_comments.html",
)


#: Kinds that are not deliberated: a resident's request is handled, not debated.
UNDELIBERATED_KINDS = frozenset({"request"})


def is_deliberated(proposal: Proposal) -> bool:
    """Tell whether the proposal's page shows deliberation (positions, amendments, map)."""
    return proposal.kind not in UNDELIBERATED_KINDS


def is_own_identity(stakeholder: Any) -> bool:
    """Tell whether `stakeholder` is the signed-in user's own resident identity."""
    return (
        stakeholder is not None
        and current_user.is_authenticated
        and stakeholder.user_id == current_user.id
    )


def context(proposal: Proposal, viewer: Viewer, args: Any) -> dict[str, Any]:
    """Return what the page's deliberation sections need (comments, positions, amendments)."""
    rv = signatures_context(proposal, viewer)
    rv.update(comments_context(proposal, viewer, args))
    rv.update(positions_context(proposal, viewer, args))
    rv.update(amendments_context(proposal, viewer, args))
    return rv


def signatures_context(proposal: Proposal, viewer: Viewer) -> dict[str, Any]:
    """Return how the page shows residents who signed by building, in one query.

    `signed_authors` maps their stakeholder ids to labels (for the `author` macro);
    `signature_choice` is what the viewer's contribution forms offer (None when the viewer
    acts for an organisation, or cannot take part).
    """
    actor = viewer.actor if viewer.can_participate else None
    page = signatures.labels_for(proposal.id, actor.stakeholder.id if actor else None)
    return {
        "signed_authors": page.labels,
        "signature_choice": signatures.choice_for(actor, page),
    }


# -- The discussion ---------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One comment in display order, with what the page shows and offers for it."""

    comment: Comment
    level: int  # visual nesting level, 0..comments.MAX_NEST
    opens: bool  # this row starts a nested list of replies
    closes: int  # nested lists to close before this row
    reply_to: Comment | None  # shown as "in reply to" once nesting is capped
    reaction: str | None  # the viewer's reaction
    reported: bool  # the viewer reported it
    is_own: bool
    can_edit: bool
    can_delete: bool
    can_react: bool
    can_reply: bool
    can_report: bool

    @property
    def score(self) -> int:
        return self.comment.agree_count - self.comment.disagree_count


def _viewer_marks(proposal: Proposal, viewer: Viewer) -> tuple[dict[int, str], set[int]]:
    """Return the viewer's reactions and the comments they reported, in one query."""
    if viewer.user is None:
        return {}, set()
    marks = sa.union_all(
        sa.select(
            CommentReaction.comment_id.label("comment_id"),
            sa.type_coerce(CommentReaction.value, sa.String(24)).label("mark"),
        ).where(
            CommentReaction.proposal_id == proposal.id,
            CommentReaction.user_id == viewer.user.id,
        ),
        sa.select(
            Report.target_id.label("comment_id"), sa.literal("reported", sa.String(24))
        ).where(
            Report.proposal_id == proposal.id,
            Report.target_type == "comment",
            Report.user_id == viewer.user.id,
        ),
    )
    reactions: dict[int, str] = {}
    reported: set[int] = set()
    for comment_id, mark in db.session.execute(marks):
        if mark == "reported":
            reported.add(comment_id)
        else:
            reactions[comment_id] = mark
    return reactions, reported


def build_rows(
    thread: list[Comment],
    viewer: Viewer,
    reactions: dict[int, str],
    reported: set[int],
) -> list[Row]:
    """Turn comments in display order into rows with nesting and the viewer's options."""
    by_id = {c.id: c for c in thread}
    user_id = viewer.user.id if viewer.user is not None else None
    rows: list[Row] = []
    previous = -1
    for c in thread:
        level = min(c.depth, comments.MAX_NEST)
        opens = previous >= 0 and level > previous
        closes = previous - level if previous >= 0 and level < previous else 0
        previous = level
        live = not c.is_deleted and not c.is_hidden
        own = user_id is not None and c.user_id == user_id
        rows.append(
            Row(
                comment=c,
                level=level,
                opens=opens,
                closes=closes,
                reply_to=by_id.get(c.parent_id) if c.depth > comments.MAX_NEST else None,
                reaction=reactions.get(c.id),
                reported=c.id in reported,
                is_own=own,
                can_edit=own and live and viewer.can_participate,
                can_delete=not c.is_deleted and (own or viewer.can_moderate),
                can_react=live and not own and viewer.can_participate,
                can_reply=live and viewer.can_participate and c.depth < comments.MAX_DEPTH,
                can_report=live and not own and user_id is not None and c.id not in reported,
            )
        )
    return rows


def comments_context(proposal: Proposal, viewer: Viewer, args: Any) -> dict[str, Any]:
    """Return what the proposal page needs from this part, in a fixed number of queries.

    Keys (all prefixed, so that they can be merged with other parts' contexts):
    `comment_rows` (list of `Row` in display order), `comment_tail` (nested lists still
    open after the last row), `comment_sort` and `comment_sorts` (current key and
    (key, label) choices), `comment_total` (rows shown, deleted included), `comment_count`
    (live comments), `comment_stances` ((value, label) choices), `comment_stance_counts`,
    `comment_form` (a `CommentForm`, or None when the viewer cannot post),
    `comment_refusal` (why not, or None), `comment_max_length`, `comment_can_moderate`,
    `comment_kind_labels` (stakeholder kind → translated label).
    """
    sort = args.get("sort") if args is not None else None
    sort = sort if sort in comments.SORT_LABELS else "oldest"
    thread = comments.sort_threads(comments.load_thread(proposal), sort)
    reactions, reported = _viewer_marks(proposal, viewer)
    rows = build_rows(thread, viewer, reactions, reported)
    stance_counts = dict.fromkeys((s.value for s in CommentStance), 0)
    live = 0
    for c in thread:
        if not c.is_deleted:
            live += 1
            if not c.is_hidden:
                stance_counts[CommentStance(c.stance).value] += 1
    refusal = None
    if not viewer.can_participate:
        refusal = (
            _("Sign in to take part in the discussion.")
            if viewer.user is None
            else comments.closed_reason(proposal)
        )
    return {
        "comment_rows": rows,
        "comment_tail": rows[-1].level if rows else 0,
        "comment_sort": sort,
        "comment_sorts": [(key, str(label)) for key, label in comments.SORT_LABELS.items()],
        "comment_total": len(rows),
        "comment_count": live,
        "comment_stances": [(s.value, str(label)) for s, label in comments.STANCE_LABELS.items()],
        "comment_stance_counts": stance_counts,
        "comment_form": CommentForm(formdata=None) if viewer.can_participate else None,
        "comment_refusal": refusal,
        "comment_max_length": comments.MAX_LENGTH,
        "comment_can_moderate": viewer.can_moderate,
        "comment_kind_labels": {key: str(label) for key, label in KIND_LABELS.items()},
    }


# -- Positions and the negotiation panel -----------------------------------------------------


def positions_context(proposal: Proposal, viewer: Viewer, args: Any) -> dict[str, Any]:
    """Return what the proposal page needs from this part, in a fixed number of queries.

    One query: positions joined with their stakeholders and linked amendments' statuses.
    `args` may filter the list with `stance=` and `kind=` (the panel always counts all).
    """
    rows = positions.rows_for(proposal)
    actor_id = viewer.actor.stakeholder.id if viewer.actor else None
    mine = next((r for r in rows if r.stakeholder.id == actor_id), None)
    stance = args.get("stance") if args.get("stance") in negotiation.STANCES else None
    kind = args.get("kind") if args.get("kind") in negotiation.KINDS else None
    shown = [
        r
        for r in rows
        if (stance is None or r.position.stance == stance)
        and (kind is None or r.stakeholder.kind == kind)
    ]
    panel = negotiation.summarise(
        (
            (
                r.stakeholder.kind.value,
                r.position.stance.value,
                r.position.interests or [],
                r.condition_met,
            )
            for r in rows
        ),
        tuple(INTERESTS),
    )
    conditional = [r for r in rows if r.position.stance == PositionStance.CONDITIONAL]
    conditions = negotiation.conditions(
        (
            (
                r.position.id,
                r.stakeholder.kind.value,
                r.position.conditions,
                r.position.condition_amendment_id,
                r.condition_met,
            )
            for r in conditional
        ),
        {
            r.position.condition_amendment_id: r.amendment_status
            for r in conditional
            if r.position.condition_amendment_id is not None
        },
    )
    return {
        "positions": shown,
        "positions_total": len(rows),
        "position_by_id": {r.position.id: r for r in rows},
        "position_filter": {"stance": stance, "kind": kind},
        "my_position": mine,
        "condition_met_prompt": bool(
            mine and mine.position.stance == PositionStance.CONDITIONAL and mine.condition_met
        ),
        "can_declare_position": viewer.actor is not None and viewer.can_participate,
        "negotiation": panel,
        "conditions": conditions,
        "interest_labels": INTERESTS,
        "stance_labels": negotiation.STANCE_LABELS,
        "stakeholder_kinds": negotiation.KINDS,
    }


# -- Amendments -----------------------------------------------------------------------------


def amendments_context(proposal: Proposal, viewer: Viewer, args: Any) -> dict[str, Any]:
    """Return what the proposal page needs from this part, in a fixed number of queries.

    Two queries at most: the amendments with their authors, and the ones the viewer's
    acting stakeholder supports. `args` may ask for `amendments=open` only.
    """
    rows = amendments.rows_for(proposal)
    actor_id = viewer.actor.stakeholder.id if viewer.actor else None
    supported: set[int] = set()
    if actor_id is not None and rows:
        supported = set(
            db.session.scalars(
                sa.select(AmendmentSupport.amendment_id)
                .join(Amendment, Amendment.id == AmendmentSupport.amendment_id)
                .where(
                    Amendment.proposal_id == proposal.id,
                    AmendmentSupport.stakeholder_id == actor_id,
                )
            )
        )
    only_open = args.get("amendments") == "open"
    open_rows = [r for r in rows if r.amendment.status == AmendmentStatus.OPEN]
    return {
        "amendments": open_rows if only_open else rows,
        "amendments_total": len(rows),
        "amendments_open": open_rows,
        "amendment_by_id": {r.amendment.id: r for r in rows},
        "amendment_filter": "open" if only_open else "all",
        "supported_amendment_ids": supported,
        "can_propose_amendment": viewer.actor is not None and viewer.can_participate,
        "can_decide_amendments": "author" in viewer.roles
        and lifecycle.is_open_for_discussion(proposal.kind, proposal.status),
        "amendment_status_labels": amendments.STATUS_LABELS,
    }

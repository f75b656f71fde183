"""Proposal pages: browse and search, create, detail, edit, versions and diffs, lifecycle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from coord.db import db
from coord.models import Community
from coord.permissions import require
from coord.text import render_markdown
from coord.web import confirm, form_status, int_arg, run
from proposals import decision, hiding, lifecycle, queries, services
from proposals import permissions as perm
from proposals.diff import diff_lines
from proposals.forms import (
    KIND_CHOICES_LABELS,
    VISIBILITY_LABELS,
    DecisionForm,
    ProposalForm,
    TransitionForm,
)
from proposals.models import (
    Follow,
    Proposal,
    ProposalInvite,
    ProposalTransition,
    ProposalVersion,
)
from proposals.viewer import Viewer, viewer_for
from proposals.vocabulary import CATEGORIES
from stakeholders import acting
from stakeholders.models import Kind, Stakeholder

bp = Blueprint("proposals", __name__)

#: Lifecycle buttons on the proposal page for kinds whose other steps have pages of their own
#: (tenders: the tender pages; plans and requests: their review and tracking sections).
GENERIC_ACTIONS = {
    "tender": {"cancel"},
    "plan": {"withdraw"},
    "request": set(),
}

#: Sections that higher packages add to the proposal page: (template, context function).
#: Template → context function, in the order the packages were bound.
_detail_parts: dict[str, Callable[[Proposal, Viewer], dict[str, Any] | None]] = {}


def add_detail_part(
    template: str, context: Callable[[Proposal, Viewer], dict[str, Any] | None]
) -> None:
    """Show `template` on every proposal page with `context(proposal, viewer)` as `part`.

    Higher packages (voting, the network pages) use this instead of being imported here.
    The context function must run a fixed number of queries; returning None hides the part.
    Adding the same template again replaces its context function (apps are built repeatedly).
    """
    _detail_parts[template] = context


SectionContext = Callable[[Proposal, Viewer, Mapping[str, str]], dict[str, Any]]

#: The proposal's own sections that a family adds below the parts: template → (context
#: function of (proposal, viewer, query arguments), whose keys join the page's context;
#: predicate telling whether the section belongs on a proposal's page).
_detail_sections: dict[str, tuple[SectionContext, Callable[[Proposal], bool]]] = {}


def add_detail_section(
    templates: Iterable[str],
    context: SectionContext,
    applies: Callable[[Proposal], bool] = lambda proposal: True,
) -> None:
    """Show `templates` below the parts of the proposal pages where `applies(proposal)`.

    `context(proposal, viewer, request.args)` runs before the parts' context functions and
    its keys join the page's context, so that the sections (and the page's table of
    contents) share them. It must run a fixed number of queries. Adding a template again
    replaces it (apps are built repeatedly).
    """
    for template in templates:
        _detail_sections[template] = (context, applies)


#: Kinds whose page a higher package renders itself: kind → function of (proposal, viewer)
#: returning the response (or None to fall back to the generic page).
_kind_pages: dict[str, Callable[[Proposal, Viewer], Any]] = {}


def add_kind_page(kind: str, render: Callable[[Proposal, Viewer], Any]) -> None:
    """Render the page of proposals of `kind` with `render(proposal, viewer)` at their URL."""
    _kind_pages[kind] = render


def is_following(proposal: Proposal, viewer: Viewer) -> bool:
    """Tell whether the viewer follows the proposal (one query when signed in)."""
    return (
        viewer.user is not None
        and db.session.scalar(
            sa.select(Follow.id).where(
                Follow.proposal_id == proposal.id, Follow.user_id == viewer.user.id
            )
        )
        is not None
    )


def _state_label(state: str) -> str:
    return _(lifecycle.STATE_LABELS.get(state, state))


@bp.record_once
def _register_filters(state) -> None:
    filters = state.app.jinja_env.filters
    filters["state_label"] = _state_label
    filters["proposal_kind_label"] = lambda k: _(lifecycle.KIND_LABELS.get(k, k))
    filters["hidden_reason"] = hiding.hidden_reason_text


def visible_or_404(proposal_id: int) -> Proposal:
    """Load a proposal the current user may see; 404 otherwise."""
    proposal = db.get_or_404(Proposal, proposal_id)
    require(perm.can_view(current_user, proposal), 404)
    return proposal


def _local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _deadline_utc(value: datetime | None) -> datetime | None:
    """The form's local wall-clock time, as UTC."""
    return value.replace(tzinfo=_local_tz()).astimezone(UTC) if value else None


def _form(proposal: Proposal | None = None) -> ProposalForm:
    form = ProposalForm(obj=proposal) if request.method == "GET" and proposal else ProposalForm()
    if proposal is None:
        form.kind.choices = [
            SelectChoice(k, KIND_CHOICES_LABELS[k]) for k in ("consultation", "request")
        ]
        form.community_id.choices = [
            SelectChoice(c.id, c.name)
            for c in db.session.scalars(sa.select(Community).order_by(Community.id))
        ]
    else:  # kind and community are fixed once created
        del form.kind
        del form.community_id
    form.category.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(k, _(v)) for k, v in CATEGORIES.items()
    ]
    form.visibility.choices = [SelectChoice(k, v) for k, v in VISIBILITY_LABELS.items()]
    form.invited.choices = [
        SelectChoice(s.id, s.name)
        for s in db.session.scalars(
            sa.select(Stakeholder)
            .where(Stakeholder.kind != Kind.RESIDENT, Stakeholder.deleted_at.is_(None))
            .order_by(Stakeholder.name)
        )
    ]
    if request.method == "GET" and proposal is not None:
        form.body.data = proposal.body_source
        form.visibility.data = proposal.visibility.value
        form.invited.data = [i.stakeholder_id for i in _invites(proposal)]
        if proposal.deadline_at:
            form.deadline.data = proposal.deadline_at.astimezone(_local_tz()).replace(tzinfo=None)
    return form


def _invites(proposal: Proposal) -> list[ProposalInvite]:
    return db.session.scalars(
        sa.select(ProposalInvite).where(ProposalInvite.proposal_id == proposal.id)
    ).all()


def _form_data(form: ProposalForm) -> dict[str, Any]:
    rv = {
        "title": form.title.data,
        "summary": form.summary.data,
        "body": form.body.data or "",
        "category": form.category.data or "",
        "deadline": _deadline_utc(form.deadline.data),
        "visibility": form.visibility.data,
        "invited": form.invited.data or [],
    }
    if "kind" in form:
        rv.update(kind=form.kind.data, community_id=form.community_id.data)
    return rv


@bp.get("/proposals")
def index():
    filters = queries.Filters(
        community_id=int_arg("community"),
        kind=request.args.get("kind") if request.args.get("kind") in lifecycle.KINDS else None,
        status=request.args.get("status") or None,
        category=request.args.get("category")
        if request.args.get("category") in CATEGORIES
        else None,
        author_kind=request.args.get("author_kind") or None,
        q=(request.args.get("q") or "")[:100],
        sort=request.args.get("sort") if request.args.get("sort") in queries.SORTS else "newest",
    )
    page = db.paginate(
        queries.proposal_list(current_user, filters),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    communities = db.session.scalars(sa.select(Community).order_by(Community.id)).all()
    return render_template(
        "proposals/index.html",
        page=page,
        filters=filters,
        communities=communities,
        kinds=lifecycle.KINDS,
        categories=CATEGORIES,
        states=lifecycle.STATES,
        author_kinds=list(Kind),
    )


def _detail_url(proposal: Proposal) -> str:
    return url_for(".detail", proposal_id=proposal.id)


def _created_message(proposal: Proposal) -> str:
    if lifecycle.is_public(proposal.kind, proposal.status):
        return _("The proposal was published.")
    return _("The draft was saved.")


@bp.route("/proposals/new", methods=["GET", "POST"])
@login_required
def create():
    form = _form()
    if request.method == "GET":
        form.community_id.data = int_arg("community") or form.community_id.data
        form.kind.data = request.args.get("kind", "consultation")
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = render_markdown(form.body.data or "")
        else:
            actor = acting.require_actor()
            data = _form_data(form) | {"publish": bool(form.publish.data)}
            done = run(
                lambda: services.create_proposal(actor, data),
                _created_message,
                _detail_url,
                form=form,
                abort_forbidden=False,
            )
            if done:
                return done
    return render_template(
        "proposals/form.html", form=form, preview_html=preview, proposal=None
    ), form_status(form)


@bp.get("/proposals/<int:proposal_id>")
def detail(proposal_id: int):
    proposal = db.session.scalar(
        sa.select(Proposal)
        .options(sa.orm.joinedload(Proposal.author), sa.orm.joinedload(Proposal.community))
        .where(Proposal.id == proposal_id)
    )
    acting.current_actor()  # loads the user's identities once; the checks below reuse them
    if proposal is None or not perm.can_view(current_user, proposal):
        abort(404)
    viewer = viewer_for(proposal)
    own_page = _kind_pages.get(proposal.kind)
    if own_page is not None and (page := own_page(proposal, viewer)) is not None:
        return page
    timeline = db.session.scalars(
        sa.select(ProposalTransition)
        .options(sa.orm.joinedload(ProposalTransition.actor))
        .where(ProposalTransition.proposal_id == proposal.id)
        .order_by(ProposalTransition.id)
    ).all()
    sections = [t for t, (_fn, applies) in _detail_sections.items() if applies(proposal)]
    context: dict[str, Any] = {}
    for fn in dict.fromkeys(_detail_sections[t][0] for t in sections):
        context.update(fn(proposal, viewer, request.args))
    extra_parts = [
        (template, part)
        for template, fn in _detail_parts.items()
        if (part := fn(proposal, viewer)) is not None
    ]
    return render_template(
        "proposals/detail.html",
        proposal=proposal,
        viewer=viewer,
        timeline=timeline,
        following=is_following(proposal, viewer),
        actions=[
            t
            for t in lifecycle.allowed_actions(proposal.kind, proposal.status, viewer.roles)
            if t.action in GENERIC_ACTIONS.get(proposal.kind, {t.action})
        ],
        transition_form=TransitionForm(),
        state_labels=lifecycle.STATE_LABELS,
        action_labels=lifecycle.ACTION_LABELS,
        categories=CATEGORIES,
        extra_parts=extra_parts,
        sections=sections,
        **context,
    )


def _save(actor: acting.Actor, proposal: Proposal, form: ProposalForm) -> None:
    """Save the edited proposal, and publish it when asked (one use case for the page)."""
    services.edit_proposal(actor, proposal, _form_data(form), note=form.note.data or "")
    if form.publish.data and proposal.published_at is None:
        services.publish_proposal(actor, proposal)


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = acting.require_actor()
    require(perm.can_edit(current_user, actor.stakeholder.id, proposal))
    form = _form(proposal)
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = render_markdown(form.body.data or "")
        else:
            done = run(
                lambda: _save(actor, proposal, form),
                _("The proposal was saved."),
                _detail_url(proposal),
                form=form,
                abort_forbidden=False,
            )
            if done:
                return done
    return render_template(
        "proposals/form.html", form=form, preview_html=preview, proposal=proposal
    ), form_status(form)


@bp.post("/proposals/<int:proposal_id>/transition")
@login_required
def transition(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = acting.require_actor()
    form = TransitionForm()
    target = url_for(".detail", proposal_id=proposal.id)
    if not form.validate_on_submit():
        flash(_("Choose an action."), "error")
        return redirect(target)
    if services.is_decision(proposal, form.action.data):  # only with a decision text
        return redirect(url_for(".decide", proposal_id=proposal.id, action=form.action.data))
    return run(
        lambda: services.transition_proposal(
            actor, proposal, form.action.data, form.reason.data or ""
        ),
        lambda _rv: _("The proposal is now: %(state)s.", state=_state_label(proposal.status)),
        target,
        abort_forbidden=False,
    )


def _decision_form(proposal: Proposal, action: str) -> DecisionForm:
    form = DecisionForm()
    if not decision.is_tied(proposal):
        del form.tie_acknowledged
    if request.method == "GET":
        form.text.data = decision.draft(proposal, action)
    return form


@bp.route("/proposals/<int:proposal_id>/decide/<any(adopt,reject):action>", methods=["GET", "POST"])
@login_required
def decide(proposal_id: int, action: str):
    proposal = visible_or_404(proposal_id)
    actor = acting.require_actor()
    if not services.is_decision(proposal, action):
        abort(404)
    roles = viewer_for(proposal).roles
    require(
        action
        in {t.action for t in lifecycle.allowed_actions(proposal.kind, proposal.status, roles)}
    )
    form = _decision_form(proposal, action)
    adopt = action == "adopt"
    return confirm(
        form,
        lambda: services.decide(
            actor,
            proposal,
            action,
            form.text.data or "",
            bool(form.tie_acknowledged.data) if "tie_acknowledged" in form else False,
        ),
        lambda _rv: _("The proposal is now: %(state)s.", state=_state_label(proposal.status)),
        _detail_url(proposal),
        title=_("Adopt “%(title)s”", title=proposal.title)
        if adopt
        else _("Reject “%(title)s”", title=proposal.title),
        consequences=_decision_consequences(adopt),
    )


def _decision_consequences(adopt: bool) -> list[str]:
    return [
        _("The proposal becomes adopted; it can then be implemented.")
        if adopt
        else _("The proposal becomes not adopted and can no longer change."),
        _(
            "The decision text is shown at the top of the proposal and in its timeline,"
            " with your name and the organisation you act for."
        ),
        _("Everyone who follows the proposal is notified."),
    ]


@bp.post("/proposals/<int:proposal_id>/follow")
@login_required
def follow(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    actor = acting.require_actor()
    if request.form.get("follow") == "0":
        return run(
            lambda: services.unfollow(actor, proposal),
            _("You no longer follow this proposal."),
            _detail_url(proposal),
        )
    return run(
        lambda: services.follow(actor, proposal),
        _("You follow this proposal and will be notified of changes."),
        _detail_url(proposal),
    )


def _versions(proposal: Proposal) -> list[ProposalVersion]:
    return db.session.scalars(
        sa.select(ProposalVersion)
        .options(sa.orm.joinedload(ProposalVersion.actor))
        .where(ProposalVersion.proposal_id == proposal.id)
        .order_by(ProposalVersion.number)
    ).all()


@bp.get("/proposals/<int:proposal_id>/versions")
def versions(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    return render_template(
        "proposals/versions.html", proposal=proposal, versions=_versions(proposal)
    )


@bp.get("/proposals/<int:proposal_id>/versions/<int:number>")
def version(proposal_id: int, number: int):
    proposal = visible_or_404(proposal_id)
    row = db.session.scalar(
        sa.select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal.id, ProposalVersion.number == number
        )
    )
    if row is None:
        abort(404)
    return render_template("proposals/version.html", proposal=proposal, version=row)


@bp.get("/proposals/<int:proposal_id>/diff")
def diff(proposal_id: int):
    proposal = visible_or_404(proposal_id)
    by_number = {v.number: v for v in _versions(proposal)}
    if not by_number:
        abort(404)
    newest = max(by_number)
    a = request.args.get("a", type=int) or max(newest - 1, 1)
    b = request.args.get("b", type=int) or newest
    if a not in by_number or b not in by_number:
        abort(404)
    old, new = by_number[a], by_number[b]
    return render_template(
        "proposals/diff.html",
        proposal=proposal,
        old=old,
        new=new,
        numbers=sorted(by_number),
        title_lines=diff_lines(old.title, new.title),
        summary_lines=diff_lines(old.summary, new.summary),
        body_lines=diff_lines(old.body_source, new.body_source),
    )

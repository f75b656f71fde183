"""Network pages: the community graph and conflict report, the power–interest grid, relations
(declare, confirm, dispute, verify, retract), the conflict-of-interest check and exports.

Who sees what: the network pages are public and show public relations and relations
inferred from public behaviour; the members of the community's residents committee and of
the street office (`permissions.is_network_manager`) also see managers-only relations. The
two sides of a relation always see it on its own page and on their profiles.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from coord.db import db
from coord.errors import DomainError
from coord.i18n import KIND_LABELS
from coord.models import Community
from coord.permissions import require
from coord.web import form_status, run
from stakeholders import acting, queries
from stakeholders import permissions as perm
from stakeholders.models import Kind, Relation, RelationType, RelationVisibility, Stakeholder
from stakeholders.network import grants, relations
from stakeholders.network import graph as network_graph
from stakeholders.network import permissions as network_permissions
from stakeholders.network import report as network_report
from stakeholders.network import services as service
from stakeholders.network.forms import InterestForm, PurposeForm, RelationForm, ResponseForm

bp = Blueprint("network", __name__)

GRID_WIDTH, GRID_HEIGHT, GRID_PAD = 720, 520, 48
MAX_CHOICES = 1000


@bp.record_once
def _register(state) -> None:
    env = state.app.jinja_env
    env.globals["network_profile"] = profile_context
    env.filters["relation_type_label"] = lambda v: str(
        relations.TYPE_LABELS.get(getattr(v, "value", v), v)
    )
    env.filters["relation_status_label"] = lambda v: str(
        relations.STATUS_LABELS.get(getattr(v, "value", v), v)
    )
    env.filters["isodate"] = _isodate


def _isodate(value: str | None) -> str:
    """Format an ISO timestamp stored in a report like the `datetime` filter does."""
    return format_datetime(datetime.fromisoformat(value), "yyyy-MM-dd HH:mm") if value else ""


@bp.get("/communities/<int:community_id>/network")
def index(community_id: int):
    community = db.get_or_404(Community, community_id)
    scope = grants.viewer_scope(current_user, community)
    state = service.report_state(community, scope)
    report = state.report
    previous = service.month_ago_report(community.id, scope) if report else None
    sections = network_report.conflict_report(community, report, previous) if report else []
    filters = network_graph.parse_filters(request.args)
    query = {k: v for k, v in request.args.items() if k in _FILTER_KEYS and v}
    return render_template(
        "network/index.html",
        community=community,
        scope=scope,
        state=state,
        report=report,
        sections=sections,
        filters=filters,
        query=query,
        kinds=KIND_LABELS,
        types=relations.TYPE_LABELS,
        windows=network_graph.WINDOWS,
        can_declare=current_user.is_authenticated,
        individual_until=grants.individual_until(current_user, community),
        purpose_form=PurposeForm() if scope == service.MANAGERS else None,
    )


@bp.post("/communities/<int:community_id>/network/individual")
@login_required
def individual(community_id: int):
    """Show the residents one by one for a stated purpose (recorded), for a short while."""
    community = db.get_or_404(Community, community_id)
    require(network_permissions.is_network_manager(current_user, community), 404)
    form = PurposeForm()
    target = url_for(".index", community_id=community.id)
    if not form.validate_on_submit():
        flash(_("Say why you need to see residents one by one."), "error")
        return redirect(target)
    actor = acting.require_actor()
    return run(
        lambda: grants.grant_individual_view(
            current_user,
            community,
            service.record_individual_view(actor, community, form.purpose.data),
        ),
        _(
            "For %(num)d minutes you see residents one by one. This was recorded.",
            num=service.INDIVIDUAL_MINUTES,
        ),
        target,
    )


@bp.post("/communities/<int:community_id>/network/individual/end")
@login_required
def end_individual(community_id: int):
    """Go back to residents as groups."""
    community = db.get_or_404(Community, community_id)
    if FlaskForm().validate_on_submit():
        grants.end_individual_view(community)
    return redirect(url_for(".index", community_id=community.id))


_FILTER_KEYS = ("type", "kind", "origin", "sign", "window", "bloc", "aggregate")


@bp.get("/communities/<int:community_id>/network/export.<any(json, graphml):fmt>")
def export(community_id: int, fmt: str):
    community = db.get_or_404(Community, community_id)
    return export_response(community, fmt)


def export_response(community: Community, fmt: str) -> Response:
    """Answer the community's network (as the viewer may see it) as JSON or GraphML."""
    import json

    scope = grants.viewer_scope(current_user, community)
    state = service.report_state(community, scope)
    data = network_graph.full_graph(community, scope, state.report, request.args)
    name = f"coord-network-{community.id}"
    if fmt == "graphml":
        body, mimetype = network_graph.graphml(data), "application/graphml+xml"
    else:
        body = json.dumps(data, ensure_ascii=False, indent=1)
        mimetype = "application/json"
    rv = Response(body, mimetype=mimetype)
    if request.args.get("download", "1") != "0":
        rv.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return rv


@bp.get("/communities/<int:community_id>/network/grid")
def grid(community_id: int):
    community = db.get_or_404(Community, community_id)
    scope = grants.viewer_scope(current_user, community)
    state = service.report_state(community, scope)
    points = network_report.power_interest(community, state.report) if state.report else []
    network_report.grid_layout(points, GRID_WIDTH, GRID_HEIGHT, GRID_PAD)
    quadrants: dict[str, list] = {q: [] for q in network_report.QUADRANTS}
    for p in sorted(points, key=lambda p: (-p.power - p.interest, p.id)):
        quadrants[p.quadrant].append(p)
    drawn = [p for p in points if p.kind != "resident"] + sorted(
        (p for p in points if p.kind == "resident"), key=lambda p: (-p.interest, p.id)
    )[:300]
    return render_template(
        "network/grid.html",
        community=community,
        state=state,
        points=drawn,
        total=len(points),
        quadrants=quadrants,
        labels=network_report.QUADRANTS,
        help=network_report.QUADRANT_HELP,
        width=GRID_WIDTH,
        height=GRID_HEIGHT,
        pad=GRID_PAD,
    )


# -- Relations --------------------------------------------------------------------------------


def _stakeholder_choices(community: Community, extra: int | None = None) -> list[SelectChoice]:
    """Return the community's organisations to choose from (residents are never listed)."""
    query = (
        queries.community_stakeholders(community)
        .with_only_columns(Stakeholder.id, Stakeholder.name, Stakeholder.kind)
        .where(Stakeholder.kind != Kind.RESIDENT)
    )
    rows = db.session.execute(query.limit(MAX_CHOICES)).all()
    rv = [
        SelectChoice(r.id, _("%(name)s (%(kind)s)", name=r.name, kind=KIND_LABELS[r.kind.value]))
        for r in rows
    ]
    if extra is not None and extra not in {r.id for r in rows}:
        s = db.session.get(Stakeholder, extra)
        if s is not None and not s.is_deleted:
            rv.insert(0, SelectChoice(s.id, s.name))
    return rv


def _relation_form(community: Community) -> RelationForm:
    form = RelationForm()
    target = request.args.get("target", "")
    target_id = int(target) if target.isdigit() and len(target) < 11 else None
    form.source_id.choices = [
        SelectChoice(s.id, _("%(name)s (%(kind)s)", name=s.name, kind=KIND_LABELS[s.kind.value]))
        for s in acting.identities(current_user)
    ]
    form.target_id.choices = _stakeholder_choices(community, target_id)
    form.type.choices = [
        SelectChoice(t.value, str(relations.TYPE_LABELS[t.value])) for t in RelationType
    ]
    form.visibility.choices = [
        SelectChoice(v.value, str(relations.VISIBILITY_LABELS[v.value])) for v in RelationVisibility
    ]
    if request.method == "GET":
        actor = acting.current_actor()
        if actor is not None:
            form.source_id.data = actor.stakeholder.id
        if target_id is not None:
            form.target_id.data = target_id
    return form


@bp.route("/communities/<int:community_id>/relations/new", methods=["GET", "POST"])
@login_required
def declare(community_id: int):
    community = db.get_or_404(Community, community_id)
    form = _relation_form(community)
    if form.validate_on_submit():
        actor = acting.require_actor()
        rv = run(
            lambda: relations.declare_relation(actor, community, dict(form.data)),
            _("The relation was declared. The other side can now confirm or dispute it."),
            lambda relation: url_for(".relation", relation_id=relation.id),
            form=form,
        )
        if rv is not None:
            return rv
    return render_template(
        "network/relation_form.html", form=form, community=community
    ), form_status(form)


def _visible_relation(relation_id: int) -> Relation:
    relation = db.get_or_404(Relation, relation_id)
    require(network_permissions.can_see(current_user, relation), 404)
    return relation


@bp.get("/relations/<int:relation_id>")
def relation(relation_id: int):
    rel = _visible_relation(relation_id)
    community_ids = relations.relation_community_ids(rel)
    user = current_user if current_user.is_authenticated else None
    return render_template(
        "network/relation.html",
        relation=rel,
        labels=hidden_ends(user, rel),
        community=db.session.get(Community, community_ids[0]) if community_ids else None,
        form=ResponseForm(),
        can_respond=network_permissions.can_respond(user, rel),
        can_retract=network_permissions.can_retract(user, rel),
        can_verify=network_permissions.can_verify(user, rel),
    )


def hidden_ends(user: Any, rel: Relation) -> dict[int, str]:
    """Return the group label shown instead of each resident end the user may not see named."""
    hidden = [
        end.id
        for end in (rel.source, rel.target)
        if not network_permissions.can_see_person(user, rel, end)
    ]
    return {sid: label for sid, (_gid, label) in service.resident_groups(hidden).items()}


@bp.post("/relations/<int:relation_id>/<any(confirm, dispute, verify, retract):action>")
@login_required
def relation_action(relation_id: int, action: str):
    rel = _visible_relation(relation_id)
    actor = acting.require_actor()
    target = url_for(".relation", relation_id=rel.id)
    form = ResponseForm()
    if not form.validate_on_submit():
        flash(_("Keep your note under %(max)d characters.", max=relations.MAX_NOTE), "error")
        return redirect(target)
    note = form.note.data or ""
    actions = {
        "confirm": (
            lambda: relations.confirm_relation(actor, rel, note),
            _("You confirmed the relation."),
        ),
        "dispute": (
            lambda: relations.dispute_relation(actor, rel, note),
            _("You disputed the relation. Both sides are shown."),
        ),
        "verify": (lambda: relations.verify_relation(actor, rel), _("The relation is verified.")),
        "retract": (
            lambda: relations.retract_relation(actor, rel),
            _("The relation was retracted."),
        ),
    }
    fn, message = actions[action]
    return run(fn, message, target)


# -- Conflict of interest ---------------------------------------------------------------------


@bp.get("/communities/<int:community_id>/network/interests")
def interests(community_id: int):
    community = db.get_or_404(Community, community_id)
    form = InterestForm(request.args)
    choices = _stakeholder_choices(community)
    form.a.choices = choices
    form.b.choices = choices
    paths = None
    if request.args.get("a") and form.validate():
        try:
            paths = service.conflict_of_interest(
                form.a.data,
                form.b.data,
                form.hops.data,
                user=current_user if current_user.is_authenticated else None,
            )
        except DomainError as exc:
            form.a.errors = [*form.a.errors, exc.message]
    return render_template("network/interests.html", community=community, form=form, paths=paths), (
        422 if form.errors else 200
    )


# -- Profile section --------------------------------------------------------------------------


def profile_context(stakeholder: Stakeholder) -> dict[str, Any]:
    """Allies, opponents and relations for the profile page (a fixed number of queries).

    A resident's section is hidden from everyone but themself: nothing on their profile
    places them in conflicts or alliances.
    """
    user = current_user if current_user.is_authenticated else None
    if not stakeholder.is_organisation and not (user and perm.can_act_as(user, stakeholder)):
        return {"hidden": True}
    community_ids = sorted(service.communities_of([stakeholder]))
    communities = (
        db.session.scalars(sa.select(Community).where(Community.id.in_(community_ids))).all()
        if community_ids
        else []
    )
    managed = network_permissions.managed_community_ids(user)
    reports = []
    for c in communities:
        scope = service.MANAGERS if c.id in managed else service.PUBLIC
        report = service.latest_report(c.id, scope)
        if report is not None:
            reports.append(report)
    rv = network_report.profile_relations(stakeholder, user, reports)
    rv["communities"] = communities
    return rv


@bp.get("/network")
def home():
    """Open the network of the viewer's community (managed, then lived in, else the first)."""
    user = current_user if current_user.is_authenticated else None
    candidates = sorted(network_permissions.managed_community_ids(user))
    if not candidates and user is not None:
        own = acting.own_identity(user)
        if own is not None:
            candidates = sorted(service.communities_of([own]))
    community_id = (
        candidates[0]
        if candidates
        else db.session.scalar(sa.select(Community.id).order_by(Community.id).limit(1))
    )
    if community_id is None:
        return redirect(url_for("main.index"))
    return redirect(url_for(".index", community_id=community_id))

"""Poll pages: open and edit a poll, vote, see the receipt, results, exports and the bulletin.

Every view: load (`db.get_or_404`) → `require` (404 when the poll is not visible, 403 when
seen but not allowed) → one service call → one commit → redirect or render. A poll whose
opening or closing time has passed is opened or closed on its first access (`_load`).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from coord.db import db
from coord.errors import DomainError
from coord.i18n import AUDIT_LABELS, KIND_LABELS
from coord.models import Community
from coord.permissions import require
from coord.web import form_error, form_status
from proposals.models import Proposal
from proposals.viewer import Viewer
from stakeholders import acting
from stakeholders.acting import Actor
from stakeholders.models import Kind, Stakeholder
from voting import permissions as perm
from voting import results, services
from voting.forms import (
    BASE_LABELS,
    METHOD_LABELS,
    RULE_LABELS,
    THRESHOLD_LABELS,
    UNIT_LABELS,
    CloseForm,
    ExtendForm,
    PollForm,
)
from voting.models import Poll, PollStatus
from voting.settings import KINDS, MIN_GROUP_BALLOTS

bp = Blueprint("voting", __name__)

AUDIT_LABELS.update(
    {
        "poll.create": _l("opened a poll"),
        "poll.open": _l("a poll opened (electorate recorded)"),
        "poll.update": _l("changed a poll before its first ballot"),
        "poll.extend": _l("extended a poll"),
        "poll.close": _l("closed a poll and published its result"),
        "poll.cancel": _l("cancelled a poll"),
    }
)

STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "open": _l("Open"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}
DECISION_LABELS = {
    "carried": _l("Carried"),
    "not_carried": _l("Not carried"),
    "winners": _l("Decided"),
    "tied": _l("Tied: no single winner"),
    "quorum_not_met": _l("Quorum not met: the result is not binding"),
    "no_ballots": _l("No ballots were cast"),
}
YES_NO_LABELS = {"yes": _l("Yes"), "no": _l("No"), "abstain": _l("Abstain")}
RECEIPT_KEY = "voting_receipt"


@bp.record_once
def _register_filters(state) -> None:
    filters = state.app.jinja_env.filters
    filters["poll_status_label"] = lambda s: str(STATUS_LABELS.get(getattr(s, "value", s), s))
    filters["method_label"] = lambda m: str(METHOD_LABELS.get(m, m))
    filters["percent"] = lambda x: f"{(x or 0) * 100:.1f} %"


# --------------------------------------------------------------------------- helpers


def _local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=_local_tz()).astimezone(UTC) if value else None


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(_local_tz()).replace(tzinfo=None) if value else None


def _actor() -> Actor:
    """Return the acting identity; 403 when the form claims another one."""
    actor = acting.require_actor()
    claimed = request.form.get("acting_as")
    if claimed is not None and claimed != str(actor.stakeholder.id):
        abort(403)
    return actor


def _load(poll_id: int) -> Poll:
    """Load a visible poll (404 otherwise), opening or closing it when its time has come."""
    poll = db.get_or_404(Poll, poll_id)
    require(perm.can_view(current_user, poll), 404)
    if services.is_due(poll):
        db.session.commit()  # end the read so that the lock is the transaction's first step
        services.settle(poll)
        db.session.commit()
    return poll


def option_label(poll: Poll, label: str) -> str:
    """Show yes/no/abstain in the reader's language, other options as written."""
    if poll.method == "yes_no" and label in YES_NO_LABELS:
        return str(YES_NO_LABELS[label])
    return label


def _viewer_actor() -> Actor | None:
    return acting.current_actor() if current_user.is_authenticated else None


def _voter_id(poll: Poll, actor: Actor | None) -> int | None:
    if actor is None:
        return None
    if poll.settings.get("unit") == "person":
        own = acting.own_identity(actor.user)
        return own.id if own else None
    return actor.stakeholder.id


# --------------------------------------------------------------------------- opening


def _invite_choices(community: Community) -> list[SelectChoice]:
    rows = db.session.scalars(
        sa.select(Stakeholder)
        .where(
            Stakeholder.deleted_at.is_(None),
            sa.or_(
                Stakeholder.community_id == community.id,
                sa.and_(
                    Stakeholder.community_id.is_(None),
                    Stakeholder.street_id == community.street_id,
                    Stakeholder.kind != Kind.RESIDENT,
                ),
            ),
        )
        .order_by(Stakeholder.kind, Stakeholder.name)
    )
    return [SelectChoice(s.id, f"{s.name} ({KIND_LABELS[s.kind.value]})") for s in rows]


def _form_data(form: PollForm) -> dict[str, Any]:
    unit = form.unit.data or "person"
    return {
        "title": form.title.data,
        "description": form.description.data or "",
        "method": form.method.data,
        "options": (form.options.data or "").splitlines(),
        "allow_abstain": bool(form.allow_abstain.data),
        "threshold": form.threshold.data,
        "base": form.base.data,
        "min_selections": form.min_selections.data,
        "max_selections": form.max_selections.data,
        "max_score": form.max_score.data,
        "seats": form.seats.data,
        "unit": unit,
        "kinds": ["resident"] if unit == "person" else (form.kinds.data or []),
        "community_only": bool(form.community_only.data),
        "verified_only": bool(form.verified_only.data),
        "invited": list(form.invited.data or []),
        "rule": form.rule.data,
        "shares": {k: getattr(form, f"share_{k}").data for k in KINDS},
        "min_groups": form.min_groups.data,
        "quorum": form.quorum.data,
        "kind_quorum": {k: getattr(form, f"quorum_{k}").data for k in KINDS},
        "secret": bool(form.secret.data),
        "live_results": bool(form.live_results.data),
        "opens_at": _utc(form.opens_at.data),
        "closes_at": _utc(form.closes_at.data),
    }


_FIELD_OF = {"shares": "share_resident", "kind_quorum": "quorum_resident", "choice": None}


def _show_error(form: PollForm, exc: DomainError) -> None:
    exc.field = _FIELD_OF.get(exc.field or "", exc.field)
    form_error(form, exc)


def _fill(form: PollForm, poll: Poll) -> None:
    s = poll.settings
    form.title.data, form.description.data = poll.title, poll.description
    form.method.data = poll.method
    form.options.data = "" if poll.method == "yes_no" else "\n".join(poll.options)
    form.allow_abstain.data = "abstain" in poll.options
    params = s.get("params") or {}
    form.threshold.data = params.get("threshold", "simple")
    form.base.data = params.get("base", "cast_excluding_abstentions")
    form.min_selections.data = params.get("min_selections")
    form.max_selections.data = params.get("max_selections")
    form.max_score.data = params.get("max_score", 5)
    form.seats.data = params.get("seats", 1)
    form.unit.data = s.get("unit")
    elig = s.get("eligibility") or {}
    form.kinds.data = elig.get("kinds")
    form.community_only.data = elig.get("community", True)
    form.verified_only.data = elig.get("verified_only", True)
    form.invited.data = elig.get("invited") or []
    form.rule.data = s.get("rule")
    for k in KINDS:
        getattr(form, f"share_{k}").data = (s.get("shares") or {}).get(k)
        getattr(form, f"quorum_{k}").data = (s.get("kind_quorum") or {}).get(k)
    form.min_groups.data = s.get("min_groups")
    form.quorum.data = s.get("quorum") or None
    form.secret.data, form.live_results.data = poll.is_secret, poll.live_results
    form.opens_at.data, form.closes_at.data = _local(poll.opens_at), _local(poll.closes_at)


def _render_form(form: PollForm, community: Community, **context):
    return render_template(
        "voting/form.html", form=form, community=community, kinds=KINDS, **context
    ), form_status(form)


def _open(form: PollForm, actor: Actor, target: dict[str, Any]):
    if form.validate_on_submit():
        try:
            poll = services.open_poll(actor, _form_data(form) | target)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("The poll was opened."), "success")
            return redirect(url_for(".detail", poll_id=poll.id))
    return None


@bp.route("/proposals/<int:proposal_id>/poll/new", methods=["GET", "POST"])
@login_required
def create_for_proposal(proposal_id: int):
    from proposals import permissions as proposal_perm

    proposal = db.get_or_404(Proposal, proposal_id)
    require(proposal_perm.can_view(current_user, proposal), 404)
    actor = _actor()
    require(perm.can_open_on_proposal(current_user, actor.stakeholder.id, proposal))
    form = PollForm()
    form.invited.choices = _invite_choices(proposal.community)
    if request.method == "GET":
        form.acting_as.data = actor.stakeholder.id
        form.title.data = proposal.title
    done = _open(form, actor, {"proposal_id": proposal.id})
    return done or _render_form(form, proposal.community, proposal=proposal)


@bp.route("/communities/<int:community_id>/polls/new", methods=["GET", "POST"])
@login_required
def create(community_id: int):
    community = db.get_or_404(Community, community_id)
    actor = _actor()
    require(perm.can_open_in_community(current_user, community))
    form = PollForm()
    form.invited.choices = _invite_choices(community)
    if request.method == "GET":
        form.acting_as.data = actor.stakeholder.id
    done = _open(form, actor, {"community_id": community.id})
    return done or _render_form(form, community, proposal=None)


@bp.route("/polls/<int:poll_id>/edit", methods=["GET", "POST"])
@login_required
def edit(poll_id: int):
    poll = _load(poll_id)
    actor = _actor()
    require(perm.can_manage(current_user, actor.stakeholder.id, poll))
    if poll.frozen_at is not None or poll.status not in services.ACTIVE:
        flash(_("Ballots have been cast: the rules are frozen; only the end can be extended."))
        return redirect(url_for(".detail", poll_id=poll.id))
    form = PollForm()
    form.submit.label.text = _("Save the poll")
    form.invited.choices = _invite_choices(poll.community)
    if request.method == "GET":
        _fill(form, poll)
        form.acting_as.data = actor.stakeholder.id
    elif form.validate_on_submit():
        try:
            services.update_poll(actor, poll, _form_data(form))
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("The poll was saved."), "success")
            return redirect(url_for(".detail", poll_id=poll.id))
    return _render_form(form, poll.community, proposal=poll.proposal, poll=poll)


# --------------------------------------------------------------------------- the poll page


def _rules(poll: Poll) -> list[tuple[str, str]]:
    """The poll's rules as (label, value) lines a resident can read."""
    s = poll.settings
    params = s.get("params") or {}
    elig = s.get("eligibility") or {}
    rv = [(_("Method"), str(METHOD_LABELS[poll.method]))]
    if poll.method == "yes_no":
        rv.append((_("Threshold"), str(THRESHOLD_LABELS[params["threshold"]])))
        rv.append((_("Measured against"), str(BASE_LABELS[params["base"]])))
    if poll.method == "approval":
        rv.append(
            (
                _("Selections"),
                _(
                    "between %(low)d and %(high)d options",
                    low=params["min_selections"],
                    high=params["max_selections"],
                ),
            )
        )
    if poll.method == "score":
        rv.append((_("Scores"), _("0 to %(n)d", n=params["max_score"])))
    if poll.method == "stv":
        rv.append((_("Seats"), str(params["seats"])))
    rv.append((_("Who votes"), str(UNIT_LABELS[s["unit"]])))
    kinds = ", ".join(str(KIND_LABELS[k]) for k in elig.get("kinds", []))
    scope = []
    if elig.get("invited"):
        scope.append(_("invited stakeholders only"))
    elif elig.get("community"):
        scope.append(_("of %(community)s", community=poll.community.name))
    if elig.get("verified_only"):
        scope.append(_("verified residents only"))
    rv.append((_("Eligible"), " · ".join([kinds, *scope])))
    rule = str(RULE_LABELS[s["rule"]])
    if s["rule"] == "weighted":
        rule += ": " + ", ".join(
            f"{KIND_LABELS[k]} {v} %" for k, v in (s.get("shares") or {}).items()
        )
    if s["rule"] == "concurrent" and s.get("min_groups"):
        rule += " " + _("(at least %(k)d kinds)", k=s["min_groups"])
    rv.append((_("Stakeholder kinds"), rule))
    quorum = []
    if s.get("quorum"):
        quorum.append(_("%(pct)d %% overall", pct=s["quorum"]))
    for k, v in (s.get("kind_quorum") or {}).items():
        quorum.append(_("%(pct)d %% of %(kind)s", pct=v, kind=KIND_LABELS[k]))
    rv.append((_("Quorum"), ", ".join(quorum) or _("none")))
    rv.append((_("Ballot"), _("secret, with a receipt code") if poll.is_secret else _("open")))
    return rv


def _render_detail(poll: Poll, *, error: str | None = None, submitted: Any = None, status=200):
    actor = _viewer_actor()
    voter_id = _voter_id(poll, actor)
    voted = voter_id is not None and services.has_voted(poll, voter_id)
    mine = services.own_ballot(poll, voter_id) if voted and voter_id else None
    eligible = False
    if voter_id is not None and not voted and poll.status == PollStatus.OPEN:
        from voting.models import Elector

        eligible = (
            db.session.scalar(
                sa.select(Elector.id).where(
                    Elector.poll_id == poll.id, Elector.stakeholder_id == voter_id
                )
            )
            is not None
        )
    can_manage = actor is not None and perm.can_manage(current_user, actor.stakeholder.id, poll)
    values = _submitted_values(poll, submitted if submitted is not None else _ballot_values(mine))
    return render_template(
        "voting/detail.html",
        poll=poll,
        rules=_rules(poll),
        actor=actor,
        voted=voted,
        mine=mine,
        eligible=eligible,
        can_cast_as=actor is not None and perm.can_cast_for(current_user, actor.stakeholder),
        can_manage=can_manage,
        results_visible=perm.results_visible(poll),
        extend_form=ExtendForm(formdata=None, prefix="extend"),
        close_form=CloseForm(formdata=None, prefix="close"),
        error=error,
        values=values,
        option_label=lambda label: option_label(poll, label),
        now=datetime.now(UTC),
    ), status


def _ballot_values(ballot) -> dict[str, Any]:
    if ballot is None:
        return {}
    return {"choice": (ballot.content or {}).get("choice")}


def _submitted_values(poll: Poll, data: Any) -> dict[str, Any]:
    """What the ballot form shows as chosen: per option index, checked / score / rank."""
    rv: dict[str, Any] = {"checked": set(), "score": {}, "rank": {}, "reason": ""}
    if not data:
        return rv
    if "choice" in data and not hasattr(data, "getlist"):  # a stored ballot
        choice = data["choice"]
        index = {label: i for i, label in enumerate(poll.options)}
        if isinstance(choice, str):
            rv["checked"] = {index.get(choice)}
        elif isinstance(choice, dict):
            rv["score"] = {index[k]: v for k, v in choice.items() if k in index}
        elif poll.method == "approval":
            rv["checked"] = {index.get(x) for x in choice}
        else:
            rv["rank"] = {index[x]: n for n, x in enumerate(choice, 1) if x in index}
        return rv
    rv["checked"] = {int(x) for x in data.getlist("choice") if x.isdigit()}
    for i in range(len(poll.options)):
        rv["score"][i] = data.get(f"score-{i}", "")
        rv["rank"][i] = data.get(f"rank-{i}", "")
    rv["reason"] = data.get("reason", "")
    return rv


@bp.get("/polls/<int:poll_id>")
def detail(poll_id: int):
    return _render_detail(_load(poll_id))


def _label(poll: Poll, raw: str) -> str:
    """Map a form value (an option's index) to its label; anything else stays unknown."""
    if raw.isdigit() and int(raw) < len(poll.options):
        return poll.options[int(raw)]
    return f"#{raw[:20]}"


def _int_field(raw: str, message: Any) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit() or len(raw) > 6:
        raise DomainError(str(message), field="choice")
    return int(raw)


def choice_from_form(poll: Poll, form) -> Any:
    """Read a ballot from the method's form fields (the tally engine judges it)."""
    method = poll.method
    if method in ("yes_no", "plurality"):
        raw = form.get("choice")
        if not raw:
            raise DomainError(_("Choose an option."), field="choice")
        return _label(poll, raw)
    if method == "approval":
        return [_label(poll, raw) for raw in form.getlist("choice")]
    if method == "score":
        rv = {}
        for i, label in enumerate(poll.options):
            score = _int_field(form.get(f"score-{i}", ""), _l("Scores are whole numbers."))
            if score is not None:
                rv[label] = score
        extra = [k for k in form if k.startswith("score-") and not k[6:].isdigit()]
        extra += [
            k
            for k in form
            if k.startswith("score-") and k[6:].isdigit() and int(k[6:]) >= len(poll.options)
        ]
        if extra:
            rv["#" + extra[0][:20]] = 0  # a forged field: an unknown option
        return rv
    ranks: list[tuple[int, str]] = []
    for key in form:
        if not key.startswith("rank-"):
            continue
        rank = _int_field(form.get(key, ""), _l("Ranks are whole numbers, 1 for your favourite."))
        if rank is None:
            continue
        if rank < 1:
            raise DomainError(_("Ranks are whole numbers, 1 for your favourite."), field="choice")
        ranks.append((rank, _label(poll, key[5:])))
    if len({r for r, _x in ranks}) != len(ranks):
        raise DomainError(_("Give each rank to one option only."), field="choice")
    return [label for _r, label in sorted(ranks)]


@bp.post("/polls/<int:poll_id>/ballot")
@login_required
def cast(poll_id: int):
    poll = _load(poll_id)
    actor = _actor()
    try:
        receipt = services.cast_ballot(actor, poll, choice_from_form(poll, request.form))
    except DomainError as exc:
        db.session.rollback()
        return _render_detail(poll, error=exc.message, submitted=request.form, status=exc.status)
    db.session.commit()
    session[RECEIPT_KEY] = {
        "poll": poll.id,
        "receipt": receipt.receipt,
        "nonce": receipt.nonce,
        "content": receipt.content,
    }
    return redirect(url_for(".receipt", poll_id=poll.id))


@bp.post("/polls/<int:poll_id>/ballot/change")
@login_required
def change(poll_id: int):
    poll = _load(poll_id)
    actor = _actor()
    try:
        services.change_ballot(
            actor, poll, choice_from_form(poll, request.form), request.form.get("reason", "")
        )
    except DomainError as exc:
        db.session.rollback()
        return _render_detail(poll, error=exc.message, submitted=request.form, status=exc.status)
    db.session.commit()
    flash(_("Your ballot was changed."), "success")
    return redirect(url_for(".detail", poll_id=poll.id))


@bp.get("/polls/<int:poll_id>/receipt")
@login_required
def receipt(poll_id: int):
    poll = _load(poll_id)
    data = session.pop(RECEIPT_KEY, None)
    if not data or data.get("poll") != poll.id:
        flash(_("A receipt is shown only once, right after voting."))
        return redirect(url_for(".detail", poll_id=poll.id))
    response = Response(render_template("voting/receipt.html", poll=poll, receipt=data))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/polls/<int:poll_id>/extend")
@login_required
def extend(poll_id: int):
    poll = _load(poll_id)
    actor = _actor()
    require(perm.can_manage(current_user, actor.stakeholder.id, poll))
    form = ExtendForm(prefix="extend")
    if not form.validate_on_submit():
        flash(_("Give the new closing time and a reason."), "error")
    else:
        try:
            services.extend_poll(actor, poll, _utc(form.closes_at.data), form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("The poll was extended."), "success")
    return redirect(url_for(".detail", poll_id=poll.id))


@bp.post("/polls/<int:poll_id>/close")
@login_required
def close(poll_id: int):
    poll = _load(poll_id)
    actor = _actor()
    require(perm.can_manage(current_user, actor.stakeholder.id, poll))
    form = CloseForm(prefix="close")
    if not form.validate_on_submit():
        flash(_("Give a reason for closing early."), "error")
        return redirect(url_for(".detail", poll_id=poll.id))
    try:
        services.close_poll(poll, actor, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".detail", poll_id=poll.id))
    db.session.commit()
    flash(_("The poll was closed and counted."), "success")
    return redirect(url_for(".results_page", poll_id=poll.id))


# --------------------------------------------------------------------------- results


def shown_result(poll: Poll) -> dict[str, Any] | None:
    """The result everyone may see now: stored at close, live for open polls that allow it."""
    if not perm.results_visible(poll):
        return None
    if poll.status == PollStatus.CLOSED:
        return results.public(poll, poll.result["tally"])
    return results.public(poll, results.compute(poll))


def _visible_result(poll_id: int) -> tuple[Poll, dict[str, Any]]:
    poll = _load(poll_id)
    shown = shown_result(poll)
    if shown is None:
        abort(403, _("The results are hidden until the poll closes."))
    return poll, shown


def _bars(items: dict[str, Any], poll: Poll, winners: list[str], fmt=None) -> list[dict[str, Any]]:
    top = max([float(v) for v in items.values()] + [0.0])
    return [
        {
            "label": option_label(poll, k),
            "value": float(v),
            "text": fmt(v) if fmt else _number(v),
            "width": (float(v) / top * 100) if top else 0.0,
            "winner": k in winners,
        }
        for k, v in items.items()
    ]


def _number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(int(value)) if isinstance(value, float) else str(value)


@bp.get("/polls/<int:poll_id>/results")
def results_page(poll_id: int):
    poll, shown = _visible_result(poll_id)
    details = shown["overall"]["details"]
    bars, chart_title = None, _("Votes per option")
    winners = shown["overall"]["winners"]
    if poll.method in ("yes_no", "plurality", "approval"):
        bars = _bars(details["counts"], poll, winners)
    elif poll.method == "score":
        bars = _bars(details["averages"], poll, winners, lambda v: f"{v:.2f}")
        chart_title = _("Average score per option")
    elif poll.method == "borda":
        bars = _bars(details["points"], poll, winners)
        chart_title = _("Borda points per option")
    elif poll.method in ("irv", "stv") and details.get("rounds"):
        first = details["rounds"][0]
        bars = _bars(first.get("counts") or first.get("votes") or {}, poll, winners)
        chart_title = _("First preferences per option")
    return render_template(
        "voting/results.html",
        poll=poll,
        r=shown,
        d=details,
        bars=bars,
        chart_title=chart_title,
        kinds=KINDS,
        min_group=MIN_GROUP_BALLOTS,
        decision_labels=DECISION_LABELS,
        threshold_labels=THRESHOLD_LABELS,
        base_labels=BASE_LABELS,
        option_label=lambda label: option_label(poll, label),
        number=_number,
    )


def _export(poll: Poll, shown: dict[str, Any]) -> dict[str, Any]:
    return {
        "poll": {
            "id": poll.id,
            "title": poll.title,
            "method": poll.method,
            "options": poll.options,
            "secret": poll.is_secret,
            "status": poll.status.value,
            "closed_at": poll.closed_at.isoformat() if poll.closed_at else None,
            "ballots_digest": poll.ballots_digest,
        },
        "result": shown,
    }


@bp.get("/polls/<int:poll_id>/results.json")
def results_json(poll_id: int):
    poll, shown = _visible_result(poll_id)
    response = jsonify(_export(poll, shown))
    response.headers["Content-Disposition"] = f"attachment; filename=poll-{poll.id}-results.json"
    return response


_MEASURES = {
    "yes_no": "counts",
    "plurality": "counts",
    "approval": "counts",
    "score": "totals",
    "borda": "points",
}


def csv_rows(poll: Poll, shown: dict[str, Any]) -> list[list[Any]]:
    """The result as CSV rows: section, kind, option, measure, value."""
    rows: list[list[Any]] = [["section", "kind", "option", "measure", "value"]]
    groups = [("overall", "", shown["overall"])] + [
        ("kind", k, v) for k, v in sorted(shown["by_kind"].items())
    ]
    for section, kind, entry in groups:
        if entry.get("suppressed"):
            rows.append([section, kind, "", "suppressed", f"fewer than {MIN_GROUP_BALLOTS}"])
            continue
        measure = _MEASURES.get(poll.method)
        if measure:
            for option, value in entry["details"][measure].items():
                rows.append([section, kind, option, measure, value])
        for place, tier in enumerate(entry["ranking"], 1):
            for option in tier:
                rows.append([section, kind, option, "place", place])
        if entry.get("carried") is not None:
            rows.append([section, kind, "", "carried", entry["carried"]])
    turnout = shown["turnout"]
    rows.append(["turnout", "", "", "electorate", turnout["electorate"]])
    rows.append(["turnout", "", "", "voted", turnout["voted"]])
    for kind, t in sorted(turnout["by_kind"].items()):
        rows.append(["turnout", kind, "", "electorate", t["electorate"]])
        rows.append(["turnout", kind, "", "voted", t["voted"]])
    rows.append(["decision", "", "", shown["decision"], shown["passed"]])
    return rows


def _csv_safe(cell: Any) -> Any:
    """Keep spreadsheet programs from reading option labels as formulas."""
    return "'" + cell if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") else cell


@bp.get("/polls/<int:poll_id>/results.csv")
def results_csv(poll_id: int):
    poll, shown = _visible_result(poll_id)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in csv_rows(poll, shown):
        writer.writerow(
            ["'" + c if isinstance(c, str) and c and c[0] in "=+-@" else c for c in row]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=poll-{poll.id}-results.csv"},
    )


def bulletin_lines(poll: Poll) -> list[dict[str, Any]]:
    """Every ballot of a closed poll, sorted by receipt; small groups' kinds withheld."""
    hidden = results.suppressed_kinds(poll, poll.result["tally"])
    voters = {}
    rows = results.load_ballots(poll)
    if not poll.is_secret:
        ids = {r.voter_id for r in rows if r.voter_id}
        voters = {
            s.id: s.name
            for s in db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(ids)))
        }
    return [
        {
            "receipt": r.receipt,
            "kind": results.bulletin_kind(poll, r, hidden),
            "choice": r.choice,
            "voter": voters.get(r.voter_id) if r.voter_id else None,
            "reason": r.reason or None,
        }
        for r in rows
    ]


@bp.get("/polls/<int:poll_id>/bulletin")
def bulletin(poll_id: int):
    poll = _load(poll_id)
    if poll.status != PollStatus.CLOSED or poll.result is None:
        abort(403, _("The bulletin board is published when the poll closes."))
    lines = bulletin_lines(poll)
    q = (request.args.get("q") or "").strip().lower()[:64]
    found = [line for line in lines if q and line["receipt"].startswith(q)] if q else None
    return render_template(
        "voting/bulletin.html",
        poll=poll,
        lines=lines,
        q=q,
        found=found,
        option_label=lambda label: option_label(poll, label),
    )


# --------------------------------------------------------------------------- proposal page


def proposal_part(proposal: Proposal, viewer: Viewer) -> dict[str, Any] | None:
    """The poll section of a consultation's page (two queries at most)."""
    if proposal.kind != "consultation":
        return None
    poll = services.active_poll(proposal)
    can_open = (
        poll is None
        and viewer.user is not None
        and proposal.status in perm.OPENABLE_STATES
        and bool(viewer.roles & {"author", "moderator"})
    )
    if poll is None and not can_open:
        return None
    voted = False
    if poll is not None and viewer.actor is not None:
        voter_id = (
            viewer.actor.stakeholder.id
            if poll.settings.get("unit") != "person"
            or viewer.actor.stakeholder.user_id == viewer.user.id
            else None
        )
        voted = voter_id is not None and services.has_voted(poll, voter_id)
    return {"poll": poll, "can_open": can_open, "voted": voted}

"""Poll pages: open and edit a poll, vote, see the receipt, results, exports and the bulletin.

Every view: load (`db.get_or_404`) → `require` (404 when the poll is not visible, 403 when
seen but not allowed) → one use case through `coord.web.run` (one commit) → redirect or
render. A GET never writes: a poll whose opening or closing time has passed shows its
effective state (`Poll.state`) until the tick (`flask coord tick`) opens, or closes and
counts, it; a ballot settles the opening it needs in its own transaction. A cast ballot's
receipt is the answer to the ballot itself, shown once and kept nowhere else.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from string import hexdigits
from typing import Any
from zoneinfo import ZoneInfo

import segno
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
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from coord.db import db
from coord.errors import DomainError
from coord.i18n import AUDIT_LABELS, KIND_LABELS
from coord.models import Community
from coord.permissions import require
from coord.web import form_status, run
from proposals.models import Proposal
from proposals.viewer import Viewer
from stakeholders import acting
from stakeholders.acting import Actor
from voting import permissions as perm
from voting import receipt_code, results, services
from voting.forms import (
    BASE_LABELS,
    METHOD_LABELS,
    METHOD_QUESTIONS,
    RULE_LABELS,
    THRESHOLD_LABELS,
    UNIT_LABELS,
    BallotForm,
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
YES_NO_LABELS = {"yes": _l("Yes"), "no": _l("No"), "abstain": _l("Abstain")}


@bp.record_once
def _register_filters(state) -> None:
    filters = state.app.jinja_env.filters
    filters["poll_status_label"] = lambda s: str(STATUS_LABELS.get(getattr(s, "value", s), s))
    filters["method_label"] = lambda m: str(METHOD_LABELS.get(m, m))
    filters["percent"] = lambda x: f"{(x or 0) * 100:.1f} %"
    filters["receipt_grouped"] = receipt_code.grouped


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
    """Load a visible poll (404 otherwise), as stored: pages show its effective state."""
    poll = db.get_or_404(Poll, poll_id)
    require(perm.can_view(current_user, poll), 404)
    return poll


def option_label(poll: Poll, label: str) -> str:
    """Show yes/no/abstain in the reader's language, other options as written."""
    if poll.method == "yes_no" and label in YES_NO_LABELS:
        return str(YES_NO_LABELS[label])
    return label


def _viewer_actor() -> Actor | None:
    return acting.current_actor() if current_user.is_authenticated else None


def _load_to_run(poll_id: int) -> tuple[Poll, Actor]:
    """Load a poll and the acting identity that runs it (403 for anyone else)."""
    poll = _load(poll_id)
    actor = _actor()
    require(perm.can_manage(current_user, actor.stakeholder.id, poll))
    return poll, actor


def _detail_url(poll: Poll) -> str:
    return url_for(".detail", poll_id=poll.id)


def _back_to_poll(poll: Poll, message: str) -> Response:
    flash(message, "error")
    return redirect(_detail_url(poll))


# --------------------------------------------------------------------------- opening


def _invite_choices(community: Community) -> list[SelectChoice]:
    return [
        SelectChoice(s.id, f"{s.name} ({KIND_LABELS[s.kind.value]})")
        for s in services.invitable(community)
    ]


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
        "voting/form.html",
        form=form,
        community=community,
        kinds=KINDS,
        method_questions=METHOD_QUESTIONS,
        **context,
    ), form_status(form)


def _open(form: PollForm, actor: Actor, target: dict[str, Any]):
    if not form.validate_on_submit():
        return None
    return run(
        lambda: services.open_poll(actor, _form_data(form) | target),
        _("The poll was opened."),
        _detail_url,
        form=form,
    )


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
    poll, actor = _load_to_run(poll_id)
    if poll.frozen_at is not None or poll.state not in services.ACTIVE:
        flash(_("Ballots have been cast: the rules are frozen; only the end can be extended."))
        return redirect(_detail_url(poll))
    form = PollForm()
    form.submit.label.text = _("Save the poll")
    form.invited.choices = _invite_choices(poll.community)
    if request.method == "GET":
        _fill(form, poll)
        form.acting_as.data = actor.stakeholder.id
    elif form.validate_on_submit():
        done = run(
            lambda: services.update_poll(actor, poll, _form_data(form)),
            _("The poll was saved."),
            _detail_url(poll),
            form=form,
        )
        if done:
            return done
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


def _render_detail(
    poll: Poll, refused: BallotForm | None = None, close_form: CloseForm | None = None
):
    """Render the poll page; after a refused ballot, with its reason and the voter's input.

    A bad ballot answers 400; a refusal by the poll's state (already voted, a secret ballot,
    no ballot to change) is flashed and answers 409. A refused early close shows its form
    again, open, with the organiser's reason and the error (422).
    """
    actor = _viewer_actor()
    voter_id = services.voter_id_for(actor, poll)
    voted = voter_id is not None and services.has_voted(poll, voter_id)
    mine = services.own_ballot(poll, voter_id) if voted and voter_id else None
    eligible = (
        voter_id is not None
        and not voted
        and poll.state == PollStatus.OPEN
        and services.in_electorate(poll, voter_id)
    )
    can_manage = actor is not None and perm.can_manage(current_user, actor.stakeholder.id, poll)
    errors = [*refused.choice.errors, *refused.reason.errors] if refused else []
    status = (400 if errors else 409) if refused else 200
    if close_form is not None:
        status = form_status(close_form)
    submitted = request.form if refused else _ballot_values(mine)
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
        close_form=close_form or CloseForm(formdata=None, prefix="close"),
        error=errors[0] if errors else None,
        values=_submitted_values(poll, submitted),
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


RANKED = ("borda", "schulze", "irv", "stv")
HEX_PREFIX = 8  # hex digits of a full receipt that the board matches


def choice_words(poll: Poll, choice: Any) -> list[str]:
    """Say a ballot's choice in words: one line per option chosen, in rank order if ranked."""
    if isinstance(choice, str):
        return [option_label(poll, choice)]
    if isinstance(choice, dict):
        return [
            _("%(option)s: %(score)s points", option=option_label(poll, k), score=v)
            for k, v in choice.items()
        ]
    return [option_label(poll, x) for x in choice or []]


def _qr_svg(url: str) -> Markup:
    """Draw a QR code of `url` as inline SVG (segno's output: our own URL, no user markup)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=1,
        border=2,
        omitsize=True,
        light="#fff",
        svgclass="receipt-qr",
        title=_("QR code: scan it to check your ballot on the bulletin board"),
    )
    return Markup(svg)  # noqa: S704 (segno escapes the title; the data is only drawn)


def _receipt_page(poll: Poll) -> Callable[[services.Receipt], Response]:
    """Show a cast ballot's receipt once, in the answer to the ballot itself.

    The voter sees a short code, a QR code of the bulletin-board check for it and their choice
    in words. Nothing of it is kept anywhere else: not in the session cookie (which would
    carry the choice), not on the server; the page is not cached. The nonce is never shown:
    with it, a voter could prove to a vote buyer which ballot is theirs.
    """

    def page(receipt: services.Receipt) -> Response:
        code = receipt_code.grouped(receipt_code.short_code(receipt.receipt))
        check = url_for(".bulletin", poll_id=poll.id, _external=True) + "#code=" + code
        rv = Response(
            render_template(
                "voting/receipt.html",
                poll=poll,
                code=code,
                qr=_qr_svg(check),
                check_url=check,
                ranked=poll.method in RANKED,
                words=choice_words(poll, json.loads(receipt.content)["choice"]),
            )
        )
        rv.headers["Cache-Control"] = "no-store"
        return rv

    return page


def _submit_ballot(
    poll_id: int,
    use_case: Callable[[Actor, Poll, Any], services.Receipt],
    success: str | None,
    target: Callable[[Poll], str | Callable[[services.Receipt], str | Response]],
):
    """Run a ballot use case on the submitted form; when refused, show the poll page again."""
    poll = _load(poll_id)
    actor = _actor()
    form = BallotForm()
    done = run(
        lambda: use_case(actor, poll, choice_from_form(poll, request.form)),
        success,
        target(poll),
        form=form,
    )
    return done or _render_detail(poll, form)


@bp.post("/polls/<int:poll_id>/ballot")
@login_required
def cast(poll_id: int):
    return _submit_ballot(poll_id, services.cast_ballot, None, _receipt_page)


@bp.post("/polls/<int:poll_id>/ballot/change")
@login_required
def change(poll_id: int):
    def change_ballot(actor: Actor, poll: Poll, choice: Any) -> services.Receipt:
        return services.change_ballot(actor, poll, choice, request.form.get("reason", ""))

    return _submit_ballot(poll_id, change_ballot, _("Your ballot was changed."), _detail_url)


@bp.get("/polls/<int:poll_id>/receipt")
@login_required
def receipt(poll_id: int):
    poll = _load(poll_id)
    flash(_("A receipt is shown only once, right after voting."))
    return redirect(_detail_url(poll))


@bp.post("/polls/<int:poll_id>/extend")
@login_required
def extend(poll_id: int):
    poll, actor = _load_to_run(poll_id)
    form = ExtendForm(prefix="extend")
    if not form.validate_on_submit():
        return _back_to_poll(poll, _("Give the new closing time and a reason."))
    return run(
        lambda: services.extend_poll(actor, poll, _utc(form.closes_at.data), form.reason.data),
        _("The poll was extended."),
        _detail_url(poll),
    )


@bp.post("/polls/<int:poll_id>/close")
@login_required
def close(poll_id: int):
    poll, actor = _load_to_run(poll_id)
    form = CloseForm(prefix="close")
    done = form.validate_on_submit() and run(
        lambda: services.close_poll(poll, actor, form.reason.data),
        _("The poll was closed and counted."),
        url_for(".results_page", poll_id=poll.id),
        form=form,
    )
    return done or _render_detail(poll, close_form=form)


# --------------------------------------------------------------------------- results


def _visible_result(poll_id: int) -> tuple[Poll, dict[str, Any]]:
    poll = _load(poll_id)
    shown = results.shown_result(poll)
    if shown is None:
        abort(403, results.hidden_reason(poll))
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
        decision_labels=results.DECISION_LABELS,
        threshold_labels=THRESHOLD_LABELS,
        base_labels=BASE_LABELS,
        option_label=lambda label: option_label(poll, label),
        number=_number,
    )


@bp.get("/polls/<int:poll_id>/results.json")
def results_json(poll_id: int):
    poll, shown = _visible_result(poll_id)
    response = jsonify(results.export_json(poll, shown))
    response.headers["Content-Disposition"] = f"attachment; filename=poll-{poll.id}-results.json"
    return response


def _csv_safe(cell: Any) -> Any:
    """Keep spreadsheet programs from reading option labels as formulas."""
    return "'" + cell if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") else cell


@bp.get("/polls/<int:poll_id>/results.csv")
def results_csv(poll_id: int):
    poll, shown = _visible_result(poll_id)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in results.csv_rows(poll, shown):
        writer.writerow([_csv_safe(c) for c in row])
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=poll-{poll.id}-results.csv"},
    )


def find_on_board(lines: list[dict[str, Any]], typed: str) -> list[dict[str, Any]]:
    """Return the board's lines matching a typed short code or a full receipt's prefix.

    Receipts handed out before short codes were 64 hex digits: 8 or more of them are read
    both ways, and every candidate is returned.
    """
    code = receipt_code.parse(typed)
    hex_prefix = typed.strip().lower()
    old_style = len(hex_prefix) >= HEX_PREFIX and all(c in hexdigits for c in hex_prefix)
    return [
        line
        for line in lines
        if (code and line["code"].startswith(code))
        or (old_style and line["receipt"].startswith(hex_prefix))
    ]


@bp.get("/polls/<int:poll_id>/bulletin")
def bulletin(poll_id: int):
    """Show the board of a closed poll; before the close, say when it will be published."""
    poll = _load(poll_id)
    if poll.status != PollStatus.CLOSED or poll.result is None:
        return render_template("voting/bulletin.html", poll=poll, lines=None)
    lines = results.bulletin_lines(poll)
    q = (request.args.get("q") or "").strip()[:64]
    return render_template(
        "voting/bulletin.html",
        poll=poll,
        lines=lines,
        q=q,
        found=find_on_board(lines, q) if q else None,
        whole=len(receipt_code.parse(q) or "") == receipt_code.LENGTH,
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

"""Tender pages: publish, take a share, ask, bid, open, declare, score, award, challenge, sign.

Each view parses, loads, checks who may look and runs one use case through `coord.web.run`
(one commit; a refusal rolls back and says why). Pages never write: they show the state
that time has decided (`deadlines.effective_state`) until the tick settles it. Share codes
and bid contents are only ever in the request that carries them: never flashed, logged or
kept in the session.
"""

from __future__ import annotations

from collections.abc import Callable
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
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from coord import uploads
from coord.db import db
from coord.forms import ConfirmForm, ReasonConfirmForm, confirmed_reason
from coord.models import Community, User
from coord.permissions import require
from coord.web import confirm, form_status, run
from proposals import permissions as perm
from proposals.models import Attachment
from proposals.tenders import award as awards
from proposals.tenders import (
    bids,
    clock,
    conflicts,
    deadlines,
    forms,
    permissions,
    scoring,
    services,
)
from proposals.tenders import ocds as open_data
from proposals.tenders.models import Bid, Challenge, Enquiry, Score, Tender
from proposals.viewer import Viewer
from stakeholders import acting
from stakeholders.models import Stakeholder

bp = Blueprint("tenders", __name__)

CATEGORY_LABELS = {
    "goods": _l("Goods"),
    "services": _l("Services"),
    "works": _l("Works"),
}
_PUBLISHED = _l(
    "The tender was published. Each panel member can now take their opening share once."
).__str__
TIE_LABELS = {
    "membership": _l("membership"),
    "affiliation": _l("affiliation"),
    "contract": _l("contract"),
    "alliance": _l("alliance"),
}


# -- Helpers ----------------------------------------------------------------------------------


@bp.record_once
def _register(state) -> None:
    state.app.jinja_env.filters["tender_category"] = lambda v: str(CATEGORY_LABELS.get(str(v), v))
    state.app.jinja_env.globals["tender_flag_label"] = lambda code: str(bids.FLAGS.get(code, code))


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=_tz()).astimezone(UTC) if value else None


def _load(tender_id: int) -> Tender:
    tender = db.session.scalar(
        sa.select(Tender).options(sa.orm.joinedload(Tender.proposal)).where(Tender.id == tender_id)
    )
    if tender is None or not perm.can_view(current_user, tender.proposal):
        abort(404)
    return tender


def _user() -> User | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


def _page(tender: Tender, anchor: str = "") -> str:
    return url_for(".detail", tender_id=tender.id) + (f"#{anchor}" if anchor else "")


def _thread(tender: Tender, challenge: Challenge) -> str:
    return url_for(".challenge_thread", tender_id=tender.id, challenge_id=challenge.id)


def _submit(
    form: FlaskForm,
    incomplete: str,
    action: Callable[[], object],
    success: str,
    target: str | Callable[[Any], str],
    back: str | None = None,
) -> Response:
    """Run a one-form use case of the tender page: say what is missing, or run it."""
    if not form.validate_on_submit():
        flash(incomplete, "error")
        return redirect(back or target)  # type: ignore[arg-type]
    return run(action, success, target, back=back)  # type: ignore[return-value]


def _seat_users(seats: list) -> dict[int, User]:
    return {
        u.id: u
        for u in db.session.scalars(
            sa.select(User).where(User.id.in_([s.user_id for s in seats] or [0]))
        )
    }


# -- Pages ------------------------------------------------------------------------------------


@bp.get("/tenders")
def index():
    rows = (
        db.session.execute(
            sa.select(Tender)
            .join(Tender.proposal)
            .options(sa.orm.contains_eager(Tender.proposal))
            .where(perm.visible_filter(current_user))
            .order_by(Tender.id.desc())
            .limit(200)
        )
        .scalars()
        .all()
    )
    actor = acting.current_actor()
    return render_template(
        "tenders/index.html",
        rows=rows,
        can_create=actor is not None and permissions.can_buy(actor.stakeholder),
    )


def _tender_form() -> forms.TenderForm:
    form = forms.TenderForm()
    form.community_id.choices = [
        SelectChoice(c.id, c.name)
        for c in db.session.scalars(sa.select(Community).order_by(Community.id))
    ]
    form.category.choices = [SelectChoice(k, v) for k, v in CATEGORY_LABELS.items()]
    return form


def _tender_data(form: forms.TenderForm) -> dict[str, Any]:
    return {
        "community_id": form.community_id.data,
        "title": form.title.data,
        "summary": form.summary.data,
        "body": form.body.data or "",
        "scope": form.scope.data,
        "category": form.category.data,
        "budget_ceiling": form.budget_ceiling.data or None,
        "budget_public": form.budget_public.data,
        "verified_only": form.verified_only.data,
        "conditions": form.conditions.data or "",
        "price_weight": form.price_weight.data,
        "quality": [(c.form.name.data, c.form.weight.data) for c in form.criteria],
        "enquiry_ends_at": _utc(form.enquiry_ends_at.data),
        "bid_deadline_at": _utc(form.bid_deadline_at.data),
        "opening_at": _utc(form.opening_at.data),
        "standstill_days": form.standstill_days.data,
        "panel": [
            n for n in (form.panel.data or "").replace("，", ",").replace(" ", ",").split(",")
        ],
        "shares_needed": form.shares_needed.data,
        "publish": bool(form.publish.data),
    }


@bp.route("/tenders/new", methods=["GET", "POST"])
@login_required
def create():
    actor = acting.require_actor()
    if not permissions.can_buy(actor.stakeholder):
        flash(
            _(
                "Act as a government unit, a residents committee or an owners committee "
                "to publish a tender."
            ),
            "error",
        )
    form = _tender_form()
    if request.method == "GET" and actor.stakeholder.community_id:
        form.community_id.data = actor.stakeholder.community_id
    if form.validate_on_submit():
        rv = run(
            lambda: services.create_tender(actor, _tender_data(form)),
            _PUBLISHED() if form.publish.data else _("The draft was saved."),
            lambda tender: url_for(".detail", tender_id=tender.id),
            form=form,
        )
        if rv is not None:
            return rv
    return render_template("tenders/form.html", form=form), form_status(form)


def _award_form(buyer: bool, status: str, evaluation) -> forms.AwardForm | None:
    if not (buyer and status in ("evaluated", "standstill") and evaluation):
        return None
    rv = forms.AwardForm()
    rv.bid_id.choices = [
        SelectChoice(r.bid.id, f"{r.rank}. {r.bid.bidder.name} — {r.bid.price}")
        for r in evaluation.ranking
    ]
    return rv


@bp.get("/tenders/<int:tender_id>")
def detail(tender_id: int):
    tender = _load(tender_id)
    actor, user = acting.current_actor(), _user()
    state = deadlines.effective_state(tender)
    buyer = permissions.is_buyer(actor, tender)
    seat = services.panelist_for(user, tender)
    seats = services.panelists(tender)
    opened = bids.opened_bids(tender)
    evaluation = scoring.evaluate(tender) if opened else None
    all_declarations = conflicts.declarations(tender) if opened else []
    see_all = buyer or seat is not None or tender.awarded_at is not None
    return render_template(
        "tenders/detail.html",
        tender=tender,
        proposal=tender.proposal,
        status=state.status,
        award_final_at=state.award_final_at,
        buyer=buyer,
        seat=seat,
        seats=seats,
        users=_seat_users(seats),
        enquiries=services.enquiries(tender),
        early_end=services.early_end(tender),
        bid_count=bids.bid_count(tender),
        opened=opened,
        evaluation=evaluation,
        my_bid=bids.active_bid(tender, actor.stakeholder.id) if actor else None,
        eligible=permissions.can_take_part(actor.stakeholder, tender) if actor else None,
        can_bid=permissions.can_bid(actor.stakeholder, tender) if actor else None,
        unconfirmed_bidder=services.UNCONFIRMED_BIDDER,
        declarations=all_declarations,
        my_declarations=[d for d in all_declarations if user and d.user_id == user.id],
        see_evaluation=see_all,
        see_panel=see_all,
        challenges=awards.challenges(tender),
        winner=next((b for b in opened if b.id == tender.winner_bid_id), None),
        standstill_ends_at=services.standstill_ends_at(tender),
        milestones=awards.milestones(tender),
        quality=services.quality_criteria(tender),
        price_weight=services.price_weight(tender),
        pending_shares=services.shares_pending(tender),
        question_form=forms.QuestionForm(),
        answer_form=forms.AnswerForm(),
        declare_form=forms.DeclareForm(),
        reason_form=forms.ReasonForm(),
        can_award=_award_form(buyer, state.status, evaluation) is not None,
        challenge_form=forms.ChallengeForm(),
        actor=actor,
        now=clock.now(),
        can_challenge=permissions.can_challenge(actor, state, {b.bidder_id for b in opened}),
        tie_labels=TIE_LABELS,
        can_read=lambda c: permissions.can_read_challenge(actor, tender, c),
        can_see_contents=lambda b: permissions.can_see_contents(actor, user, tender, b),
    )


@bp.post("/tenders/<int:tender_id>/publish")
@login_required
def publish(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    return run(lambda: services.publish_tender(actor, tender), _PUBLISHED(), _page(tender))


@bp.route("/tenders/<int:tender_id>/share", methods=["GET", "POST"])
@login_required
def share(tender_id: int):
    """Show a panel member their share code once, in the answer to the POST itself."""
    tender = _load(tender_id)
    user = _user()
    seat = services.panelist_for(user, tender)
    require(seat is not None, 404)
    form = forms.ShareForm()

    def page(code: str | None = None) -> Response:
        rv = make_response(
            render_template("tenders/share.html", tender=tender, seat=seat, code=code, form=form)
        )
        rv.headers["Cache-Control"] = "no-store"
        return rv

    if form.validate_on_submit():
        return run(
            lambda: services.take_share(user, tender),
            None,
            page,
            back=url_for(".share", tender_id=tender.id),
        )
    return page()


@bp.route("/tenders/<int:tender_id>/open-bidding", methods=["GET", "POST"])
@login_required
def open_bidding(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    require(permissions.is_buyer(actor, tender))
    early = tender.enquiry_ends_at > clock.now()
    form = ReasonConfirmForm() if early else ConfirmForm()
    return confirm(
        form,
        lambda: services.open_bidding(actor, tender, confirmed_reason(form)),
        _("Bidding is open."),
        _page(tender),
        title=_("End the enquiry period and open bidding"),
        consequences=_open_bidding_consequences(tender, early),
    )


def _open_bidding_consequences(tender: Tender, early: bool) -> list[str]:
    rv = [_("No more questions can be asked; businesses can bid from now on.")]
    if early:
        rv += [
            _(
                "The published enquiry period (until %(when)s) is cut short.",
                when=format_datetime(tender.enquiry_ends_at, "short"),
            ),
            _(
                "The reason is shown on the tender and in its timeline, and sent to its"
                " followers and bidders."
            ),
        ]
    return rv


@bp.post("/tenders/<int:tender_id>/questions")
@login_required
def ask(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    form = forms.QuestionForm()
    return _submit(
        form,
        _("Write your question."),
        lambda: services.ask_question(actor, tender, form.question.data),
        _("Your question was published anonymously; the buyer will answer it publicly."),
        _page(tender, "enquiries"),
    )


@bp.post("/tenders/<int:tender_id>/questions/<int:enquiry_id>/answer")
@login_required
def answer(tender_id: int, enquiry_id: int):
    tender = _load(tender_id)
    enquiry = db.get_or_404(Enquiry, enquiry_id)
    actor = acting.require_actor()
    form = forms.AnswerForm()
    return _submit(
        form,
        _("Write the answer."),
        lambda: services.answer_question(actor, tender, enquiry, form.answer.data),
        _("The answer was published."),
        _page(tender, "enquiries"),
    )


def _receipt(row: Bid) -> str:
    """Flash a sealed bid's receipt (after the commit) and return the bid page."""
    flash(_("Your bid was sealed. Keep the receipt: %(receipt)s", receipt=row.receipt), "success")
    return url_for(".bid", tender_id=row.tender_id)


@bp.route("/tenders/<int:tender_id>/bid", methods=["GET", "POST"])
@login_required
def bid(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    form = forms.BidForm()
    if form.validate_on_submit():
        files = [
            bids.Upload(f.filename or "", f.read())
            for f in request.files.getlist(form.attachments.name)
            if f and (f.filename or "")
        ]
        rv = run(
            lambda: bids.submit_bid(
                actor,
                tender,
                form.price.data,
                form.proposal.data,
                files,
                conditions_confirmed=form.conditions_confirmed.data,
            ),
            None,
            _receipt,
            form=form,
        )
        if rv is not None:
            return rv
    return render_template(
        "tenders/bid.html",
        tender=tender,
        status=deadlines.effective_state(tender).status,
        form=form,
        versions=bids.bid_versions(tender, actor.stakeholder.id),
        actor=actor,
        now=clock.now(),
        max_mb=bids.max_attachment_bytes() // (1024 * 1024),
    ), form_status(form)


def _bid(tender: Tender, bid_id: int) -> Bid:
    row = db.session.get(Bid, bid_id)
    if not permissions.can_read_bid(acting.current_actor(), _user(), tender, row):
        abort(404)
    return row  # type: ignore[return-value]


@bp.get("/tenders/<int:tender_id>/bids/<int:bid_id>")
@login_required
def bid_detail(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    row = _bid(tender, bid_id)
    entry = next(
        (e for e in (tender.opening_record or {}).get("bids", []) if e["bid_id"] == row.id), None
    )
    return render_template(
        "tenders/bid_detail.html",
        tender=tender,
        row=row,
        entry=entry,
        show=permissions.can_see_contents(acting.current_actor(), _user(), tender, row),
    )


@bp.post("/tenders/<int:tender_id>/bids/<int:bid_id>/withdraw")
@login_required
def withdraw(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    row = db.session.get(Bid, bid_id)
    require(permissions.is_own_bid(actor, tender, row), 404)
    return run(
        lambda: bids.withdraw_bid(actor, tender, row),
        _("Your bid was withdrawn. You may submit a new one until the deadline."),
        url_for(".bid", tender_id=tender.id),
    )


@bp.get("/tenders/<int:tender_id>/attachments/<int:attachment_id>")
@login_required
def attachment(tender_id: int, attachment_id: int):
    tender = _load(tender_id)
    row = db.session.get(Attachment, attachment_id)
    entry = next(
        (
            e
            for e in (tender.opening_record or {}).get("bids", [])
            if any(a["id"] == attachment_id for a in e.get("attachments", []))
        ),
        None,
    )
    bid_row = db.session.get(Bid, entry["bid_id"]) if entry else None
    if (
        row is None
        or bid_row is None
        or row.is_sealed
        or row.proposal_id != tender.proposal_id
        or not permissions.can_see_contents(acting.current_actor(), _user(), tender, bid_row)
    ):
        abort(404)
    try:
        return uploads.download(row.storage_key, row.filename, row.content_type)
    except FileNotFoundError:
        abort(404)


@bp.route("/tenders/<int:tender_id>/open", methods=["GET", "POST"])
@login_required
def open_ceremony(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    require(permissions.is_buyer(actor, tender))
    form = forms.OpeningForm()
    seats = services.panelists(tender)
    if form.validate_on_submit():
        rv = run(
            lambda: bids.open_bids(actor, tender, form.codes.data[: len(seats)]),
            _("The bids were opened and the opening record is published."),
            _page(tender, "opening"),
            form=form,
        )
        if rv is not None:
            return rv
    return render_template(
        "tenders/open.html",
        tender=tender,
        status=deadlines.effective_state(tender).status,
        form=form,
        seats=seats,
        users=_seat_users(seats),
        bid_count=bids.bid_count(tender),
        now=clock.now(),
    ), form_status(form)


@bp.post("/tenders/<int:tender_id>/declare")
@login_required
def declare(tender_id: int):
    tender = _load(tender_id)
    form = forms.DeclareForm()
    recuse = bool(form.recuse.data)
    return _submit(
        form,
        _("Write your statement."),
        lambda: conflicts.declare_conflicts(_user(), tender, form.statement.data, recuse=recuse),
        _("You recused yourself from this evaluation.")
        if recuse
        else _("Your declaration was recorded."),
        _page(tender, "conflicts"),
    )


def _score_entries(
    bid_rows: list[Bid], criteria: list[dict[str, Any]], values: dict[str, str]
) -> dict[tuple[int, str], tuple[Any, str]]:
    """Read the score inputs into `values` (to show them again) and return the entries."""
    rv: dict[tuple[int, str], tuple[Any, str]] = {}
    for b in bid_rows:
        for c in criteria:
            s = (request.form.get(f"score-{b.id}-{c['key']}") or "").strip()
            j = request.form.get(f"why-{b.id}-{c['key']}") or ""
            values[f"score-{b.id}-{c['key']}"], values[f"why-{b.id}-{c['key']}"] = s, j
            if s or j.strip():
                rv[(b.id, c["key"])] = (s, j)
    return rv


def _saved_scores(tender: Tender, user: User) -> dict[str, str]:
    rv: dict[str, str] = {}
    for s in db.session.scalars(
        sa.select(Score).where(Score.tender_id == tender.id, Score.user_id == user.id)
    ):
        rv[f"score-{s.bid_id}-{s.criterion}"] = str(s.score)
        rv[f"why-{s.bid_id}-{s.criterion}"] = s.justification
    return rv


@bp.route("/tenders/<int:tender_id>/score", methods=["GET", "POST"])
@login_required
def score(tender_id: int):
    tender = _load(tender_id)
    user = _user()
    seat = services.panelist_for(user, tender)
    require(seat is not None)
    form = forms.ScoreForm()
    bid_rows = [b for b in bids.opened_bids(tender) if b.is_qualified]
    criteria = services.quality_criteria(tender)
    values: dict[str, str] = {}
    if form.validate_on_submit():
        entries = _score_entries(bid_rows, criteria, values)
        rv = run(
            lambda: scoring.score_bids(user, tender, entries),
            _("Your scores were saved."),
            _page(tender, "evaluation"),
            form=form,
        )
        if rv is not None:
            return rv
    else:
        values = _saved_scores(tender, user)
    return render_template(
        "tenders/score.html",
        tender=tender,
        form=form,
        bids=bid_rows,
        criteria=criteria,
        values=values,
        seat=seat,
    ), form_status(form)


@bp.post("/tenders/<int:tender_id>/bids/<int:bid_id>/disqualify")
@login_required
def disqualify(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    row = db.session.get(Bid, bid_id)
    if row is None or row.tender_id != tender.id:
        abort(404)
    form = forms.ReasonForm()
    return _submit(
        form,
        _("Give the reason for the disqualification."),
        lambda: scoring.disqualify_bid(actor, tender, row, form.reason.data),
        _("The bid was disqualified."),
        _page(tender, "evaluation"),
    )


@bp.post("/tenders/<int:tender_id>/complete")
@login_required
def complete(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    return run(
        lambda: scoring.complete_evaluation(actor, tender),
        _("The evaluation is complete: the ranking is published."),
        _page(tender, "evaluation"),
    )


@bp.route("/tenders/<int:tender_id>/award", methods=["GET", "POST"])
@login_required
def award(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    require(permissions.is_buyer(actor, tender))
    opened = bids.opened_bids(tender)
    form = _award_form(
        True, deadlines.effective_state(tender).status, opened and scoring.evaluate(tender)
    )
    if form is None:
        abort(409, _("The tender cannot be awarded now."))
    return confirm(
        form,
        lambda: awards.award_tender(
            actor, tender, db.session.get(Bid, form.bid_id.data), form.justification.data
        ),
        _("The award is published. The standstill period has started."),
        _page(tender, "award"),
        title=_("Award “%(title)s”", title=tender.proposal.title),
        consequences=[
            _("The winning bid and the justification are published on the tender."),
            _("The standstill period starts: bidders may challenge the award until it ends."),
            _("The followers and bidders are notified."),
        ],
    )


@bp.post("/tenders/<int:tender_id>/challenges")
@login_required
def challenge(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    form = forms.ChallengeForm()
    return _submit(
        form,
        _("Explain the challenge."),
        lambda: awards.file_challenge(actor, tender, form.text.data),
        _("Your challenge was filed. The buyer will answer in its thread."),
        lambda row: _thread(tender, row),
        back=_page(tender, "challenges"),
    )


def _challenge(tender: Tender, challenge_id: int) -> Challenge:
    row = db.session.get(Challenge, challenge_id)
    if (
        row is None
        or row.tender_id != tender.id
        or not permissions.can_read_challenge(acting.current_actor(), tender, row)
    ):
        abort(404)
    return row


@bp.get("/tenders/<int:tender_id>/challenges/<int:challenge_id>")
@login_required
def challenge_thread(tender_id: int, challenge_id: int):
    tender = _load(tender_id)
    row = _challenge(tender, challenge_id)
    return render_template(
        "tenders/challenge.html",
        tender=tender,
        row=row,
        bidder=db.session.get(Stakeholder, row.bidder_id),
        message_form=forms.MessageForm(),
        decide_form=forms.DecideForm(),
        buyer=permissions.is_buyer(acting.current_actor(), tender),
    )


@bp.post("/tenders/<int:tender_id>/challenges/<int:challenge_id>/messages")
@login_required
def challenge_message(tender_id: int, challenge_id: int):
    tender = _load(tender_id)
    row = _challenge(tender, challenge_id)
    actor = acting.require_actor()
    form = forms.MessageForm()
    return _submit(
        form,
        _("Write a message."),
        lambda: awards.post_challenge_message(actor, tender, row, form.text.data),
        _("Your message was sent."),
        _thread(tender, row),
    )


@bp.post("/tenders/<int:tender_id>/challenges/<int:challenge_id>/decide")
@login_required
def challenge_decide(tender_id: int, challenge_id: int):
    tender = _load(tender_id)
    row = _challenge(tender, challenge_id)
    actor = acting.require_actor()
    form = forms.DecideForm()
    return _submit(
        form,
        _("Choose a decision and give the reason."),
        lambda: awards.decide_challenge(actor, tender, row, form.outcome.data, form.reason.data),
        _("The decision is published."),
        _thread(tender, row),
    )


def _milestones(form: forms.ContractForm) -> list[tuple[str, datetime | None]]:
    return [
        (
            m.form.title.data,
            datetime.combine(m.form.due.data, datetime.min.time(), tzinfo=_tz()).astimezone(UTC)
            if m.form.due.data
            else None,
        )
        for m in form.milestones
        if (m.form.title.data or "").strip()
    ]


@bp.route("/tenders/<int:tender_id>/contract", methods=["GET", "POST"])
@login_required
def contract(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    require(permissions.is_buyer(actor, tender))
    form = forms.ContractForm()
    if form.validate_on_submit():
        rv = run(
            lambda: awards.sign_contract(actor, tender, _milestones(form)),
            _("The contract is signed; implementation has started."),
            _page(tender, "milestones"),
            form=form,
        )
        if rv is not None:
            return rv
    return render_template("tenders/contract.html", tender=tender, form=form), form_status(form)


@bp.get("/tenders/<int:tender_id>/ocds.json")
def ocds(tender_id: int):
    tender = _load(tender_id)
    rv = jsonify(open_data.release_package(tender, deadlines.effective_state(tender)))
    rv.headers["Content-Disposition"] = f'inline; filename="tender-{tender.id}-ocds.json"'
    return rv


# -- The tender's part on the proposal page ----------------------------------------------------


def proposal_part(proposal, viewer: Viewer) -> dict[str, Any] | None:
    """Return the tender box of a tender's proposal page (None for other proposals)."""
    if proposal.kind != "tender":
        return None
    tender = services.tender_for(proposal)
    if tender is None:
        return None
    return {"tender": tender, "bid_count": bids.bid_count(tender)}

"""Tender pages: publish, take a share, ask, bid, open, declare, score, award, challenge, sign.

Each view parses, loads, checks who may look, calls one service of `proposals.tenders.services` and
commits once. A refused step rolls back and says why. Share codes and bid contents are only
ever in the request that carries them: never flashed, logged or kept in the session.
"""

from __future__ import annotations

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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from coord import uploads
from coord.db import db
from coord.errors import DomainError
from coord.forms import strip_text
from coord.models import Community, User
from coord.permissions import require
from coord.web import form_error, form_status
from proposals import permissions as perm
from proposals.models import Attachment
from proposals.tenders import ocds as open_data
from proposals.tenders import services as tenders
from proposals.tenders.models import Bid, Challenge, Enquiry, Score, Tender
from proposals.viewer import Viewer
from stakeholders import acting
from stakeholders.acting import Actor
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
CRITERION_ROWS = 4
MILESTONE_ROWS = 4


# -- Forms ------------------------------------------------------------------------------------


class CriterionForm(Form):
    name = StringField(
        _l("Quality criterion"), filters=[strip_text], validators=[Optional(), Length(max=60)]
    )
    weight = IntegerField(_l("Weight"), validators=[Optional(), NumberRange(0, 100)])


class TenderForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int, validators=[DataRequired()])
    title = StringField(
        _l("Title"), filters=[strip_text], validators=[DataRequired(), Length(max=120)]
    )
    summary = TextAreaField(
        _l("Summary"), filters=[strip_text], validators=[DataRequired(), Length(max=500)]
    )
    scope = TextAreaField(
        _l("Scope"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=2000)],
        description=_l("What is to be delivered, where and for how long."),
    )
    body = TextAreaField(
        _l("Requirements"),
        validators=[Length(max=50_000)],
        description=_l("Markdown: **bold**, _italic_, lists, > quotes, [links](https://…)."),
    )
    category = SelectField(_l("Category"), validators=[DataRequired()])
    budget_ceiling = StringField(
        _l("Budget ceiling (yuan, optional)"),
        filters=[strip_text],
        validators=[Optional(), Length(max=20)],
    )
    budget_public = BooleanField(_l("Publish the budget ceiling"), default=True)
    verified_only = BooleanField(_l("Verified organisations only"), default=True)
    conditions = TextAreaField(
        _l("Further conditions (optional)"),
        filters=[strip_text],
        validators=[Optional(), Length(max=2000)],
        description=_l("Bidders confirm that they meet them."),
    )
    price_weight = IntegerField(
        _l("Weight of the price (%)"), default=40, validators=[NumberRange(0, 100)]
    )
    criteria = FieldList(
        FormField(CriterionForm), min_entries=CRITERION_ROWS, max_entries=CRITERION_ROWS
    )
    enquiry_ends_at = DateTimeLocalField(
        _l("Enquiry period ends"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    bid_deadline_at = DateTimeLocalField(
        _l("Bid deadline"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    opening_at = DateTimeLocalField(
        _l("Opening time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    standstill_days = IntegerField(
        _l("Standstill period (days)"), default=10, validators=[NumberRange(0, 60)]
    )
    panel = StringField(
        _l("Evaluation panel (usernames)"),
        filters=[strip_text],
        validators=[DataRequired(), Length(max=1000)],
        description=_l(
            "Separate usernames with commas. Each member receives a share of the opening key."
        ),
    )
    shares_needed = IntegerField(
        _l("Members needed to open the bids"), default=2, validators=[NumberRange(1, 15)]
    )
    save = SubmitField(_l("Save draft"))
    publish = SubmitField(_l("Publish"))


class QuestionForm(FlaskForm):
    question = TextAreaField(
        _l("Your question"), filters=[strip_text], validators=[DataRequired(), Length(max=2000)]
    )
    submit = SubmitField(_l("Ask"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        _l("Answer"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Publish the answer"))


class BidForm(FlaskForm):
    price = StringField(
        _l("Price (yuan)"), filters=[strip_text], validators=[DataRequired(), Length(max=20)]
    )
    proposal = TextAreaField(
        _l("Technical proposal"),
        validators=[DataRequired(), Length(max=50_000)],
        description=_l("Markdown. Sealed with the price: nobody can read it before the opening."),
    )
    attachments = MultipleFileField(_l("Attachments (PDF, optional)"))
    conditions_confirmed = BooleanField(_l("We meet the further conditions"))
    submit = SubmitField(_l("Seal and submit the bid"))


class DeclareForm(FlaskForm):
    statement = TextAreaField(
        _l("Your statement"), filters=[strip_text], validators=[DataRequired(), Length(max=2000)]
    )
    declare = SubmitField(_l("Declare and stay on the panel"))
    recuse = SubmitField(_l("Declare and recuse myself"))


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Reason"), filters=[strip_text], validators=[DataRequired(), Length(max=500)]
    )
    submit = SubmitField(_l("Disqualify"))


class AwardForm(FlaskForm):
    bid_id = SelectField(_l("Winning bid"), coerce=int, validators=[DataRequired()])
    justification = TextAreaField(
        _l("Justification"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Publish the award"))


class ChallengeForm(FlaskForm):
    text = TextAreaField(
        _l("Your challenge"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("File the challenge"))


class MessageForm(FlaskForm):
    text = TextAreaField(
        _l("Message"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Send"))


class DecideForm(FlaskForm):
    outcome = SelectField(
        _l("Decision"),
        choices=[("dismissed", _l("Dismiss")), ("upheld", _l("Uphold"))],
        validators=[DataRequired()],
    )
    reason = TextAreaField(
        _l("Reason (public)"), filters=[strip_text], validators=[DataRequired(), Length(max=5000)]
    )
    submit = SubmitField(_l("Decide"))


class MilestoneForm(Form):
    title = StringField(
        _l("Milestone"), filters=[strip_text], validators=[Optional(), Length(max=120)]
    )
    due = DateField(_l("Due on"), validators=[Optional()])


class ContractForm(FlaskForm):
    milestones = FieldList(
        FormField(MilestoneForm), min_entries=MILESTONE_ROWS, max_entries=MILESTONE_ROWS
    )
    submit = SubmitField(_l("Sign the contract"))


# -- Helpers ----------------------------------------------------------------------------------


@bp.record_once
def _register(state) -> None:
    state.app.jinja_env.filters["tender_category"] = lambda v: str(CATEGORY_LABELS.get(str(v), v))
    state.app.jinja_env.globals["tender_flag_label"] = lambda code: str(
        tenders.FLAGS.get(code, code)
    )


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
    if tenders.refresh(tender):  # what time decided: bidding opens, an award becomes final
        db.session.commit()
    return tender


def _actor() -> Actor | None:
    return acting.current_actor()


def _user() -> User | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


def _back(tender: Tender, anchor: str = "") -> Response:
    return redirect(url_for(".detail", tender_id=tender.id) + (f"#{anchor}" if anchor else ""))


def _run(fn, success: str, tender: Tender, anchor: str = "") -> Response:
    try:
        fn()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(success, "success")
    return _back(tender, anchor)


def _can_see_contents(actor: Actor | None, user: User | None, tender: Tender, bid: Bid) -> bool:
    """Opened bids' proposals: the buyer, the panel and the bidder itself."""
    if tender.opening_record is None or bid.price is None:
        return False
    return (
        tenders.is_buyer(actor, tender)
        or tenders.panelist_for(user, tender) is not None
        or (actor is not None and actor.stakeholder.id == bid.bidder_id)
    )


def _published_award(tender: Tender) -> bool:
    return tender.awarded_at is not None


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
    actor = _actor()
    return render_template(
        "tenders/index.html",
        rows=rows,
        can_create=actor is not None and tenders.can_buy(actor.stakeholder),
    )


def _tender_form() -> TenderForm:
    form = TenderForm()
    form.community_id.choices = [
        SelectChoice(c.id, c.name)
        for c in db.session.scalars(sa.select(Community).order_by(Community.id))
    ]
    form.category.choices = [SelectChoice(k, v) for k, v in CATEGORY_LABELS.items()]
    return form


@bp.route("/tenders/new", methods=["GET", "POST"])
@login_required
def create():
    actor = acting.require_actor()
    if not tenders.can_buy(actor.stakeholder):
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
        data = {
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
        try:
            tender = tenders.create_tender(actor, data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            db.session.commit()
            flash(
                _PUBLISHED() if form.publish.data else _("The draft was saved."),
                "success",
            )
            return redirect(url_for(".detail", tender_id=tender.id))
    return render_template("tenders/form.html", form=form), form_status(form)


@bp.get("/tenders/<int:tender_id>")
def detail(tender_id: int):
    tender = _load(tender_id)
    actor, user = _actor(), _user()
    proposal = tender.proposal
    status = proposal.status
    buyer = tenders.is_buyer(actor, tender)
    seat = tenders.panelist_for(user, tender)
    seats = tenders.panelists(tender)
    users = {
        u.id: u
        for u in db.session.scalars(
            sa.select(User).where(User.id.in_([s.user_id for s in seats] or [0]))
        )
    }
    opened = tenders.opened_bids(tender)
    evaluation = tenders.evaluate(tender) if opened else None
    my_bid = None
    eligible = None
    if actor is not None:
        my_bid = tenders.active_bid(tender, actor.stakeholder.id)
        try:
            tenders.check_bidder(actor.stakeholder, tender)
            eligible = True
        except DomainError:
            eligible = False
    all_declarations = tenders.declarations(tender) if opened else []
    see_evaluation = buyer or seat is not None or _published_award(tender)
    challenge_rows = tenders.challenges(tender)
    winner = next((b for b in opened if b.id == tender.winner_bid_id), None)
    award_form = None
    if buyer and status in ("evaluated", "standstill") and evaluation:
        award_form = AwardForm()
        award_form.bid_id.choices = [
            SelectChoice(r.bid.id, f"{r.rank}. {r.bid.bidder.name} — {r.bid.price}")
            for r in evaluation.ranking
        ]
    return render_template(
        "tenders/detail.html",
        tender=tender,
        proposal=proposal,
        status=status,
        buyer=buyer,
        seat=seat,
        seats=seats,
        users=users,
        enquiries=tenders.enquiries(tender),
        bid_count=tenders.bid_count(tender),
        opened=opened,
        evaluation=evaluation,
        my_bid=my_bid,
        eligible=eligible,
        declarations=all_declarations,
        my_declarations=[d for d in all_declarations if user and d.user_id == user.id],
        see_evaluation=see_evaluation,
        see_panel=buyer or seat is not None or _published_award(tender),
        challenges=challenge_rows,
        winner=winner,
        standstill_ends_at=tenders.standstill_ends_at(tender),
        milestones=tenders.milestones(tender),
        quality=tenders.quality_criteria(tender),
        price_weight=tenders.price_weight(tender),
        pending_shares=tenders.shares_pending(tender),
        question_form=QuestionForm(),
        answer_form=AnswerForm(),
        declare_form=DeclareForm(),
        reason_form=ReasonForm(),
        award_form=award_form,
        challenge_form=ChallengeForm(),
        actor=actor,
        now=tenders._now(),
        can_challenge=actor is not None
        and status == "standstill"
        and tender.award_final_at is None
        and actor.stakeholder.id in {b.bidder_id for b in opened},
        tie_labels=TIE_LABELS,
        can_read=lambda c: tenders.can_read_challenge(actor, tender, c),
        can_see_contents=lambda b: _can_see_contents(actor, user, tender, b),
    )


@bp.post("/tenders/<int:tender_id>/publish")
@login_required
def publish(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    return _run(
        lambda: tenders.publish_tender(actor, tender),
        _PUBLISHED(),
        tender,
    )


@bp.route("/tenders/<int:tender_id>/share", methods=["GET", "POST"])
@login_required
def share(tender_id: int):
    tender = _load(tender_id)
    seat = tenders.panelist_for(_user(), tender)
    require(seat is not None, 404)
    form = FlaskForm()
    code = None
    if form.validate_on_submit():
        try:
            code = tenders.take_share(_user(), tender)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".share", tender_id=tender.id))
        db.session.commit()
    rv = make_response(
        render_template("tenders/share.html", tender=tender, seat=seat, code=code, form=form)
    )
    rv.headers["Cache-Control"] = "no-store"
    return rv


@bp.post("/tenders/<int:tender_id>/open-bidding")
@login_required
def open_bidding(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    return _run(lambda: tenders.open_bidding(actor, tender), _("Bidding is open."), tender)


@bp.post("/tenders/<int:tender_id>/questions")
@login_required
def ask(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    form = QuestionForm()
    if not form.validate_on_submit():
        flash(_("Write your question."), "error")
        return _back(tender, "enquiries")
    return _run(
        lambda: tenders.ask_question(actor, tender, form.question.data),
        _("Your question was published anonymously; the buyer will answer it publicly."),
        tender,
        "enquiries",
    )


@bp.post("/tenders/<int:tender_id>/questions/<int:enquiry_id>/answer")
@login_required
def answer(tender_id: int, enquiry_id: int):
    tender = _load(tender_id)
    enquiry = db.get_or_404(Enquiry, enquiry_id)
    actor = acting.require_actor()
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Write the answer."), "error")
        return _back(tender, "enquiries")
    return _run(
        lambda: tenders.answer_question(actor, tender, enquiry, form.answer.data),
        _("The answer was published."),
        tender,
        "enquiries",
    )


@bp.route("/tenders/<int:tender_id>/bid", methods=["GET", "POST"])
@login_required
def bid(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    form = BidForm()
    refused = False
    if form.validate_on_submit():
        files = [
            tenders.Upload(f.filename or "", f.read())
            for f in request.files.getlist(form.attachments.name)
            if f and (f.filename or "")
        ]
        try:
            row = tenders.submit_bid(
                actor,
                tender,
                form.price.data,
                form.proposal.data,
                files,
                conditions_confirmed=form.conditions_confirmed.data,
            )
        except DomainError as exc:
            refused = True
            form_error(form, exc)
        else:
            db.session.commit()
            flash(
                _("Your bid was sealed. Keep the receipt: %(receipt)s", receipt=row.receipt),
                "success",
            )
            return redirect(url_for(".bid", tender_id=tender.id))
    versions = tenders.bid_versions(tender, actor.stakeholder.id)
    status = 422 if refused or form.errors else 200
    return render_template(
        "tenders/bid.html",
        tender=tender,
        form=form,
        versions=versions,
        actor=actor,
        now=tenders._now(),
        max_mb=tenders._max_attachment_bytes() // (1024 * 1024),
    ), status


@bp.get("/tenders/<int:tender_id>/bids/<int:bid_id>")
@login_required
def bid_detail(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    row = db.session.get(Bid, bid_id)
    actor, user = _actor(), _user()
    own = row is not None and actor is not None and row.bidder_id == actor.stakeholder.id
    if (
        row is None
        or row.tender_id != tender.id
        or not (own or _can_see_contents(actor, user, tender, row))
    ):
        abort(404)
    entry = next(
        (e for e in (tender.opening_record or {}).get("bids", []) if e["bid_id"] == row.id), None
    )
    return render_template(
        "tenders/bid_detail.html",
        tender=tender,
        row=row,
        entry=entry,
        show=_can_see_contents(actor, user, tender, row),
    )


@bp.post("/tenders/<int:tender_id>/bids/<int:bid_id>/withdraw")
@login_required
def withdraw(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    row = db.session.get(Bid, bid_id)
    if row is None or row.tender_id != tender.id or row.bidder_id != actor.stakeholder.id:
        abort(404)
    try:
        tenders.withdraw_bid(actor, tender, row)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Your bid was withdrawn. You may submit a new one until the deadline."), "success")
    return redirect(url_for(".bid", tender_id=tender.id))


@bp.get("/tenders/<int:tender_id>/attachments/<int:attachment_id>")
@login_required
def attachment(tender_id: int, attachment_id: int):
    tender = _load(tender_id)
    row = db.session.get(Attachment, attachment_id)
    actor, user = _actor(), _user()
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
        or not _can_see_contents(actor, user, tender, bid_row)
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
    require(tenders.is_buyer(actor, tender))
    form = FlaskForm()
    seats = tenders.panelists(tender)
    error = None
    if form.validate_on_submit():
        codes = request.form.getlist("codes")[: len(seats)]
        try:
            tenders.open_bids(actor, tender, codes)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash(_("The bids were opened and the opening record is published."), "success")
            return _back(tender, "opening")
    users = {
        u.id: u
        for u in db.session.scalars(
            sa.select(User).where(User.id.in_([s.user_id for s in seats] or [0]))
        )
    }
    return render_template(
        "tenders/open.html",
        tender=tender,
        form=form,
        seats=seats,
        users=users,
        error=error,
        bid_count=tenders.bid_count(tender),
        now=tenders._now(),
    ), (422 if error else 200)


@bp.post("/tenders/<int:tender_id>/declare")
@login_required
def declare(tender_id: int):
    tender = _load(tender_id)
    form = DeclareForm()
    if not form.validate_on_submit():
        flash(_("Write your statement."), "error")
        return _back(tender, "conflicts")
    recuse = bool(form.recuse.data)
    return _run(
        lambda: tenders.declare_conflicts(_user(), tender, form.statement.data, recuse=recuse),
        _("You recused yourself from this evaluation.")
        if recuse
        else _("Your declaration was recorded."),
        tender,
        "conflicts",
    )


@bp.route("/tenders/<int:tender_id>/score", methods=["GET", "POST"])
@login_required
def score(tender_id: int):
    tender = _load(tender_id)
    user = _user()
    seat = tenders.panelist_for(user, tender)
    require(seat is not None)
    form = FlaskForm()
    bids = [b for b in tenders.opened_bids(tender) if tenders.is_qualified(b)]
    criteria = tenders.quality_criteria(tender)
    error = None
    values: dict[str, str] = {}
    if form.validate_on_submit():
        entries: dict[tuple[int, str], tuple[Any, str]] = {}
        for b in bids:
            for c in criteria:
                s = (request.form.get(f"score-{b.id}-{c['key']}") or "").strip()
                j = request.form.get(f"why-{b.id}-{c['key']}") or ""
                values[f"score-{b.id}-{c['key']}"], values[f"why-{b.id}-{c['key']}"] = s, j
                if s or j.strip():
                    entries[(b.id, c["key"])] = (s, j)
        try:
            tenders.score_bids(user, tender, entries)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash(_("Your scores were saved."), "success")
            return _back(tender, "evaluation")
    else:
        for s in db.session.scalars(
            sa.select(Score).where(Score.tender_id == tender.id, Score.user_id == user.id)
        ):
            values[f"score-{s.bid_id}-{s.criterion}"] = str(s.score)
            values[f"why-{s.bid_id}-{s.criterion}"] = s.justification
    return render_template(
        "tenders/score.html",
        tender=tender,
        form=form,
        bids=bids,
        criteria=criteria,
        values=values,
        error=error,
        seat=seat,
    ), (422 if error else 200)


@bp.post("/tenders/<int:tender_id>/bids/<int:bid_id>/disqualify")
@login_required
def disqualify(tender_id: int, bid_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    row = db.session.get(Bid, bid_id)
    form = ReasonForm()
    if row is None or row.tender_id != tender.id:
        abort(404)
    if not form.validate_on_submit():
        flash(_("Give the reason for the disqualification."), "error")
        return _back(tender, "evaluation")
    return _run(
        lambda: tenders.disqualify_bid(actor, tender, row, form.reason.data),
        _("The bid was disqualified."),
        tender,
        "evaluation",
    )


@bp.post("/tenders/<int:tender_id>/complete")
@login_required
def complete(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    return _run(
        lambda: tenders.complete_evaluation(actor, tender),
        _("The evaluation is complete: the ranking is published."),
        tender,
        "evaluation",
    )


@bp.post("/tenders/<int:tender_id>/award")
@login_required
def award(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    form = AwardForm()
    form.bid_id.choices = [SelectChoice(b.id, str(b.id)) for b in tenders.opened_bids(tender)]
    if not form.validate_on_submit():
        flash(_("Choose the winning bid and give the justification."), "error")
        return _back(tender, "award")
    row = db.session.get(Bid, form.bid_id.data)
    return _run(
        lambda: tenders.award_tender(actor, tender, row, form.justification.data),
        _("The award is published. The standstill period has started."),
        tender,
        "award",
    )


@bp.post("/tenders/<int:tender_id>/challenges")
@login_required
def challenge(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    form = ChallengeForm()
    if not form.validate_on_submit():
        flash(_("Explain the challenge."), "error")
        return _back(tender, "challenges")
    try:
        row = tenders.file_challenge(actor, tender, form.text.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(tender, "challenges")
    db.session.commit()
    flash(_("Your challenge was filed. The buyer will answer in its thread."), "success")
    return redirect(url_for(".challenge_thread", tender_id=tender.id, challenge_id=row.id))


def _challenge(tender: Tender, challenge_id: int) -> Challenge:
    row = db.session.get(Challenge, challenge_id)
    if (
        row is None
        or row.tender_id != tender.id
        or not tenders.can_read_challenge(_actor(), tender, row)
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
        message_form=MessageForm(),
        decide_form=DecideForm(),
        buyer=tenders.is_buyer(_actor(), tender),
    )


@bp.post("/tenders/<int:tender_id>/challenges/<int:challenge_id>/messages")
@login_required
def challenge_message(tender_id: int, challenge_id: int):
    tender = _load(tender_id)
    row = _challenge(tender, challenge_id)
    actor = acting.require_actor()
    form = MessageForm()
    target = url_for(".challenge_thread", tender_id=tender.id, challenge_id=row.id)
    if not form.validate_on_submit():
        flash(_("Write a message."), "error")
        return redirect(target)
    try:
        tenders.post_challenge_message(actor, tender, row, form.text.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Your message was sent."), "success")
    return redirect(target)


@bp.post("/tenders/<int:tender_id>/challenges/<int:challenge_id>/decide")
@login_required
def challenge_decide(tender_id: int, challenge_id: int):
    tender = _load(tender_id)
    row = _challenge(tender, challenge_id)
    actor = acting.require_actor()
    form = DecideForm()
    target = url_for(".challenge_thread", tender_id=tender.id, challenge_id=row.id)
    if not form.validate_on_submit():
        flash(_("Choose a decision and give the reason."), "error")
        return redirect(target)
    try:
        tenders.decide_challenge(actor, tender, row, form.outcome.data, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("The decision is published."), "success")
    return redirect(target)


@bp.route("/tenders/<int:tender_id>/contract", methods=["GET", "POST"])
@login_required
def contract(tender_id: int):
    tender = _load(tender_id)
    actor = acting.require_actor()
    require(tenders.is_buyer(actor, tender))
    form = ContractForm()
    if form.validate_on_submit():
        rows = [
            (
                m.form.title.data,
                datetime.combine(m.form.due.data, datetime.min.time(), tzinfo=_tz()).astimezone(UTC)
                if m.form.due.data
                else None,
            )
            for m in form.milestones
            if (m.form.title.data or "").strip()
        ]
        try:
            tenders.sign_contract(actor, tender, rows)
        except DomainError as exc:
            form_error(form, exc)
        else:
            db.session.commit()
            flash(_("The contract is signed; implementation has started."), "success")
            return _back(tender, "milestones")
    return render_template("tenders/contract.html", tender=tender, form=form), form_status(form)


@bp.get("/tenders/<int:tender_id>/ocds.json")
def ocds(tender_id: int):
    tender = _load(tender_id)
    rv = jsonify(open_data.release_package(tender))
    rv.headers["Content-Disposition"] = f'inline; filename="tender-{tender.id}-ocds.json"'
    return rv


# -- The tender's part on the proposal page ----------------------------------------------------


def proposal_part(proposal, viewer: Viewer) -> dict[str, Any] | None:
    if proposal.kind != "tender":
        return None
    tender = tenders.tender_for(proposal)
    if tender is None:
        return None
    return {"tender": tender, "bid_count": tenders.bid_count(tender)}

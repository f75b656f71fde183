"""The ``tracking`` blueprint and what its plan and request pages share.

The plan's review and the request's chain of custody are sections of the proposal page
(`add_detail_part`); their actions post here and run one use case through
`coord.web.run`, which commits once and redirects back to the section with a message
(PRG). A proposal the viewer may not see is a 404; an action they may not take is a 403
(or a message on the page when the service refuses).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, abort, request, url_for
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from coord import uploads
from coord.db import db
from coord.errors import DomainError
from coord.i18n import AUDIT_LABELS
from coord.permissions import require
from coord.web import run
from proposals import lifecycle
from proposals import permissions as perm
from proposals.models import Attachment, Proposal
from proposals.tracking import plans, requests
from proposals.tracking import review_route as rr
from proposals.tracking.deadlines import workdays_between

T = TypeVar("T")

bp = Blueprint("tracking", __name__)

AUDIT_LABELS.update(
    {
        "request.submit": _l("filed a request"),
        "request.assign": _l("assigned a request to a handler"),
        "request.transfer": _l("transferred a request to another handler"),
        "request.progress": _l("posted progress on a request"),
        "request.rate": _l("rated the handling of a request"),
        "plan.set_route": _l("set the review route of a plan"),
        "plan.decide_step": _l("decided a review step of a plan"),
        "plan.sign_off": _l("signed off a plan"),
        "plan.attach": _l("attached a file to a plan"),
        "milestone.add": _l("added a milestone to a plan"),
        "milestone.update": _l("reported progress on a milestone"),
    }
)
for _action, _label in {
    "proposal.submit": _l("submitted a plan for approval"),
    "proposal.start_review": _l("started the review of a plan"),
    "proposal.request_changes": _l("asked for changes to a plan"),
    "proposal.resubmit": _l("resubmitted a revised plan"),
    "proposal.approve": _l("approved a plan"),
    "proposal.implement": _l("started implementing"),
    "proposal.accept": _l("accepted a request"),
    "proposal.start": _l("started work on a request"),
    "proposal.resolve": _l("marked a request resolved"),
    "proposal.confirm": _l("confirmed a resolution"),
    "proposal.reopen": _l("reopened a request"),
    "proposal.merge": _l("merged a duplicate request"),
}.items():
    AUDIT_LABELS.setdefault(_action, _label)


@bp.record_once
def _register_filters(state) -> None:
    filters = state.app.jinja_env.filters
    filters["request_category"] = lambda c: _(requests.CATEGORIES.get(c, c or ""))
    filters["decision_label"] = lambda d: _(rr.DECISION_LABELS.get(d, d))
    filters["milestone_label"] = lambda s: _(plans.MILESTONE_STATES.get(s, s or ""))
    filters["local_date"] = _local_date
    filters["filesize"] = _filesize
    filters["workdays"] = _workdays
    filters["workdays_late"] = _workdays_late


def _workdays_late(due: datetime, done: datetime) -> str:
    """Format the working days by which `done` came after `due`."""
    return _workdays(workdays_between(due, done))


def _workdays(days: float) -> str:
    """Format a number of working days with at most one decimal (never below 0.1)."""
    return format_decimal(max(round(days, 1), 0.1), "#,##0.#")


def _filesize(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:,.0f} KB"


def _local_date(value: Any) -> str:
    return format_date(value, "yyyy-MM-dd") if value else ""


# -- Helpers of the views ----------------------------------------------------------------------


def page_url(proposal_id: int, anchor: str) -> str:
    """Return the URL of a section of the proposal page."""
    return url_for("proposals.detail", proposal_id=proposal_id, _anchor=anchor)


def uploaded_files(name: str) -> list[requests.Upload]:
    """Read the uploaded files of a field (empty file inputs are skipped)."""
    return [
        requests.Upload(f.filename or "", f.read())
        for f in request.files.getlist(name)
        if f and f.filename
    ]


def check_form(form: FlaskForm, ok: bool = True, message: str | None = None) -> None:
    """Refuse a posted form that did not validate (or is not `ok`), for `coord.web.run`.

    The refusal's message is `message`, else the form's errors joined, else a request to
    check the form; `run` flashes it and goes back to the page.
    """
    if form.validate_on_submit() and ok:
        return
    errors = [m for field in form.errors.values() for m in field if isinstance(m, str)]
    raise DomainError(message or " ".join(errors) or _("Please check the form."))


def run_form(
    form: FlaskForm,
    action: Callable[[], object],
    success: str,
    target: str,
    *,
    ok: bool = True,
    message: str | None = None,
) -> Response:
    """Run the use case of one of a page section's small forms through `coord.web.run`.

    A form that does not validate (or is not `ok`) is refused like the use case would be
    (`check_form`): the message is flashed and the user goes back to `target`.
    """

    def checked() -> object:
        check_form(form, ok, message)
        return action()

    return run(checked, success, target)


def refuse_unless(condition: Any, message: str) -> None:
    """Refuse with `message` unless `condition` holds (a choice the form leaves optional)."""
    if not condition:
        raise DomainError(message)


def on_field(
    field: str, action: Callable[[], T], *, instead_of: str | None = None
) -> Callable[[], T]:
    """Wrap a use case so that its refusals on `instead_of` (None: on no field) show on the
    form's `field` (e.g. uploads refused by coord.uploads name the field ``file``)."""

    def rv() -> T:
        try:
            return action()
        except DomainError as exc:
            if exc.field == instead_of:
                exc.field = field
            raise

    return rv


def state_after(kind: str, status: str, action: str) -> str:
    """Return the label of the state that `action` leads a proposal to from `status`."""
    label = next(
        (
            lifecycle.STATE_LABELS.get(t.to_state, "")
            for t in lifecycle.TRANSITIONS
            if (t.kind, t.from_state, t.action) == (kind, status, action)
        ),
        "",
    )
    return _(label) if label else ""


# -- Files -------------------------------------------------------------------------------------


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id: int):
    """Serve an attachment as a download (never inline), to whoever may see its proposal."""
    row = db.get_or_404(Attachment, attachment_id)
    proposal = db.get_or_404(Proposal, row.proposal_id)
    require(not row.is_sealed and perm.can_view(current_user, proposal), 404)
    try:
        return uploads.download(row.storage_key, row.filename, row.content_type)
    except FileNotFoundError:
        abort(404)

"""Small helpers shared by the views of every package."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter

from coord.db import db
from coord.errors import DomainError

T = TypeVar("T")

#: Ids beyond a 32-bit signed integer do not exist (and would overflow the database driver).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """The `int` URL converter, bounded so that huge numbers are a 404, not a driver error."""

    def __init__(
        self,
        url_map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(
            url_map,
            fixed_digits=fixed_digits,
            min=min,
            max=MAX_ID if max is None else max,
            signed=signed,
        )


def int_arg(name: str) -> int | None:
    """Read a positive id from the query string; None when absent or malformed."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ID else None


def run(
    action: Callable[[], T],
    success: str | Callable[[T], str] | None,
    target: str | Callable[[T], str | ResponseReturnValue],
    *,
    form: FlaskForm | None = None,
    back: str | None = None,
    abort_forbidden: bool = True,
) -> ResponseReturnValue | None:
    """Run one use case of a view and commit once.

    When `action` succeeds: commit, flash `success` (unless None) and redirect to `target`;
    each may be a function of the action's result, and a `target` function may answer with a
    page instead of a URL (when the result is shown once in the answer to the POST itself,
    like a share code or revealed personal data). When it raises a `DomainError`: roll back;
    a permission refusal (403) aborts with that message; with a `form`, the refusal is shown
    on its field (or as an error of the whole form) and None is returned, so that the view
    re-renders the form with the user's input (`form_status` then answers 422); without a
    form, it is flashed and the user goes to `back` (by default `target`). With
    `abort_forbidden=False`, a permission refusal is shown like any other (for a button
    whose use case refuses what the page merely does not offer, e.g. supporting one's own
    amendment).
    """
    try:
        rv = action()
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403 and abort_forbidden:
            abort(403, exc.message)
        if form is not None:
            _show_on_form(form, exc)
            return None
        flash(exc.message, "error")
        return redirect(back or (target if isinstance(target, str) else request.url))
    db.session.commit()
    if success:
        flash(success(rv) if callable(success) else success, "success")
    answer = target(rv) if callable(target) else target
    return redirect(answer) if isinstance(answer, str) else answer


def _show_on_form(form: FlaskForm, error: DomainError) -> None:
    form.refusal_status = error.status
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
        flash(error.message, "error")


def form_status(form: FlaskForm, *, refusal_status: bool = False) -> int:
    """Answer 422 when a submitted form is re-rendered with errors, else 200.

    With `refusal_status`, a form that `run` re-renders with a refusal answers with the
    refusal's own status when it is not a plain 400 (e.g. 409 for a conflict).
    """
    status = getattr(form, "refusal_status", 400)
    if refusal_status and status != 400:
        return status
    return 422 if form.errors else 200


def confirm(
    form: FlaskForm,
    action: Callable[[], T],
    success: str | Callable[[T], str] | None,
    target: str,
    *,
    title: str,
    consequences: list[str],
) -> ResponseReturnValue:
    """Ask before an action that cannot be undone: a GET renders the confirmation page (and
    never writes), a valid POST runs the action through `run`; errors keep the user's text."""
    if form.validate_on_submit():
        done = run(action, success, target, form=form)
        if done:
            return done
    page = render_template(
        "confirm.html", form=form, title=title, consequences=consequences, back=target
    )
    return page, form_status(form, refusal_status=True)

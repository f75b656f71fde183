"""Small helpers shared by the views of every package."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from coord.db import db
from coord.errors import DomainError


def form_error(form: FlaskForm, error: DomainError) -> None:
    """Roll back and show a refused use case on its form field (or as a flash message)."""
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def act(action: Callable[[], object], success: str, target: str) -> Response:
    """Run a one-button use case: commit and flash `success`, or roll back and flash why not."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(target)


def form_status(form: FlaskForm) -> int:
    """Answer 422 when a submitted form is re-rendered with errors, else 200."""
    return 422 if form.errors else 200

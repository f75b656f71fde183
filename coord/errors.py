"""Domain errors and the HTML/JSON error pages."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from coord.db import db


class DomainError(Exception):
    """A use case refused: the message is shown to the user (translatable), status is 4xx."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status


class NotAllowed(DomainError):
    """The acting user may not do this."""

    status = 403


class Conflict(DomainError):
    """The request conflicts with the current state (e.g. a duplicate)."""

    status = 409


_TITLES = {
    400: lazy_gettext("Bad request"),
    401: lazy_gettext("Sign-in required"),
    403: lazy_gettext("Forbidden"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("Method not allowed"),
    409: lazy_gettext("Conflict"),
    413: lazy_gettext("Upload too large"),
    429: lazy_gettext("Too many requests"),
    500: lazy_gettext("Server error"),
}

_MESSAGES = {
    400: lazy_gettext("The request could not be understood."),
    401: lazy_gettext("Please sign in first."),
    403: lazy_gettext("You are not allowed to do this."),
    404: lazy_gettext("There is nothing at this address."),
    405: lazy_gettext("This address does not accept this kind of request."),
    409: lazy_gettext("This conflicts with the current state."),
    413: lazy_gettext("The upload is larger than allowed."),
    429: lazy_gettext("Too many attempts. Please wait a moment and try again."),
    500: lazy_gettext("Something went wrong on our side. It has been logged."),
}


def wants_json() -> bool:
    """Tell whether the current request should be answered with JSON."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(
    status: int, message: str | None = None, field: str | None = None
) -> tuple[Response | str, int]:
    """Render an error as JSON for API callers (naming the refused `field`, if any) and as
    a localised page for browsers."""
    text = str(message or _MESSAGES.get(status, _MESSAGES[400]))
    if wants_json():
        error: dict = {"status": status, "message": text}
        if field:
            error["fields"] = {field: [text]}
        return jsonify(error=error), status
    title = str(_TITLES.get(status, _TITLES[400]))
    return render_template("error.html", status=status, title=title, message=text), status


def register_error_handlers(app: Flask) -> None:
    """Install handlers so that every error has a clear message and never leaks internals."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        db.session.rollback()  # nothing half-written survives a refused use case
        return error_response(exc.status, exc.message, exc.field)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(
            400, _("The form expired or was not sent from this site. Please try again.")
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        custom = exc.description if exc.description != type(exc).description else None
        if exc.code == 429:
            custom = None  # the limiter's own text ("5 per 1 minute") is not for users
        return error_response(exc.code or 500, custom)

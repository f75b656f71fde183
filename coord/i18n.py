"""Locale and time zone selection, and formatting helpers for templates."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, has_request_context, session
from flask_babel import Babel, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user


def select_locale() -> str:
    """Pick the session's language, then the user's, then the default (Chinese)."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _datetime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    return format_datetime(value, fmt) if value else ""


KIND_LABELS = {
    "government": _l("Government"),
    "business": _l("Business"),
    "social_organization": _l("Social organisation"),
    "resident": _l("Resident"),
}

FUNCTION_LABELS = {
    "street_office": _l("Street office"),
    "department": _l("Department"),
    "residents_committee": _l("Residents committee"),
    "owners_committee": _l("Owners committee"),
    "property_manager": _l("Property manager"),
    "volunteer_association": _l("Volunteer association"),
    "contractor": _l("Contractor"),
    "shop": _l("Shop"),
    "other": _l("Other"),
}

ROLE_LABELS = {"admin": _l("Admin"), "member": _l("Member"), "delegate": _l("Delegate")}

#: Labels of audit actions on the supervision page; packages add their own.
AUDIT_LABELS = {
    "organisation.create": _l("registered an organisation"),
    "organisation.confirm": _l("confirmed an organisation"),
    "membership.accept": _l("accepted a member"),
    "membership.set_role": _l("changed a member's role"),
    "residence.verify": _l("verified a resident"),
    "residence.reject": _l("rejected a residence claim"),
    "user.disable": _l("disabled an account"),
    "user.enable": _l("re-enabled an account"),
    "user.create_admin": _l("created an administrator"),
}


def _label(table: dict, value: object) -> str:
    key = getattr(value, "value", value)
    return str(table.get(key, key or ""))


def init_app(app: Flask, babel: Babel) -> None:
    """Bind Flask-Babel and register the template helpers."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["kind_label"] = lambda v: _label(KIND_LABELS, v)
    app.jinja_env.filters["function_label"] = lambda v: _label(FUNCTION_LABELS, v)
    app.jinja_env.filters["role_label"] = lambda v: _label(ROLE_LABELS, v)
    app.jinja_env.filters["action_label"] = lambda v: _label(AUDIT_LABELS, v)

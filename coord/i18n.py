"""Locale and time zone selection, and formatting helpers for templates."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import flask_babel
from flask import Flask, current_app, g, has_app_context, has_request_context, session
from flask_babel import Babel, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup


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


def _datetime(value: datetime | None, fmt: str | None = None) -> str:
    """Show a UTC time in the configured zone; the default numeric form needs no locale data."""
    if not value:
        return ""
    if fmt is not None:
        return format_datetime(value, fmt)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


@lru_cache(maxsize=8192)
def _lookup(locale: str, msgid: str) -> str:
    return flask_babel.get_translations().ugettext(msgid)


@lru_cache(maxsize=8192)
def _lookup_plural(locale: str, singular: str, plural: str, n: int) -> str:
    return flask_babel.get_translations().ungettext(singular, plural, n)


def _locale_key() -> str:
    if not has_app_context():
        return ""
    if "_locale_key" not in g:
        g._locale_key = str(get_locale())
    return g._locale_key


def cached_gettext(msgid: str) -> str:
    """Translate like gettext, remembering translations per locale (catalogs do not change
    while the app runs): templates call it thousands of times on a long page."""
    return _lookup(_locale_key(), msgid)


def cached_ngettext(singular: str, plural: str, n: int) -> str:
    """Plural form of `cached_gettext`."""
    return _lookup_plural(_locale_key(), singular, plural, n)


def N_(msgid: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return msgid


KIND_MSGIDS = {
    "government": N_("Government"),
    "business": N_("Business"),
    "social_organization": N_("Social organisation"),
    "resident": N_("Resident"),
}

FUNCTION_MSGIDS = {
    "street_office": N_("Street office"),
    "department": N_("Department"),
    "residents_committee": N_("Residents committee"),
    "owners_committee": N_("Owners committee"),
    "property_manager": N_("Property manager"),
    "volunteer_association": N_("Volunteer association"),
    "contractor": N_("Contractor"),
    "shop": N_("Shop"),
    "other": N_("Other"),
}

ROLE_MSGIDS = {"admin": N_("Admin"), "member": N_("Member"), "delegate": N_("Delegate")}

#: The same labels, lazily translated, for forms and Python code.
KIND_LABELS = {key: _l(msgid) for key, msgid in KIND_MSGIDS.items()}
FUNCTION_LABELS = {key: _l(msgid) for key, msgid in FUNCTION_MSGIDS.items()}
ROLE_LABELS = {key: _l(msgid) for key, msgid in ROLE_MSGIDS.items()}

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
    """Translate the label of an enum value or key (msgids: cached; lazy strings: as they are)."""
    key = getattr(value, "value", value)
    label = table.get(key)
    if label is None:
        return str(key or "")
    return cached_gettext(label) if isinstance(label, str) else str(label)


def paren(text: object) -> Markup:
    """Wrap `text` in the locale's parentheses: full-width ones in Chinese.

    `Markup.format` escapes `text` (unless it is already Markup), so the result is safe.
    """
    if str(get_locale() or "").startswith("zh"):
        return Markup("（{}）").format(text)
    return Markup("({})").format(text)


def init_app(app: Flask, babel: Babel) -> None:
    """Bind Flask-Babel and register the template helpers."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(cached_gettext, cached_ngettext, newstyle=True)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["paren"] = paren
    app.jinja_env.filters["kind_label"] = lambda v: _label(KIND_MSGIDS, v)
    app.jinja_env.filters["function_label"] = lambda v: _label(FUNCTION_MSGIDS, v)
    app.jinja_env.filters["role_label"] = lambda v: _label(ROLE_MSGIDS, v)
    app.jinja_env.filters["action_label"] = lambda v: _label(AUDIT_LABELS, v)

"""The notification centre (blueprint ``notifications``): list, mark read, settings, and
the unread badge in the header."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from coord import notifications
from coord.db import db
from coord.forms import SettingsForm
from coord.models import Notification
from coord.security import is_safe_next
from coord.web import form_status, run

log = logging.getLogger(__name__)

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

PER_PAGE = 30


def _settings_form() -> SettingsForm:
    form = SettingsForm()
    form.muted.choices = [
        SelectChoice(kind, _(label)) for kind, label in notifications.KINDS.items()
    ]
    if request.method == "GET":
        settings = notifications.settings_of(current_user)
        form.email.data = settings.email
        form.delivery.data = "digest" if settings.digest else "single"
        form.muted.data = sorted(settings.muted)
    return form


@bp.get("/")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    query = sa.select(Notification).where(Notification.user_id == current_user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    page = db.paginate(
        query.order_by(Notification.id.desc()), per_page=PER_PAGE, max_per_page=PER_PAGE
    )
    return render_template(
        "notifications/index.html",
        page=page,
        items=list(zip(page.items, notifications.texts_of(page.items), strict=True)),
        unread_only=unread_only,
    )


def _back() -> str:
    target = request.form.get("next")
    return target if is_safe_next(target) else url_for(".index")


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    notifications.mark_read(current_user, notification)
    db.session.commit()
    if request.form.get("open") == "1" and is_safe_next(notification.url):
        return redirect(notification.url)
    return redirect(_back())


@bp.post("/read-all")
@login_required
def read_all():
    count = notifications.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(_("All notifications are marked as read."), "success")
    return redirect(_back())


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = _settings_form()
    if form.validate_on_submit():
        rv = run(
            lambda: notifications.save_settings(
                current_user,
                email=form.email.data,
                digest=form.delivery.data == "digest",
                muted=form.muted.data or [],
                email_address=form.email_address.data or None,
                remove_email=form.remove_email.data,
            ),
            _("Your notification settings were saved."),
            url_for(".settings"),
            form=form,
        )
        if rv is not None:
            return rv
    current = notifications.mask_email(notifications.email_of(current_user))
    return render_template(
        "notifications/settings.html", form=form, masked_email=current
    ), form_status(form)


def unread_notifications() -> int:
    """Count the signed-in user's unread notifications, once per request (0 when signed out)."""
    if "unread_notifications" not in g:
        count = 0
        if current_user.is_authenticated:
            try:
                count = notifications.unread_count(current_user)
            except sa.exc.SQLAlchemyError:  # e.g. while rendering an error page
                log.warning("could not count unread notifications", exc_info=True)
        g.unread_notifications = count
    return g.unread_notifications


@bp.app_context_processor
def _inject_unread() -> dict:
    return {"unread_notifications": unread_notifications}

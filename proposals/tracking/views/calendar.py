"""The working-day calendar page (on the ``tracking`` blueprint): the street office's local
adjustments over the official holidays, and the years it declared complete."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from coord.db import db
from coord.i18n import AUDIT_LABELS
from coord.permissions import require
from coord.web import form_status, run
from proposals.tracking import adjustments
from proposals.tracking.forms import CalendarDayForm, CalendarYearForm
from proposals.tracking.models import WorkdayAdjustment, WorkdayYear
from proposals.tracking.permissions import can_edit_calendar
from proposals.tracking.views.common import bp

AUDIT_LABELS.update(
    {
        "calendar.adjust": _l("adjusted a day of the working-day calendar"),
        "calendar.remove_adjustment": _l("removed an adjustment of the working-day calendar"),
        "calendar.declare_year": _l("declared a year's holidays complete"),
        "calendar.withdraw_year": _l("withdrew a year's declaration of holidays"),
    }
)


def _page(day_form: CalendarDayForm, year_form: CalendarYearForm):
    return render_template(
        "tracking/calendar.html",
        state=adjustments.calendar_state(),
        day_form=day_form,
        year_form=year_form,
    ), max(form_status(f, refusal_status=True) for f in (day_form, year_form))


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    """List the adjustments; add one."""
    require(can_edit_calendar(current_user))
    form = CalendarDayForm()
    if form.validate_on_submit():
        done = run(
            lambda: adjustments.add_adjustment(
                current_user, form.day.data, form.kind.data == "work", form.reason.data
            ),
            _("The day was adjusted."),
            url_for(".calendar"),
            form=form,
        )
        if done is not None:
            return done
    return _page(form, CalendarYearForm(formdata=None))


@bp.post("/calendar/years")
@login_required
def calendar_year():
    """Declare a year's holidays complete."""
    require(can_edit_calendar(current_user))
    form = CalendarYearForm()
    if form.validate_on_submit():
        done = run(
            lambda: adjustments.declare_year(current_user, form.year.data),
            _("The year was declared complete."),
            url_for(".calendar"),
            form=form,
        )
        if done is not None:
            return done
    return _page(CalendarDayForm(formdata=None), form)


@bp.post("/calendar/adjustments/<int:adjustment_id>/remove")
@login_required
def calendar_remove(adjustment_id: int):
    """Remove an adjustment."""
    require(can_edit_calendar(current_user))
    adjustment = db.get_or_404(WorkdayAdjustment, adjustment_id)
    return run(
        lambda: adjustments.remove_adjustment(current_user, adjustment),
        _("The adjustment was removed."),
        url_for(".calendar"),
    )


@bp.post("/calendar/years/<int:year>/withdraw")
@login_required
def calendar_withdraw(year: int):
    """Withdraw a year's declaration."""
    require(can_edit_calendar(current_user))
    declared = db.get_or_404(WorkdayYear, year)
    return run(
        lambda: adjustments.withdraw_year(current_user, declared),
        _("The declaration was withdrawn."),
        url_for(".calendar"),
    )

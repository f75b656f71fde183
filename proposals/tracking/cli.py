"""`flask coord tracking …`: reminders of review steps due or overdue; recomputing durations."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from coord.db import db
from proposals.tracking import plans, requests

tracking_cli = AppGroup("tracking", help="Plan reviews and tracked requests.")


@tracking_cli.command("remind")
def remind_command() -> None:
    """Notify owners and the street office of review steps due within a working day or late.

    Run it every hour or so (cron, a systemd timer): each step is reminded once and
    flagged overdue once.
    """
    counts = plans.send_reminders()
    db.session.commit()
    click.echo(f"Reminded {counts.due_soon} step(s) due soon; flagged {counts.overdue} overdue.")


@tracking_cli.command("recompute")
def recompute_command() -> None:
    """Recompute the stored working days after the working-day calendar changed."""
    resolved, custodies = requests.recompute_workdays()
    db.session.commit()
    click.echo(f"Recomputed {resolved} resolution(s) and {custodies} first response(s).")

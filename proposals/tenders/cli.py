"""`flask coord tenders …`: open bidding and make awards final when their time comes."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from coord.db import db
from proposals.tenders import deadlines

tenders_cli = AppGroup("tenders", help="Tenders.")


@tenders_cli.command("finalize")
def finalize_command() -> None:
    """Open bidding after enquiry periods and make awards final after standstill periods."""
    changed = deadlines.finalize_due()
    db.session.commit()
    click.echo(f"{changed} tender(s) updated.")

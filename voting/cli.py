"""`flask coord voting …`: recount a poll, open and close polls whose time has come."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from coord.db import db
from voting import services
from voting.models import Poll

voting_cli = AppGroup("voting", help="Polls: recount, open and close due polls.")


@voting_cli.command("recount")
@click.argument("poll_id", type=int)
def recount_command(poll_id: int) -> None:
    """Recompute a closed poll from its ballots; exit 1 on any difference."""
    poll = db.session.get(Poll, poll_id)
    if poll is None:
        raise click.ClickException(f"no poll {poll_id}")
    problems = services.recount(poll)
    if problems:
        click.echo(f"RECOUNT FAILED for poll #{poll.id} ({poll.title}):", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    tally = poll.result["tally"]
    click.echo(
        f"OK: poll #{poll.id}: {tally['ballots']} ballots, digest {poll.ballots_digest}, "
        f"decision {tally['decision']}, winners {', '.join(tally['overall']['winners']) or '-'}"
    )


def _settle_due(label: str) -> None:
    count = 0
    for poll_id in services.due_polls():
        poll = db.session.get(Poll, poll_id)
        if services.settle(poll):
            count += 1
            click.echo(f"poll #{poll.id}: {poll.status.value}")
        db.session.commit()
    click.echo(f"{count} poll(s) {label}.")


@voting_cli.command("open-due")
def open_due_command() -> None:
    """Open every poll whose opening time has passed (and close those that have ended)."""
    _settle_due("opened or closed")


@voting_cli.command("close-due")
def close_due_command() -> None:
    """Close and count every poll whose closing time has passed (and open due ones)."""
    _settle_due("opened or closed")

"""`flask coord voting …`: recount a poll, open and close polls whose time has come.

`settle_due_polls` is also the voting receiver of `coord.signals.clock_ticked` (`flask coord
tick`, every minute): pages only show a due poll's effective state, the tick stores it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

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


def _settled(now: datetime | None = None) -> Iterator[Poll]:
    """Open or close and count each due poll in a transaction of its own; yield the changed."""
    for poll_id in services.due_polls(now):
        poll = db.session.get(Poll, poll_id)
        changed = services.settle(poll)
        db.session.commit()
        if changed:
            yield poll


def settle_due_polls(now: datetime, **_extra: Any) -> int:
    """Open and close every poll whose time has come by `now`; return how many changed."""
    return sum(1 for _poll in _settled(now))


def _settle_due(label: str) -> None:
    count = 0
    for poll in _settled():
        count += 1
        click.echo(f"poll #{poll.id}: {poll.status.value}")
    click.echo(f"{count} poll(s) {label}.")


@voting_cli.command("open-due")
def open_due_command() -> None:
    """Open every poll whose opening time has passed (and close those that have ended)."""
    _settle_due("opened or closed")


@voting_cli.command("close-due")
def close_due_command() -> None:
    """Close and count every poll whose closing time has passed (and open due ones)."""
    _settle_due("opened or closed")

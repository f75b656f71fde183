"""`flask coord …` commands: init, demo, audit verify and checkpoint, create-admin,
disable-user, the notification digest, the scheduler's tick, the job worker, backup, restore
and resanitise."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from flask_migrate import upgrade

from coord import accounts, audit, audit_chain, backup, jobs, notifications, resanitise, signals
from coord.db import db, utcnow
from coord.errors import DomainError
from coord.models import Street

coord_cli = AppGroup("coord", help="Coord administration.")
audit_cli = AppGroup("audit", help="The audit trail.")
coord_cli.add_command(audit_cli)
notifications_cli = AppGroup("notifications", help="Notifications and their emails.")
coord_cli.add_command(notifications_cli)

#: Printed by `make run` and listed in the README.
DEMO_PASSWORD = "coord-demo-2026"  # noqa: S105


def load_demo() -> dict:
    """Load the demo neighbourhood (idempotent: does nothing when it is there)."""
    if db.session.scalar(sa.select(Street.id).limit(1)) is not None:
        return {}
    created: dict = {"password": DEMO_PASSWORD}
    signals.demo_loading.send(created)
    db.session.commit()
    audit.checkpoint()  # a bulk change: sign it at once
    db.session.commit()
    return created


def _print_logins(created: dict) -> None:
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role in created.get("logins", []):
        click.echo(f"  {username:<14} {role}")


@coord_cli.command("init")
def init_command() -> None:
    """Migrate the database and load the demo community if the database is empty."""
    upgrade()
    created = load_demo()
    if created:
        click.echo("Loaded the demo neighbourhood.")
        _print_logins(created)
    else:
        click.echo(f"Database ready. Demo logins use the password {DEMO_PASSWORD} (if loaded).")


@coord_cli.command("demo")
def demo_command() -> None:
    """Load the demo neighbourhood (idempotent)."""
    created = load_demo()
    if created:
        _print_logins(created)
    else:
        click.echo("The database already holds data; nothing loaded.")


def _anchor(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    """Parse `--expect POSITION:HASH` options (heads published outside the system)."""
    rv = {}
    for value in values:
        position, _, head_hash = value.partition(":")
        if not position.isdigit() or len(head_hash) != 64:
            raise click.BadParameter(f"{value!r} is not POSITION:HASH (64 hex)")
        rv[int(position)] = head_hash.lower()
    return rv


@audit_cli.command("verify")
@click.option(
    "--expect",
    multiple=True,
    callback=_anchor,
    metavar="POSITION:HASH",
    help="A head published outside the system (e.g. posted by the street office).",
)
def audit_verify_command(expect: dict[int, str]) -> None:
    """Verify the audit chain and its signed checkpoints; exit 1 naming the first event that
    no longer matches."""
    report = audit.verify_chain(expect)
    for line in audit_chain.describe(report):
        click.echo(line, err=report.broken is not None)
    if report.broken is not None:
        sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint_command() -> None:
    """Sign the audit chain's head now (nothing to do when it is signed already)."""
    try:
        written = audit.checkpoint()
    except audit.ChainBroken as exc:
        raise click.ClickException(f"not signed: {exc} (run `flask coord audit verify`)") from exc
    db.session.commit()
    if not written:
        click.echo("The head is signed already: nothing to do.")
    for cp in written:
        click.echo(f"Signed #{cp.position} {cp.head_hash} with key {cp.key_id}.")


@coord_cli.command("create-admin")
@click.argument("username")
@click.option("--display-name", default="", help="Shown name (defaults to the username).")
@click.password_option()
def create_admin_command(username: str, display_name: str, password: str) -> None:
    """Create a platform administrator account."""
    try:
        user = accounts.register_user(username, display_name or username, password, is_admin=True)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    audit.record("user.create_admin", "user", user.id, is_public=True)
    db.session.commit()
    click.echo(f"Created administrator {user.username}.")


@coord_cli.command("disable-user")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Re-enable the account instead.")
def disable_user_command(username: str, enable: bool) -> None:
    """Disable an account (ending its sessions), or re-enable it."""
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    accounts.set_disabled(None, user, not enable)
    db.session.commit()
    click.echo(f"{'Enabled' if enable else 'Disabled'} {user.username}.")


@notifications_cli.command("digest")
@click.option("--hours", default=24, show_default=True, help="Include notifications this new.")
def digest_command(hours: int) -> None:
    """Send each digest user one mail with their unsent notifications; mark them emailed."""
    sent = notifications.send_digests(window=timedelta(hours=hours))
    click.echo(f"Sent {sent} digest email(s).")


def tick() -> list[tuple[str, object]]:
    """Do what time decided: run each package's due work, committing after each; return
    (receiver, what it changed) pairs (the scheduler's job, every minute)."""
    rv = []
    for receiver, changed in signals.clock_ticked.send(utcnow()):
        db.session.commit()
        rv.append((f"{receiver.__module__}.{receiver.__name__}", changed))
    return rv


@coord_cli.command("tick")
def tick_command() -> None:
    """Do what time decided (run by the scheduler every minute): each package's due work."""
    for name, changed in tick():
        click.echo(f"{name}: {changed}")


@coord_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run background jobs from these queues (default: mail, default, network) on RQ."""
    if jobs.mode() != "rq":
        raise click.ClickException("jobs run inline: set COORD_REDIS_URL to use workers")
    jobs.work(list(queues) or None, burst=burst)


@coord_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path) -> None:
    """Back up the database to FILE (pg_dump -Fc, or SQLite's online backup)."""
    try:
        click.echo(backup.backup(file))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@coord_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that holds data.")
def restore_command(file: Path, force: bool) -> None:
    """Restore the database from a backup FILE made by `flask coord backup`."""
    try:
        click.echo(backup.restore(file, force=force))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@coord_cli.command("resanitise")
@click.option("--batch-size", default=500, show_default=True, help="Rows per transaction.")
def resanitise_command(batch_size: int) -> None:
    """Re-render stored user text (Markdown source to HTML) through the current sanitiser."""

    def progress(label: str, read: int, written: int) -> None:
        click.echo(f"  {label}: {read:,} read, {written:,} rewritten")

    done = resanitise.resanitise(batch_size, progress)
    for label, (read, written) in done.items():
        click.echo(f"{label}: {read:,} rows read, {written:,} rewritten")
    click.echo(f"Stored HTML is sanitised with version {resanitise.SANITIZER_VERSION}.")


def init_app(app: Flask) -> None:
    """Register the command group."""
    app.cli.add_command(coord_cli)

"""Notifications: create them in bulk, per-user settings, email (single mails and a daily digest).

A notification stores an English msgid (`message`) and its `params`; both are translated
when shown, in the reader's language (see `render`). A parameter that is itself a msgid
(a state or a stance label) is stored as ``{"msgid": "Deliberation"}`` (`translatable`); a
stakeholder's name is stored as a reference, ``{"stakeholder": 12}`` (`stakeholder_ref`),
and looked up when shown — so a name erased with its account disappears from every
notification too ("deleted user"). No other personal data belongs in a notification.

Single mails are composed while the action runs (in the recipient's language) and handed
to the mail transport only after the session commits; a rolled-back action sends nothing.
Digest users get their unsent notifications of the last day in one mail from
`flask coord notifications digest` (`send_digests`).

Mails go to the ``mail`` job queue (`coord.jobs`: an RQ worker sends them, retrying a
failure; in inline mode they are sent at once). Mail settings (``COORD_MAIL_*`` environment
variables → ``MAIL_*`` config keys): ``MAIL_SERVER`` (unset: mails are written to the log at
INFO instead), ``MAIL_SECURITY`` (``ssl``: implicit TLS, port 465; ``starttls``: port 587,
the default; ``none``: port 25), ``MAIL_PORT`` (0: the security's port), ``MAIL_USERNAME``,
``MAIL_PASSWORD``, ``MAIL_FROM``, ``MAIL_TIMEOUT``. ``BASE_URL`` (e.g.
``https://coord.example.org``) makes links in mails absolute when no request is running (the
digest command).
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import smtplib
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from itertools import islice
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, has_request_context, request, url_for
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.routing import BuildError

from coord import crypto, jobs
from coord.db import db, utcnow
from coord.errors import DomainError
from coord.models import Notification, User
from coord.runtime import MAIL_PORTS
from coord.tasks import Task

log = logging.getLogger(__name__)


def N_(s: str) -> str:
    """Mark a string for translation without translating it."""
    return s


#: Notification kinds → English label msgids (the settings page lists them for muting).
#: Packages add theirs with `register_kind` when they are imported.
KINDS: dict[str, str] = {}

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
EMAIL_MAX_LENGTH = 254

_OUTBOX = "coord_mail_outbox"
_INSERT_BATCH = 500  # rows per INSERT statement (keeps under the databases' parameter limits)
_MESSAGE_MAX = 200  # Notification.message
#: A mail that fails is tried again after 30 s, 2 min, 10 min and 1 hour.
MAIL_RETRY = jobs.Retry(max=4, interval=[30, 120, 600, 3600])
_URL_MAX = 300  # Notification.url


def register_kind(kind: str, label: str) -> None:
    """Declare a notification kind and its (English, translatable) label."""
    KINDS[kind] = label


def translatable(msgid: str, **params: str) -> dict[str, Any]:
    """Wrap a msgid used as a notification parameter (with its own values, if any), so it
    is translated when shown."""
    return {"msgid": msgid, "params": params} if params else {"msgid": msgid}


def stakeholder_ref(stakeholder_id: int) -> dict[str, int]:
    """Refer to a stakeholder in a notification parameter; its current name is shown."""
    return {"stakeholder": stakeholder_id}


@dataclass(frozen=True)
class Note:
    """One notification to create: for whom, of which kind, saying what, linking where."""

    user: User
    kind: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    url: str = ""


@dataclass(frozen=True)
class Settings:
    """A user's notification settings (stored in `User.notification_settings`)."""

    email: bool = False
    digest: bool = False
    muted: frozenset[str] = frozenset()


# -- Settings ---------------------------------------------------------------------------------


def settings_of(user: User) -> Settings:
    """Read a user's settings, tolerating missing or malformed stored values."""
    raw = user.notification_settings if isinstance(user.notification_settings, dict) else {}
    muted = raw.get("muted")
    return Settings(
        email=raw.get("email") is True,
        digest=raw.get("digest") is True,
        muted=frozenset(m for m in muted if isinstance(m, str))
        if isinstance(muted, list)
        else frozenset(),
    )


def normalise_email(value: str) -> str:
    """Trim an email address and lower-case its domain."""
    local, _at, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else value.strip()


def is_valid_email(value: str) -> bool:
    """Tell whether `value` looks like a deliverable email address."""
    return len(value) <= EMAIL_MAX_LENGTH and EMAIL_RE.match(value) is not None


def email_of(user: User) -> str | None:
    """Return the user's decrypted email address (None when unset or undecryptable)."""
    if user.email_encrypted is None:
        return None
    try:
        return crypto.decrypt(user.email_encrypted)
    except crypto.DecryptionError:
        log.warning("cannot decrypt the email address of user %s", user.id)
        return None


def mask_email(value: str | None) -> str:
    """Mask an email address for display: zhang.san@example.com → zh****@example.com."""
    if not value:
        return ""
    local, _at, domain = value.rpartition("@")
    if not local:
        return crypto.mask(value)
    return f"{local[:2] if len(local) > 2 else local[:1]}****@{domain}"


def save_settings(
    user: User,
    *,
    email: bool,
    digest: bool,
    muted: Iterable[str],
    email_address: str | None = None,
    remove_email: bool = False,
) -> None:
    """Store a user's settings; a new address is stored encrypted (None keeps the old one)."""
    if email_address:
        address = normalise_email(email_address)
        if not is_valid_email(address):
            raise DomainError(gettext("Enter a valid email address."), field="email_address")
        user.email_encrypted = crypto.encrypt(address)
    elif remove_email:
        user.email_encrypted = None
    if email and user.email_encrypted is None:
        raise DomainError(gettext("Give an email address to receive emails."), field="email")
    unknown = set(muted) - set(KINDS)
    if unknown:
        raise DomainError(gettext("Unknown kind of notification."), field="muted")
    user.notification_settings = {
        "email": bool(email),
        "digest": bool(digest),
        "muted": sorted(set(muted)),
    }


# -- Creating and reading notifications -------------------------------------------------------


def _batched(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def notify(notes: Iterable[Note]) -> int:
    """Create notifications in one INSERT; skip muted kinds, inactive users and repeats.

    Users who want single mails get one, composed now and sent after the commit.
    Return how many notifications were created.
    """
    now = utcnow()
    rows: list[dict[str, Any]] = []
    mails: list[EmailMessage] = []
    seen: set[int] = set()
    notes = list(notes)
    names: dict[int, str | None] | None = None
    for note in notes:
        if note.kind not in KINDS:
            raise ValueError(f"unknown notification kind {note.kind!r}")
        user = note.user
        settings = settings_of(user)
        if user.id in seen or not user.is_active or note.kind in settings.muted:
            continue
        seen.add(user.id)
        mail = None
        if settings.email and not settings.digest:
            if names is None:  # one query for every name these mails mention
                names = stakeholder_names(_stakeholder_ids(n.params for n in notes))
            mail = _single_mail(user, note, names)
        rows.append(
            {
                "user_id": user.id,
                "kind": note.kind,
                "message": note.message[:_MESSAGE_MAX],
                "params": note.params,
                "url": note.url if len(note.url) <= _URL_MAX else "",
                "created_at": now,
                "read_at": None,
                "emailed_at": now if mail is not None else None,
            }
        )
        if mail is not None:
            mails.append(mail)
    for chunk in _batched(rows, _INSERT_BATCH):
        db.session.execute(sa.insert(Notification).values(chunk))
    for mail in mails:
        _queue(mail)
    return len(rows)


def _stakeholder_ids(all_params: Iterable[dict[str, Any] | None]) -> set[int]:
    return {
        v["stakeholder"]
        for params in all_params
        for v in (params or {}).values()
        if isinstance(v, dict) and isinstance(v.get("stakeholder"), int)
    }


_STAKEHOLDERS = sa.table(
    "stakeholders", sa.column("id"), sa.column("name"), sa.column("deleted_at")
)


def stakeholder_names(ids: Iterable[int]) -> dict[int, str | None]:
    """Map stakeholder ids to their public names (None when deleted), in one query."""
    ids = set(ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(_STAKEHOLDERS.c.id, _STAKEHOLDERS.c.name, _STAKEHOLDERS.c.deleted_at).where(
            _STAKEHOLDERS.c.id.in_(ids)
        )
    )
    return {r.id: (None if r.deleted_at is not None else r.name) for r in rows}


def _param(value: Any, names: dict[int, str | None]) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("msgid"), str):
            params = value.get("params")
            return gettext(value["msgid"], **(params if isinstance(params, dict) else {}))
        if "stakeholder" in value:
            return names.get(value["stakeholder"]) or gettext("deleted user")
    return value


def render(
    message: str, params: dict[str, Any] | None, names: dict[int, str | None] | None = None
) -> str:
    """Translate a stored msgid and fill in its parameters (translated, names looked up)."""
    if names is None:
        names = stakeholder_names(_stakeholder_ids([params]))
    values = {k: _param(v, names) for k, v in (params or {}).items()}
    for template in (gettext(message), message):
        try:
            return template % values if values else template
        except (KeyError, ValueError, TypeError):
            continue  # a translation or a stored message that does not fit its parameters
    return message


def texts_of(items: list[Notification]) -> list[str]:
    """Return the texts of notifications in the current language (one query for names)."""
    names = stakeholder_names(_stakeholder_ids(n.params for n in items))
    return [render(n.message, n.params, names) for n in items]


def text_of(notification: Notification) -> str:
    """Return a notification's text in the current language."""
    return texts_of([notification])[0]


def unread_count(user: User) -> int:
    """Count the user's unread notifications (one query)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def unread_tasks(user: User, limit: int = 10) -> list[Task]:
    """List what changed in the items the user follows: their unread notifications, the
    latest per page (two queries: the notifications, then the names they mention)."""
    rows = db.session.scalars(
        sa.select(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.read_at.is_(None),
            Notification.url != "",
        )
        .order_by(Notification.id.desc())
        .limit(limit)
    ).all()
    latest: dict[str, Notification] = {}
    for n in rows:
        latest.setdefault(n.url.partition("#")[0], n)  # one per page, whatever the anchor
    items = list(latest.values())
    label = gettext("Updated")
    return [Task(text, n.url, None, label) for n, text in zip(items, texts_of(items), strict=True)]


def mark_read(user: User, notification: Notification) -> None:
    """Mark one of the user's notifications as read (someone else's is not found: 404)."""
    if notification.user_id != user.id:
        raise DomainError(gettext("There is nothing at this address."), status=404)
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user as read; return how many."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0


# -- Mail -------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())[:150]


def _path_for(endpoint: str, **values: Any) -> str:
    try:
        if has_request_context():
            return url_for(endpoint, **values)
        return current_app.url_map.bind("localhost").build(endpoint, values)
    except BuildError:
        return ""


def absolute_url(path: str) -> str:
    """Make a local path absolute for mails (BASE_URL, else the current request's host)."""
    if not path or path.startswith(("http://", "https://")):
        return path
    base = current_app.config.get("BASE_URL") or (request.host_url if has_request_context() else "")
    return base.rstrip("/") + path if base else path


def _user_locale(user: User) -> str:
    languages = current_app.config.get("LANGUAGES", {})
    return user.locale if user.locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def _footer() -> str:
    return gettext(
        "You receive this email because you asked Coord to notify you. "
        "Change your notification settings: %(url)s",
        url=absolute_url(_path_for("notifications.settings")),
    )


def compose(address: str, subject: str, body: str) -> EmailMessage:
    """Build a plain-text UTF-8 email."""
    rv = EmailMessage()
    rv["From"] = current_app.config.get("MAIL_FROM") or "coord@localhost"
    rv["To"] = address
    rv["Subject"] = _one_line(subject)
    rv.set_content(body)
    return rv


def _single_mail(user: User, note: Note, names: dict[int, str | None]) -> EmailMessage | None:
    address = email_of(user)
    if not address:
        return None
    with force_locale(_user_locale(user)):
        text = render(note.message, note.params, names)
        subject = gettext("Coord: %(message)s", message=text)
        link = absolute_url(note.url)
        body = "\n\n".join(part for part in (text, link, "-- \n" + _footer()) if part)
        return compose(address, subject, body)


def deliver(message: EmailMessage) -> None:
    """Send a mail now: through SMTP when MAIL_SERVER is set; otherwise write it to the log."""
    config = current_app.config
    server = config.get("MAIL_SERVER")
    if not server:
        log.info(
            "email (no MAIL_SERVER configured) to %s\nSubject: %s\n\n%s",
            mask_email(message["To"]),
            message["Subject"],
            message.get_content(),
        )
        return
    security = config.get("MAIL_SECURITY") or "starttls"
    port = int(config.get("MAIL_PORT") or MAIL_PORTS[security])
    timeout = config.get("MAIL_TIMEOUT") or 30
    context = ssl.create_default_context()
    if security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(server, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(server, port, timeout=timeout)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def deliver_job(raw: bytes) -> None:
    """Send a mail composed earlier (the mail job); log and re-raise a failure (RQ retries)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        deliver(message)  # type: ignore[arg-type]
    except (OSError, smtplib.SMTPException) as exc:
        log.error(
            "could not send a notification email to %s: %s",
            mask_email(message["To"]),
            exc.__class__.__name__,
        )
        raise


def send(message: EmailMessage) -> None:
    """Hand a mail to the mail queue (sent by a worker, retried; inline: sent now)."""
    jobs.enqueue(
        "coord.notifications.deliver_job", message.as_bytes(), queue="mail", retry=MAIL_RETRY
    )


def _queue(message: EmailMessage) -> None:
    """Send `message` once the current transaction commits (never if it rolls back)."""
    session = db.session()
    outbox = session.info.setdefault(_OUTBOX, [])
    outbox.append((session.get_nested_transaction(), current_app._get_current_object(), message))


def _send_now(app: Flask, message: EmailMessage) -> None:
    try:
        if has_app_context() and current_app._get_current_object() is app:
            send(message)
        else:
            with app.app_context():
                send(message)
    except Exception:  # the action is committed: a mail that cannot be queued is logged
        log.exception("could not queue a notification email to %s", mask_email(message["To"]))


@sa.event.listens_for(Session, "after_commit")
def _send_outbox(session: Session) -> None:
    for _tx, app, message in session.info.pop(_OUTBOX, None) or ():
        _send_now(app, message)


def _within(tx: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while tx is not None:
        if tx is ended:
            return True
        tx = tx.parent
    return False


@sa.event.listens_for(Session, "after_soft_rollback")
def _drop_outbox(session: Session, previous_transaction: SessionTransaction) -> None:
    outbox = session.info.get(_OUTBOX)
    if not outbox:
        return
    if previous_transaction.nested:  # a savepoint: drop only what was queued inside it
        session.info[_OUTBOX] = [e for e in outbox if not _within(e[0], previous_transaction)]
    else:
        session.info.pop(_OUTBOX, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_outbox(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit
        session.info.pop(_OUTBOX, None)


# -- Daily digest -----------------------------------------------------------------------------


def _digest_mail(
    user: User, address: str, items: list[Notification], names: dict[int, str | None]
) -> EmailMessage:
    with force_locale(_user_locale(user)):
        subject = ngettext(
            "Coord: %(num)d new notification", "Coord: %(num)d new notifications", len(items)
        )
        lines = [gettext("Your notifications of the last day:"), ""]
        for item in items:
            lines.append("- " + render(item.message, item.params, names))
            if item.url:
                lines.append("  " + absolute_url(item.url))
        lines += ["", "-- ", _footer()]
        return compose(address, subject, "\n".join(lines))


def send_digests(now: datetime | None = None, window: timedelta = timedelta(days=1)) -> int:
    """Mail each digest user their unsent notifications of the last `window`; mark them emailed.

    Each user's mail is sent before their notifications are marked and committed, so a
    failed send is retried by the next run. Return the number of mails sent.
    """
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.emailed_at.is_(None),
            Notification.created_at >= now - window,
            User.email_encrypted.is_not(None),
            User.deleted_at.is_(None),
            User.is_disabled.is_(False),
        )
        .order_by(Notification.user_id, Notification.id)
    ).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for notification, user in rows:
        by_user.setdefault(user.id, (user, []))[1].append(notification)
    names = stakeholder_names(_stakeholder_ids(n.params for n, _u in rows))
    sent = 0
    for user, items in by_user.values():
        settings = settings_of(user)
        address = email_of(user)
        if not (settings.email and settings.digest and address):
            continue
        try:
            deliver(_digest_mail(user, address, items, names))
        except (OSError, smtplib.SMTPException):
            log.exception("could not send the digest to user %s", user.id)
            continue
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_([n.id for n in items]))
            .values(emailed_at=now)
        )
        db.session.commit()
        sent += 1
    return sent


# -- Account deletion and data export ---------------------------------------------------------


def on_user_deleting(user: User) -> None:
    user.email_encrypted = None
    user.notification_settings = {}
    db.session.execute(sa.delete(Notification).where(Notification.user_id == user.id))


def on_user_data_requested(user: User) -> tuple[str, dict[str, Any]]:
    settings = settings_of(user)
    notifications = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()
    return "notifications", {
        "email": email_of(user),
        "settings": {
            "email": settings.email,
            "digest": settings.digest,
            "muted": sorted(settings.muted),
        },
        "items": [
            {
                "kind": n.kind,
                "text": text,
                "url": n.url,
                "created_at": n.created_at.isoformat(),
                "read_at": n.read_at.isoformat() if n.read_at else None,
            }
            for n, text in zip(notifications, texts_of(notifications), strict=True)
        ],
    }

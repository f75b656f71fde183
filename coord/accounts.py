"""Account use cases: register, authenticate, change password, export, delete, tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from coord import audit, signals
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError
from coord.models import ApiToken, Signature, User
from coord.passwords import check_password, hash_password, needs_rehash

TOKEN_PREFIX = "coord_"  # noqa: S105 (a marker, not a secret)


def find_user(username: str) -> User | None:
    """Return the user with this username (case-insensitive), if any."""
    return db.session.scalar(sa.select(User).where(User.username == username.lower()))


def register_user(
    username: str, display_name: str, password: str, *, is_admin: bool = False
) -> User:
    """Create a user (and, through `user_registered`, their resident identity)."""
    username = username.lower()
    if find_user(username) is not None:
        raise Conflict(str(_l("This username is taken.")), field="username")
    rv = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    db.session.add(rv)
    db.session.flush()
    signals.user_registered.send(rv)
    return rv


def set_signature_default(user: User, value: str) -> None:
    """Choose the signature first offered when the user, as a resident, joins a proposal."""
    try:
        user.signature_default = Signature(value)
    except ValueError:
        raise DomainError(str(_l("Choose how to sign.")), field="signature") from None


def authenticate(username: str, password: str) -> User | None:
    """Return the active user for these credentials, or None (same answer for every failure)."""
    user = find_user(username)
    ok = check_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; end every other session."""
    if not check_password(user.password_hash, current):
        raise DomainError(str(_l("The current password is wrong.")), field="current")
    user.password_hash = hash_password(new)
    user.end_sessions()
    audit.record("user.change_password", "user", user.id, user_id=user.id)


def set_disabled(admin: User | None, user: User, disabled: bool) -> None:
    """Disable or re-enable an account (admin None: the command line); disabling ends sessions."""
    user.is_disabled = disabled
    if disabled:
        user.end_sessions()
    audit.record(
        "user.disable" if disabled else "user.enable",
        "user",
        user.id,
        user_id=admin.id if admin else None,
        is_public=True,
    )


def export_user_data(user: User) -> dict[str, Any]:
    """Collect everything Coord holds about `user`, for download."""
    rv: dict[str, Any] = {
        "account": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "locale": user.locale,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        },
        "api_tokens": [
            {
                "name": t.name,
                "created_at": t.created_at.isoformat(),
                "revoked": t.revoked_at is not None,
            }
            for t in user.tokens
        ],
    }
    for _receiver, section in signals.user_data_requested.send(user):
        if section:
            key, data = section
            rv[key] = data
    return rv


def delete_account(user: User, password: str) -> None:
    """Erase the user's personal data; their contributions stay, attributed to a deleted user."""
    if not check_password(user.password_hash, password):
        raise DomainError(str(_l("The password is wrong.")), field="password")
    signals.user_deleting.send(user)
    user.username = f"deleted-{user.id}"
    user.display_name = ""
    user.password_hash = "!"  # noqa: S105 (matches no password)
    user.locale = None
    user.deleted_at = utcnow()
    user.end_sessions()
    for token in user.tokens:
        token.revoked_at = token.revoked_at or utcnow()
    audit.record("user.delete", "user", user.id, user_id=user.id)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal access token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, digest=_digest(raw))
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", "api_token", token.id, user_id=user.id)
    return token, raw


def revoke_api_token(user: User, token: ApiToken) -> None:
    """Revoke one of the user's tokens."""
    if token.user_id != user.id:
        raise DomainError(str(_l("This token is not yours.")), status=404)
    token.revoked_at = token.revoked_at or utcnow()
    audit.record("token.revoke", "api_token", token.id, user_id=user.id)


def user_for_token(raw: str) -> User | None:
    """Return the active user owning a valid, unrevoked token."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.digest == _digest(raw), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.is_active:
        return None
    return token.user

"""Core permission helpers: `require` and predicates on users."""

from __future__ import annotations

from flask import abort

from coord.models import User


def require(allowed: bool, status: int = 403) -> None:
    """Abort with `status` (403, or 404 to hide existence) unless `allowed`."""
    if not allowed:
        abort(status)


def is_platform_admin(user: User | None) -> bool:
    """Tell whether `user` is a signed-in platform administrator."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_admin)

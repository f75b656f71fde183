"""Rate limits of deliberation posts, shared by its pages and its JSON endpoints."""

from __future__ import annotations

from flask import current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user


def user_key() -> str:
    """Rate-limit signed-in users by account (anonymous requests by address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def limits_disabled() -> bool:
    """Skip these limits in an app whose settings turn rate limiting off (tests, mostly)."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def comment_posts() -> str:
    """Return the limit on posting, editing and deleting comments."""
    return current_app.config.get("RATELIMIT_COMMENT_POSTS", "10 per minute")


def comment_reactions() -> str:
    """Return the limit on reacting to comments."""
    return current_app.config.get("RATELIMIT_COMMENT_REACTIONS", "60 per minute")


def deliberation_posts() -> str:
    """Return the limit on declaring positions and proposing or supporting amendments."""
    return current_app.config.get("RATELIMIT_DELIBERATION_POSTS", "20 per minute")


def reports() -> str:
    """Return the limit on reporting items to the moderators."""
    return current_app.config.get("RATELIMIT_REPORTS", "10 per minute")

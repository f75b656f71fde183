"""Helpers for voting tests (import as `from voting_helpers import …`)."""

from __future__ import annotations

from coord.db import db
from coord.models import User
from stakeholders.acting import Actor
from stakeholders.models import Stakeholder
from voting import services
from voting.models import Poll

from helpers import identity


def actor(user: User, as_: Stakeholder | None = None) -> Actor:
    """The actor for `user` acting as `as_` (their own identity by default)."""
    return Actor(user, as_ or identity(user))


def vote(user: User, poll: Poll, choice, as_: Stakeholder | None = None):
    """Cast and commit a ballot; return the receipt."""
    rv = services.cast_ballot(actor(user, as_), poll, choice)
    db.session.commit()
    return rv

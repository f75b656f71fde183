"""Signals that let lower packages react to higher ones without importing them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

user_registered = _signals.signal(
    "user-registered",
    doc="A user account was created; sender is the User. Packages create what a user needs.",
)
user_deleting = _signals.signal(
    "user-deleting",
    doc="A user deletes their account; sender is the User. Erase personal data, keep records.",
)
user_data_requested = _signals.signal(
    "user-data-requested",
    doc="A user downloads their data; sender is the User. Return a (section, data) pair.",
)
demo_loading = _signals.signal(
    "demo-loading",
    doc="The demo community is being loaded; sender is the shared dict of created objects.",
)

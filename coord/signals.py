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
proposal_published = _signals.signal(
    "proposal-published",
    doc="A proposal became visible; sender is the Proposal, `actor` the Actor.",
)
proposal_transitioned = _signals.signal(
    "proposal-transitioned",
    doc="A proposal changed state; sender is the Proposal, with `actor`, `action`, `from_state`.",
)
proposal_edited = _signals.signal(
    "proposal-edited",
    doc="A published proposal got a new version; sender is the Proposal, `actor` the Actor.",
)
comment_posted = _signals.signal(
    "comment-posted",
    doc="A comment or reply was posted; sender is the Comment, `actor` the Actor.",
)
position_declared = _signals.signal(
    "position-declared",
    doc="A stakeholder declared or changed a position; sender is the Position, `actor` the Actor.",
)
amendment_decided = _signals.signal(
    "amendment-decided",
    doc="An amendment was accepted or rejected; sender is the Amendment, `actor` the Actor.",
)
report_handled = _signals.signal(
    "report-handled",
    doc="A moderator hid an item or dismissed its reports; sender is the Report, with `actor`.",
)
clock_ticked = _signals.signal(
    "clock-ticked",
    doc="The scheduler's tick (`flask coord tick`, every minute); sender is the UTC time. "
    "Do what time decided (open and close polls, open bidding, finalise awards); the command "
    "commits after each receiver (a job-level receiver may commit item by item, so that one "
    "failing item does not hold back the others). Return how many items changed.",
)

"""The result of a consultation's poll as a plan page shows it (registered with
`proposals.tracking.plans.add_consultation_result` by `voting.init_app`)."""

from __future__ import annotations

from flask_babel import gettext as _

from proposals.models import Proposal
from voting import services
from voting.models import PollStatus
from voting.results import DECISION_LABELS


def poll_result(consultation: Proposal) -> str | None:
    """Summarise the closed poll of a consultation: its decision and turnout (else None)."""
    poll = services.active_poll(consultation)
    if poll is None or poll.status != PollStatus.CLOSED or not poll.result:
        return None
    tally = poll.result["tally"]
    decision = tally["decision"]
    return _(
        "Poll “%(title)s”: %(decision)s (%(voted)d of %(electorate)d eligible voters took part).",
        title=poll.title,
        decision=DECISION_LABELS.get(decision, decision),
        voted=tally["turnout"]["voted"],
        electorate=tally["turnout"]["electorate"],
    )

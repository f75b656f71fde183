"""The result of a consultation's poll as a plan page shows it (registered with
`proposals.tracking.plans.add_consultation_result` by `voting.init_app`)."""

from __future__ import annotations

from flask_babel import gettext as _

from proposals.decision import Evidence
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


def poll_evidence(proposal: Proposal) -> Evidence | None:
    """Cite the proposal's closed poll in its decision: the result in words, the winning
    options and the turnout, and whether it tied (else None)."""
    summary = poll_result(proposal)
    if summary is None:
        return None
    overall = services.active_poll(proposal).result["tally"]["overall"]
    winners = overall.get("winners") or []
    if winners:
        summary += " " + _("Chosen: %(options)s.", options=_("; ").join(map(str, winners)))
    return Evidence(summary, tied=bool(overall.get("tied")))

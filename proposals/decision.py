"""The decision recorded when a proposal is adopted or rejected: the evidence it cites
(poll results, accepted amendments: registered by the packages that own them), the
pre-filled draft and the tie rule.

The core of proposals never imports voting nor a family: `voting.init_app` registers its
poll summary and `proposals.deliberation.init_app` the accepted amendments with
`add_evidence_source`. The tie rule: when any evidence reports a tie, a decision needs
the acknowledgement ticked *and* a text of at least `TIE_MIN_CHARS` characters saying how
the tie was broken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from proposals.models import Proposal

#: The shortest decision text that can explain how a tie was broken.
TIE_MIN_CHARS = 30
MAX_CHARS = 500  # the timeline keeps it as the transition's reason
TIE_ACKNOWLEDGEMENT = _l("This poll was tied; the decision text says how the tie was broken.")


@dataclass(frozen=True)
class Evidence:
    """A result the decision cites (e.g. a closed poll), in words, and whether it tied."""

    summary: str
    tied: bool = False


_sources: list[Callable[[Proposal], Evidence | None]] = []


def add_evidence_source(fn: Callable[[Proposal], Evidence | None]) -> None:
    """Register a function that returns the evidence a proposal's decision cites (or None)."""
    if fn not in _sources:
        _sources.append(fn)


def evidence(proposal: Proposal) -> list[Evidence]:
    """Return every registered piece of evidence for the proposal."""
    return [e for fn in _sources if (e := fn(proposal)) is not None]


def is_tied(proposal: Proposal) -> bool:
    """Tell whether a poll the decision cites ended in a tie."""
    return any(e.tied for e in evidence(proposal))


def draft(proposal: Proposal, action: str, *, conditions: bool = True) -> str:
    """Pre-fill a decision text: the outcome, the results it cites (poll, amendments) and,
    for a person to complete, the conditions met."""
    lines = [
        _("The proposal is adopted.") if action == "adopt" else _("The proposal is not adopted.")
    ]
    lines += [e.summary for e in evidence(proposal)]
    if conditions:
        lines.append(_("Conditions met: "))
    return "\n".join(lines)


def problem(proposal: Proposal, text: str, tie_acknowledged: bool) -> str | None:
    """Return why this decision text cannot be recorded (None when it can)."""
    text = text.strip()
    if not text:
        return _("Write the decision: what was decided and on what grounds.")
    if len(text) > MAX_CHARS:
        return _("The decision may have at most %(n)d characters.", n=MAX_CHARS)
    if is_tied(proposal) and (not tie_acknowledged or len(text) < TIE_MIN_CHARS):
        return _(
            "The poll was tied: tick the acknowledgement and say in at least %(n)d characters"
            " how the tie was broken.",
            n=TIE_MIN_CHARS,
        )
    return None

"""Deciding a consultation after its poll: the confirmation page, the decision text citing the
poll, the tie rule, the decision panel and the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from voting_helpers import actor, vote

from coord.db import db, utcnow
from coord.errors import DomainError
from coord.models import AuditEvent
from proposals import decision
from proposals import services as proposal_services
from proposals.models import Proposal
from voting import services

from helpers import use_english

TIE_TEXT = "平票：居委会按议事规则第七条，以业主大会多数意见采用方案A。"


def _closed_poll(make_proposal, make_poll, committee, residents, choices):
    """A consultation with a closed plurality poll on A/B (still in voting: no yes/no)."""
    voters = residents(len(choices))
    proposal = make_proposal(committee.admin_user, as_=committee)
    poll = make_poll(
        actor(committee.admin_user, committee),
        proposal_id=proposal.id,
        method="plurality",
        options=["A", "B"],
    )
    for voter, choice in zip(voters, choices, strict=True):
        vote(voter, poll, choice)
    poll.closes_at = utcnow() - timedelta(seconds=1)
    services.settle(poll)
    db.session.commit()
    assert proposal.status == "voting"
    return proposal, poll


@pytest.fixture
def tied(make_proposal, make_poll, committee, residents):
    return _closed_poll(make_proposal, make_poll, committee, residents, ["A", "B"])


@pytest.fixture
def decided(make_proposal, make_poll, committee, residents):
    return _closed_poll(make_proposal, make_poll, committee, residents, ["A", "A", "B"])


def _writes(counter) -> list[str]:
    return [q for q in counter.statements if q.lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_the_confirmation_page_drafts_the_decision_and_writes_nothing(
    client, login_as, committee, decided, count_queries
):
    proposal, _poll = decided
    use_english(client)
    login_as(committee.admin_user, committee)
    with count_queries() as seen:
        page = client.get(f"/proposals/{proposal.id}/decide/adopt")
    assert page.status_code == 200 and _writes(seen) == []
    html = page.get_data(as_text=True)
    assert "This cannot be undone." in html
    assert "Poll “电梯费用分摊方式”: Decided (3 of" in html and "Chosen: A." in html
    assert "tie_acknowledged" not in html
    db.session.expire_all()
    assert proposal.status == "voting" and proposal.decided_at is None


@pytest.mark.parametrize(
    "who, target, status",
    [("anonymous", "adopt", 302), ("resident", "adopt", 403), ("committee", "withdraw", 404)],
)
def test_only_the_deciders_see_the_confirmation(
    client, login_as, committee, decided, residents, who, target, status
):
    proposal, _poll = decided
    if who == "resident":
        login_as(residents(1)[0])
    elif who == "committee":
        login_as(committee.admin_user, committee)
    url = f"/proposals/{proposal.id}/decide/{target}"
    assert client.get(url).status_code == status
    assert client.post(url, data={"text": "决定采用"}).status_code == status
    db.session.expire_all()
    assert proposal.status == "voting"


def test_adopting_without_a_decision_text_keeps_the_input(client, login_as, committee, decided):
    proposal, _poll = decided
    use_english(client)
    login_as(committee.admin_user, committee)
    r = client.post(f"/proposals/{proposal.id}/decide/adopt", data={"text": "   "})
    assert r.status_code == 422
    assert "Write the decision" in r.get_data(as_text=True)
    db.session.expire_all()
    assert proposal.status == "voting"


def test_the_generic_transition_cannot_bypass_the_decision(client, login_as, committee, decided):
    proposal, _poll = decided
    login_as(committee.admin_user, committee)
    r = client.post(f"/proposals/{proposal.id}/transition", data={"action": "adopt"})
    assert r.status_code == 302 and r.location.endswith(f"/proposals/{proposal.id}/decide/adopt")
    db.session.expire_all()
    assert proposal.status == "voting"


def test_a_tie_needs_the_acknowledgement_and_an_explanation(client, login_as, committee, tied):
    proposal, _poll = tied
    use_english(client)
    login_as(committee.admin_user, committee)
    form = client.get(f"/proposals/{proposal.id}/decide/adopt").get_data(as_text=True)
    assert "tie_acknowledged" in form and "Tied: no single winner" in form
    short = client.post(
        f"/proposals/{proposal.id}/decide/adopt", data={"text": "采用A", "tie_acknowledged": "y"}
    )
    unticked = client.post(f"/proposals/{proposal.id}/decide/adopt", data={"text": TIE_TEXT})
    for r, kept in ((short, "采用A"), (unticked, TIE_TEXT)):
        assert r.status_code == 422
        html = r.get_data(as_text=True)
        assert "The poll was tied" in html and kept in html
    db.session.expire_all()
    assert proposal.status == "voting"
    ok = client.post(
        f"/proposals/{proposal.id}/decide/adopt", data={"text": TIE_TEXT, "tie_acknowledged": "y"}
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert proposal.status == "decided_adopted" and proposal.decision_text == TIE_TEXT


def test_the_service_refuses_a_tie_without_the_rule(committee, tied):
    proposal, _poll = tied
    assert decision.is_tied(proposal)
    who = actor(committee.admin_user, committee)
    with pytest.raises(DomainError) as refused:
        proposal_services.decide(who, proposal, "adopt", "x" * decision.TIE_MIN_CHARS)
    assert refused.value.field == "text"
    with pytest.raises(DomainError):
        proposal_services.decide(who, proposal, "adopt", "x" * (decision.TIE_MIN_CHARS - 1), True)
    assert proposal_services.decide(who, proposal, "adopt", TIE_TEXT, True) == "decided_adopted"


def test_the_decision_opens_the_page_and_the_timeline(client, login_as, committee, decided):
    proposal, _poll = decided
    use_english(client)
    login_as(committee.admin_user, committee)
    draft = decision.draft(proposal, "adopt")
    assert "Chosen: A." in draft
    r = client.post(f"/proposals/{proposal.id}/decide/adopt", data={"text": draft + "无异议。"})
    assert r.status_code == 302
    client.get("/logout")
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    panel = page.index('id="decision"')
    assert panel < page.index('class="summary"')
    assert "Chosen: A." in page[panel : page.index("</section>", panel)]
    assert "兰苑社区居委会" in page[panel : page.index("</section>", panel)]
    timeline = page[page.index('id="timeline"') :]
    assert "Adopt" in timeline and "无异议。" in timeline
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "proposal.adopt")
    ).one()
    assert "无异议。" in event.data["reason"]


def test_a_yes_no_poll_records_its_decision_itself(make_proposal, make_poll, committee, residents):
    (voter,) = residents(1)
    proposal = make_proposal(committee.admin_user, as_=committee)
    poll = make_poll(actor(committee.admin_user, committee), proposal_id=proposal.id)
    vote(voter, poll, "yes")
    poll.closes_at = utcnow() - timedelta(seconds=1)
    services.settle(poll)
    db.session.commit()
    proposal = db.session.get(Proposal, proposal.id)
    assert proposal.status == "decided_adopted"
    assert str(decision.draft(proposal, "adopt", conditions=False)) == proposal.decision_text
    assert "1 of 1 eligible voters" in proposal.decision_text or "1/1" in proposal.decision_text
    assert proposal.decided_by_id is None and proposal.decided_at is not None

"""Voting services: opening, eligibility, window, freezing, ballots, secrecy, rules, closing."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from voting_helpers import actor, vote

from coord.audit import canonical_json
from coord.db import db, utcnow
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent, Community
from stakeholders.models import ResidenceStatus
from voting import results, services
from voting.models import Ballot, Elector, Participation, Poll, PollStatus, SealedBallot

from helpers import identity


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _close(poll: Poll) -> dict:
    """Let the poll's time run out, then close it as the scheduler would."""
    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    rv = services.close_poll(poll)
    db.session.commit()
    return rv


# --------------------------------------------------------------------------- opening


def test_opening_on_a_consultation_moves_it_to_voting_and_snapshots_the_electorate(
    committee, make_proposal, make_resident, make_poll, residents
):
    voters = residents(3)
    make_resident("pending_one", status=ResidenceStatus.PENDING)
    proposal = make_proposal(committee.admin_user, as_=committee)
    poll = make_poll(
        actor(committee.admin_user, committee),
        proposal_id=proposal.id,
        method="irv",
        options=["按楼层分摊", "平均分摊", "一楼免缴"],
        secret=True,
    )
    assert proposal.status == "voting"
    assert poll.status == PollStatus.OPEN
    electors = set(db.session.scalars(sa.select(Elector.stakeholder_id)))
    assert electors == {identity(u).id for u in voters}
    assert poll.electorate_size == 3
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["proposal.open_voting", "poll.create", "poll.open"]


def test_only_the_author_or_a_moderator_opens_a_poll(
    committee, make_proposal, make_poll, residents, community
):
    author, other = residents(2)
    proposal = make_proposal(author)
    with pytest.raises(NotAllowed):
        make_poll(actor(other), proposal_id=proposal.id)
    db.session.rollback()
    poll = make_poll(actor(author), proposal_id=proposal.id)
    assert poll.proposal_id == proposal.id
    with pytest.raises(Conflict):  # one poll per proposal
        make_poll(actor(author), proposal_id=proposal.id)
    db.session.rollback()
    with pytest.raises(NotAllowed):  # stand-alone polls: the residents committee only
        make_poll(actor(author), community_id=community.id)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"method": "plurality", "options": ["只有一个"]}, "options"),
        ({"method": "plurality", "options": [f"方案{i}" for i in range(21)]}, "options"),
        ({"method": "plurality", "options": ["A", "A"]}, "options"),
        ({"method": "plurality", "options": ["A", "x" * 81]}, "options"),
        ({"method": "magic", "options": ["A", "B"]}, "method"),
        ({"method": "approval", "options": ["A", "B"], "max_selections": 3}, "max_selections"),
        ({"method": "stv", "options": ["A", "B"], "seats": 2}, "seats"),
        ({"method": "score", "options": ["A", "B"], "max_score": 11}, "max_score"),
        (
            {
                "rule": "weighted",
                "unit": "organisation",
                "kinds": ["resident", "business"],
                "shares": {"resident": 50, "business": 40},
            },
            "shares",
        ),
        ({"method": "plurality", "options": ["A", "B"], "rule": "concurrent"}, "rule"),
        ({"unit": "person", "kinds": ["business"]}, "kinds"),
        ({"quorum": 101}, "quorum"),
        ({"kind_quorum": {"business": 10}}, "kind_quorum"),
        ({"threshold": "most"}, "threshold"),
        ({"invited": [999_999]}, "invited"),
        ({"closes_at": None}, "closes_at"),
        ({"opens_at": "later"}, "opens_at"),
    ],
)
def test_settings_are_validated(make_poll, data, field):
    if data.get("opens_at") == "later":
        data = data | {
            "opens_at": utcnow() + timedelta(days=3),
            "closes_at": utcnow() + timedelta(days=2),
        }
        field = "closes_at"
    with pytest.raises(DomainError) as caught:
        make_poll(**data)
    assert caught.value.field == field
    db.session.rollback()
    assert _count(Poll) == 0


def test_a_later_opening_is_scheduled_then_opened_on_first_access(make_poll, residents):
    (voter,) = residents(1)
    now = utcnow()
    poll = make_poll(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=1))
    assert poll.status == PollStatus.SCHEDULED
    assert _count(Elector) == 0
    with pytest.raises(NotAllowed, match="not open yet"):
        vote(voter, poll, "yes")
    db.session.rollback()
    assert _count(Participation) == 0
    poll.opens_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.due_polls() == [poll.id]
    vote(voter, poll, "yes")  # the first access after the opening time opens it
    assert poll.status == PollStatus.OPEN
    assert poll.electorate_size == 1
    assert _count(Ballot) == 1


def test_after_closing_time_ballots_are_refused(make_poll, residents):
    voter, late = residents(2)
    poll = make_poll()
    vote(voter, poll, "yes")
    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(NotAllowed, match="closed"):
        vote(late, poll, "no")
    db.session.rollback()
    assert services.settle(poll)
    db.session.commit()
    assert poll.status == PollStatus.CLOSED
    with pytest.raises(NotAllowed, match="closed"):
        vote(late, poll, "no")
    db.session.rollback()
    assert _count(Ballot) == 1


# --------------------------------------------------------------------------- freezing


def test_rules_freeze_at_the_first_ballot_and_the_end_only_moves_later(
    make_poll, residents, committee
):
    (voter,) = residents(1)
    runner = actor(committee.admin_user, committee)
    poll = make_poll(method="plurality", options=["A", "B"])
    closes = poll.closes_at
    services.update_poll(
        runner,
        poll,
        {
            "title": "改过的标题",
            "method": "plurality",
            "options": ["A", "B", "C"],
            "closes_at": closes,
        },
    )
    db.session.commit()
    assert poll.options == ["A", "B", "C"]
    vote(voter, poll, "C")
    assert poll.frozen_at is not None
    with pytest.raises(Conflict, match="frozen"):
        services.update_poll(
            runner,
            poll,
            {"title": "x", "method": "plurality", "options": ["A", "B"], "closes_at": closes},
        )
    db.session.rollback()
    with pytest.raises(DomainError, match="reason"):
        services.extend_poll(runner, poll, closes + timedelta(days=1), "  ")
    db.session.rollback()
    with pytest.raises(DomainError, match="later"):
        services.extend_poll(runner, poll, closes - timedelta(hours=1), "提前结束")
    db.session.rollback()
    services.extend_poll(runner, poll, closes + timedelta(days=2), "春节假期，延长两天")
    db.session.commit()
    assert poll.closes_at == closes + timedelta(days=2)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "poll.extend"))
    assert event.data["reason"] == "春节假期，延长两天"
    assert event.is_public


def test_only_the_opener_side_extends(make_poll, residents):
    (other,) = residents(1)
    poll = make_poll()
    with pytest.raises(NotAllowed):
        services.extend_poll(actor(other), poll, poll.closes_at + timedelta(days=1), "想延长")


# --------------------------------------------------------------------------- ballots


def test_an_open_ballot_names_the_voter_and_can_be_changed_with_a_reason(make_poll, residents):
    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=["A", "B"])
    vote(voter, poll, "A")
    services.change_ballot(actor(voter), poll, "B", reason="看了修正案后改变主意")
    db.session.commit()
    ballot = db.session.scalar(sa.select(Ballot))
    assert ballot.voter_id == identity(voter).id
    assert ballot.content == {"choice": "B"}
    assert ballot.reason == "看了修正案后改变主意"
    assert ballot.updated_at is not None
    assert _count(Participation) == 1 and _count(Ballot) == 1
    with pytest.raises(Conflict, match="already voted"):
        vote(voter, poll, "A")


def test_a_secret_ballot_is_sealed_then_has_no_voter_no_time_and_a_receipt_that_verifies(
    make_poll, residents
):
    (voter,) = residents(1)
    poll = make_poll(method="schulze", options=["A", "B", "C"], secret=True)
    got = vote(voter, poll, ["B", "A"])
    assert _count(Ballot) == 0
    (sealed,) = db.session.execute(sa.text("SELECT * FROM sealed_ballots")).mappings().all()
    assert set(sealed) == {"id", "poll_id", "sealed"}
    assert re.fullmatch(r"[0-9a-f]{32}", sealed["id"])
    assert got.receipt.encode() not in bytes(sealed["sealed"])
    _close(poll)
    assert _count(SealedBallot) == 0
    rows = db.session.execute(sa.text("SELECT * FROM ballots")).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["voter_id"] is None
    assert row["updated_at"] is None
    assert re.fullmatch(r"[0-9a-f]{32}", row["id"])
    assert row["reason"] == ""
    content = json.loads(row["content"]) if isinstance(row["content"], str) else row["content"]
    expected = hashlib.sha256((canonical_json(content) + got.nonce).encode()).hexdigest()
    assert row["receipt"] == got.receipt == expected
    assert got.content == canonical_json({"choice": ["B", "A"]})
    participation = db.session.scalar(sa.select(Participation))
    assert participation.voter_id == identity(voter).id  # who took part is kept apart
    with pytest.raises(Conflict, match="cannot be changed"):
        services.change_ballot(actor(voter), poll, ["A"])


def test_no_event_or_log_names_a_voters_choice(make_poll, residents, caplog):
    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=["甲方案", "乙方案"], secret=True)
    before = _count(AuditEvent)
    vote(voter, poll, "乙方案")
    assert _count(AuditEvent) == before
    assert "乙方案" not in caplog.text


@pytest.mark.parametrize(
    ("method", "extra", "choice"),
    [
        ("plurality", {}, "另一个投票的选项"),
        ("plurality", {}, 1),
        ("yes_no", {"allow_abstain": False}, "abstain"),
        ("approval", {"max_selections": 2}, ["A", "B", "C"]),
        ("approval", {"min_selections": 1}, []),
        ("approval", {}, ["A", "A"]),
        ("score", {"max_score": 5}, {"A": 6}),
        ("score", {"max_score": 5}, {"A": 2.5}),
        ("score", {"max_score": 5}, ["A"]),
        ("irv", {}, ["A", "A"]),
        ("irv", {}, ["A", "Z"]),
        ("schulze", {}, "A"),
        ("stv", {"seats": 2}, {"A": 1}),
    ],
)
def test_bad_ballots_are_refused_and_nothing_is_stored(make_poll, residents, method, extra, choice):
    (voter,) = residents(1)
    options = {} if method == "yes_no" else {"options": ["A", "B", "C"]}
    poll = make_poll(method=method, **options, **extra)
    with pytest.raises(DomainError) as caught:
        vote(voter, poll, choice)
    assert caught.value.status == 400
    db.session.rollback()
    assert _count(Participation) == 0 and _count(Ballot) == 0
    assert poll.frozen_at is None


# --------------------------------------------------------------------------- eligibility


def test_eligibility_by_community_and_verification(make_poll, residents, make_resident, app):
    (local,) = residents(1)
    pending = make_resident("pending_voter", status=ResidenceStatus.PENDING)
    other_community = Community(
        street_id=db.session.scalar(sa.select(Community.street_id)), name="新河社区"
    )
    db.session.add(other_community)
    db.session.commit()
    outsider = make_resident("outsider")
    profile = outsider and db.session.execute(
        sa.text("UPDATE resident_profiles SET community_id = :c WHERE user_id = :u"),
        {"c": other_community.id, "u": outsider.id},
    )
    assert profile is not None
    db.session.commit()
    poll = make_poll()
    for user in (pending, outsider):
        with pytest.raises(NotAllowed, match="electorate"):
            vote(user, poll, "yes")
        db.session.rollback()
    vote(local, poll, "yes")
    # Without "verified only", a pending claim in the community is enough.
    loose = make_poll(title="宽松", verified_only=False)
    vote(pending, loose, "no")
    # Without the community restriction (and verified only), any verified resident.
    anywhere = make_poll(title="全街道", community_only=False)
    vote(outsider, anywhere, "no")
    with pytest.raises(NotAllowed):
        vote(pending, anywhere, "no")


def test_eligibility_by_kind_and_invitation(make_poll, residents, orgs):
    voter, uninvited = residents(2)
    business = orgs["business"]
    residents_only = make_poll(unit="organisation", kinds=["resident"])
    with pytest.raises(NotAllowed, match="electorate"):
        vote(business.admin_user, residents_only, "yes", as_=business)
    db.session.rollback()
    invited = make_poll(
        title="邀请",
        unit="organisation",
        kinds=["resident", "business"],
        invited=[identity(voter).id, business.id],
    )
    assert invited.electorate_size == 2
    vote(voter, invited, "yes")
    vote(business.delegate_user, invited, "no", as_=business)
    with pytest.raises(NotAllowed):
        vote(uninvited, invited, "yes")


def test_an_organisation_votes_once_through_an_admin_or_delegate(make_poll, orgs):
    gov = orgs["government"]
    poll = make_poll(unit="organisation", kinds=["government", "business"])
    with pytest.raises(NotAllowed, match="admins or delegates"):
        vote(gov.member_user, poll, "yes", as_=gov)
    db.session.rollback()
    vote(gov.delegate_user, poll, "yes", as_=gov)
    with pytest.raises(Conflict, match="already voted"):
        vote(gov.admin_user, poll, "no", as_=gov)
    db.session.rollback()
    participation = db.session.scalar(sa.select(Participation))
    assert participation.voter_id == gov.id
    assert participation.user_id == gov.delegate_user.id
    assert _count(Ballot) == 1


def test_in_a_person_poll_one_votes_as_oneself_whatever_one_acts_as(make_poll, orgs):
    gov = orgs["government"]
    poll = make_poll(unit="person", community_only=False, verified_only=False)
    # The street office's admin is no resident with a claim here, but has a resident identity.
    vote(gov.admin_user, poll, "yes", as_=gov)
    participation = db.session.scalar(sa.select(Participation))
    assert participation.voter_id == identity(gov.admin_user).id


# --------------------------------------------------------------------------- rules


def _mixed_poll(make_poll, **data):
    return make_poll(
        unit="organisation",
        kinds=["government", "business", "resident", "social_organization"],
        **data,
    )


def test_weighted_rule_gives_each_kind_its_share(make_poll, residents, orgs):
    voters = residents(4)
    poll = _mixed_poll(
        make_poll,
        method="plurality",
        options=["A", "B"],
        rule="weighted",
        shares={"resident": 40, "business": 30, "government": 30},
    )
    for user in voters:
        vote(user, poll, "A")
    vote(orgs["business"].admin_user, poll, "B", as_=orgs["business"])
    vote(orgs["government"].admin_user, poll, "B", as_=orgs["government"])
    counted = _close(poll)
    # Pooled, A would win 4:2; weighted, B gets 60 % of the 6 votes.
    assert counted["overall"]["winners"] == ["B"]
    assert counted["overall"]["details"]["counts"] == pytest.approx({"A": 2.4, "B": 3.6})
    assert counted["groups"]["groups"]["resident"]["share"] == pytest.approx(0.4)


def test_concurrent_majority_needs_every_kind(make_poll, residents, orgs):
    voters = residents(3)
    poll = _mixed_poll(make_poll, rule="concurrent")
    for user in voters:
        vote(user, poll, "yes")
    vote(orgs["business"].admin_user, poll, "no", as_=orgs["business"])
    counted = _close(poll)
    assert counted["overall"]["carried"] is True  # 3 yes : 1 no overall
    assert counted["carried"] is False
    assert counted["decision"] == "not_carried"
    assert counted["groups"]["groups_carried"] == ["resident"]


def test_concurrent_majority_in_at_least_k_kinds(make_poll, residents, orgs):
    voters = residents(2)
    poll = _mixed_poll(make_poll, rule="concurrent", min_groups=2)
    for user in voters:
        vote(user, poll, "yes")
    vote(orgs["government"].admin_user, poll, "yes", as_=orgs["government"])
    vote(orgs["business"].admin_user, poll, "no", as_=orgs["business"])
    counted = _close(poll)
    assert counted["carried"] is True
    assert sorted(counted["groups"]["groups_carried"]) == ["government", "resident"]


def test_quorum_overall_and_per_kind(make_poll, residents, orgs):
    voters = residents(4)
    poll = _mixed_poll(make_poll, quorum=20, kind_quorum={"resident": 60})
    electorate = poll.electorate_size
    for user in voters[:2]:  # 2 of 4 residents: 50 % < 60 %
        vote(user, poll, "yes")
    vote(orgs["business"].admin_user, poll, "yes", as_=orgs["business"])
    counted = _close(poll)
    assert counted["turnout"]["electorate"] == electorate
    assert counted["turnout"]["by_kind"]["resident"] == {"electorate": 4, "voted": 2, "share": 0.5}
    assert counted["quorum"]["overall"]["met"] is (3 / electorate >= 0.2)
    assert counted["quorum"]["by_kind"]["resident"] == {"required": 60, "met": False}
    assert counted["overall"]["carried"] is True
    assert counted["decision"] == "not_carried"  # every vote was yes, but the quorum failed


def test_small_groups_of_secret_polls_are_suppressed(make_poll, residents, orgs):
    voters = residents(5)
    poll = _mixed_poll(make_poll, method="plurality", options=["A", "B"], secret=True)
    for user in voters:
        vote(user, poll, "A")
    vote(orgs["business"].admin_user, poll, "B", as_=orgs["business"])
    counted = _close(poll)
    shown = results.public(poll, counted)
    assert shown["suppressed"] == ["business"]
    assert shown["by_kind"]["business"] == {"suppressed": True}
    assert shown["by_kind"]["resident"]["winners"] == ["A"]
    assert "B" not in json.dumps(shown["groups"]["groups"]["business"])
    # An open poll shows every group.
    assert results.public(poll, counted) != results.public(
        Poll(is_secret=False, settings={}), counted
    )


# --------------------------------------------------------------------------- closing


def test_closing_stores_the_result_digest_and_decides_a_yes_no_consultation(
    committee, make_proposal, make_poll, residents
):
    voters = residents(3)
    proposal = make_proposal(committee.admin_user, as_=committee)
    poll = make_poll(actor(committee.admin_user, committee), proposal_id=proposal.id, secret=True)
    receipts = {
        vote(user, poll, choice).receipt
        for user, choice in zip(voters, ["yes", "yes", "no"], strict=True)
    }
    counted = _close(poll)
    assert poll.status == PollStatus.CLOSED
    assert counted["overall"]["details"]["counts"] == {"yes": 2, "no": 1, "abstain": 0}
    assert counted["decision"] == "carried"
    assert proposal.status == "decided_adopted"
    assert set(db.session.scalars(sa.select(Ballot.receipt))) == receipts  # unsealed, same box
    assert poll.ballots_digest == results.ballots_digest(results.load_ballots(poll))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "poll.close"))
    assert event.is_public and event.data["digest"] == poll.ballots_digest
    assert event.data["unsealed_and_shuffled"] == 3
    assert services.recount(poll) == []
    with pytest.raises(Conflict):
        services.close_poll(poll)


def test_a_ranked_consultation_stays_in_voting_for_the_decision(
    committee, make_proposal, make_poll, residents
):
    (voter,) = residents(1)
    proposal = make_proposal(committee.admin_user, as_=committee)
    poll = make_poll(
        actor(committee.admin_user, committee),
        proposal_id=proposal.id,
        method="schulze",
        options=["A", "B", "C"],
    )
    vote(voter, poll, ["C", "A"])
    counted = _close(poll)
    assert counted["overall"]["winners"] == ["C"]
    assert proposal.status == "voting"


def test_the_opener_closes_early_with_a_reason(make_poll, residents, committee):
    (voter, late) = residents(2)
    poll = make_poll()
    vote(voter, poll, "no")
    with pytest.raises(NotAllowed):
        services.close_poll(poll, actor(voter), "我想结束")
    db.session.rollback()
    with pytest.raises(DomainError, match="reason"):
        services.close_poll(poll, actor(committee.admin_user, committee), "")
    db.session.rollback()
    with pytest.raises(Conflict, match="still open"):
        services.close_poll(poll)  # the clock has not run out
    db.session.rollback()
    services.close_poll(poll, actor(committee.admin_user, committee), "议题已由业主大会决定")
    db.session.commit()
    assert poll.result["early"] is True
    assert poll.result["reason"] == "议题已由业主大会决定"
    with pytest.raises(NotAllowed, match="closed"):
        vote(late, poll, "yes")


def test_once_the_time_has_run_out_the_opener_cannot_close_it_the_tick_does(
    make_poll, residents, committee
):
    (voter,) = residents(1)
    poll = make_poll()
    vote(voter, poll, "yes")
    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(Conflict, match="ended"):
        services.close_poll(poll, actor(committee.admin_user, committee), "太晚了")
    db.session.rollback()
    assert poll.status == PollStatus.OPEN and poll.state == PollStatus.CLOSED
    assert poll.is_counting
    assert services.settle(poll)
    db.session.commit()
    assert poll.status == PollStatus.CLOSED and not poll.is_counting
    assert poll.result["early"] is False


def test_editing_or_extending_a_due_poll_opens_it_first(make_poll, residents, committee):
    residents(2)
    now = utcnow()
    poll = make_poll(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=1))
    poll.opens_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert poll.state == PollStatus.OPEN and poll.status == PollStatus.SCHEDULED
    services.extend_poll(
        actor(committee.admin_user, committee), poll, now + timedelta(days=2), "多留一天"
    )
    db.session.commit()
    assert poll.status == PollStatus.OPEN and poll.electorate_size == 2
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("poll.%")).order_by(AuditEvent.id)
    ).all()
    assert actions == ["poll.create", "poll.open", "poll.extend"]


def test_bulletin_recount_equals_the_stored_result(make_poll, residents):
    voters = residents(6)
    poll = make_poll(method="irv", options=["A", "B", "C"], secret=True)
    for user, ranking in zip(
        voters,
        [["A", "B"], ["B"], ["C", "B"], ["A"], ["B", "C"], ["C", "A", "B"]],
        strict=True,
    ):
        vote(user, poll, ranking)
    counted = _close(poll)
    published = [results.BallotRow(b.receipt, b.kind, b.choice) for b in results.load_ballots(poll)]
    assert results.compute(poll, published) == counted
    assert results.ballots_digest(published) == poll.ballots_digest


def test_recount_finds_a_tampered_ballot(make_poll, residents):
    voters = residents(3)
    poll = make_poll(method="plurality", options=["A", "B"], secret=True)
    for user, choice in zip(voters, ["A", "A", "B"], strict=True):
        vote(user, poll, choice)
    _close(poll)
    assert services.recount(poll) == []
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.content["choice"].as_string() == "B"))
    ballot.content = {"choice": "A"}
    db.session.commit()
    problems = services.recount(poll)
    assert any("digest" in p for p in problems)
    assert any("overall" in p for p in problems)


def test_withdrawing_the_proposal_cancels_its_poll_and_drops_its_sealed_ballots(
    committee, make_proposal, make_poll, residents, app
):
    from proposals import services as proposal_services

    (voter,) = residents(1)
    proposal = make_proposal(committee.admin_user, as_=committee)
    poll = make_poll(actor(committee.admin_user, committee), proposal_id=proposal.id, secret=True)
    vote(voter, poll, "no")
    assert _count(SealedBallot) == 1
    proposal_services.transition_proposal(
        actor(committee.admin_user, committee), proposal, "withdraw", "方案撤回"
    )
    db.session.commit()
    assert poll.status == PollStatus.CANCELLED
    assert _count(SealedBallot) == 0 and _count(Ballot) == 0


def test_a_secret_ballot_stored_in_clear_before_sealing_is_shuffled_in_at_close(
    make_poll, residents
):
    first, second = residents(2)
    poll = make_poll(method="plurality", options=["A", "B"], secret=True)
    vote(first, poll, "A")
    db.session.add(  # cast before ballots were sealed (the upgrade during a poll)
        Ballot(
            id="0" * 32, poll_id=poll.id, kind="resident", content={"choice": "B"}, receipt="f" * 64
        )
    )
    db.session.add(Participation(poll_id=poll.id, voter_id=identity(second).id, user_id=second.id))
    db.session.commit()
    counted = _close(poll)
    assert counted["overall"]["details"]["counts"] == {"A": 1, "B": 1}
    ids = set(db.session.scalars(sa.select(Ballot.id)))
    assert len(ids) == 2 and "0" * 32 not in ids
    assert "f" * 64 in set(db.session.scalars(sa.select(Ballot.receipt)))
    assert _count(SealedBallot) == 0

"""Poll pages: access by role, ballot forms per method, receipts, results, exports, bulletin."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from voting_helpers import actor, vote

from coord.db import db, utcnow
from coord.models import AuditEvent
from proposals.models import Proposal
from voting import receipt_code, services
from voting.models import Ballot, Elector, Participation, Poll, PollStatus, SealedBallot

from helpers import forget_caches, form_errors, identity, use_english


def _close(poll: Poll) -> None:
    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    services.close_poll(poll)
    db.session.commit()


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _poll_form(**extra) -> dict:
    closes = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "电梯费用分摊",
        "method": "irv",
        "options": "按楼层分摊\n平均分摊\n一楼免缴",
        "unit": "person",
        "rule": "pooled",
        "community_only": "y",
        "verified_only": "y",
        "secret": "y",
        "threshold": "simple",
        "base": "cast_excluding_abstentions",
        "closes_at": closes,
    } | extra


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("resident", 403), ("committee", 200)]
)
def test_open_poll_page_by_role(client, login_as, committee, community, residents, who, status):
    (resident,) = residents(1)
    if who == "resident":
        login_as(resident)
    elif who == "committee":
        login_as(committee.admin_user, committee)
    response = client.get(f"/communities/{community.id}/polls/new")
    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("other", 403), ("author", 200), ("committee", 200)]
)
def test_open_poll_on_proposal_by_role(
    client, login_as, committee, make_proposal, residents, who, status
):
    author, other = residents(2)
    proposal = make_proposal(author)
    if who == "other":
        login_as(other)
    elif who == "author":
        login_as(author)
    elif who == "committee":
        login_as(committee.admin_user, committee)
    response = client.get(f"/proposals/{proposal.id}/poll/new")
    assert response.status_code == status


def test_opening_a_secret_ranked_poll_through_the_form(
    client, login_as, committee, make_proposal, residents
):
    residents(2)
    proposal = make_proposal(committee.admin_user, as_=committee)
    login_as(committee.admin_user, committee)
    response = client.post(
        f"/proposals/{proposal.id}/poll/new", data=_poll_form(acting_as=committee.id)
    )
    assert response.status_code == 302
    poll = db.session.scalar(sa.select(Poll))
    assert poll.is_secret and poll.method == "irv"
    assert poll.options == ["按楼层分摊", "平均分摊", "一楼免缴"]
    assert poll.electorate_size == 2
    assert proposal.status == "voting"
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert f"/polls/{poll.id}" in page


def test_the_form_keeps_input_and_shows_errors(client, login_as, committee, community):
    login_as(committee.admin_user, committee)
    use_english(client)
    data = _poll_form(options="只有一个选项", acting_as=committee.id)
    response = client.post(f"/communities/{community.id}/polls/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "只有一个选项" in page and "电梯费用分摊" in page
    assert any("between 2 and 20" in e for e in form_errors(page))
    assert _count(Poll) == 0
    data = _poll_form(
        rule="weighted",
        unit="organisation",
        kinds=["resident", "business"],
        share_resident="50",
        share_business="40",
        acting_as=committee.id,
    )
    page = client.post(f"/communities/{community.id}/polls/new", data=data).get_data(as_text=True)
    assert any("add up to 100" in e for e in form_errors(page))


def test_a_forged_acting_as_is_refused(client, login_as, make_poll, residents, committee):
    voter, other = residents(2)
    poll = make_poll(method="plurality", options=["A", "B"])
    login_as(voter)
    response = client.post(
        f"/polls/{poll.id}/ballot", data={"choice": "0", "acting_as": identity(other).id}
    )
    assert response.status_code == 403
    assert _count(Ballot) == 0


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("resident", 403), ("committee", 302)]
)
def test_close_early_by_role(client, login_as, make_poll, residents, committee, who, status):
    (resident,) = residents(1)
    poll = make_poll()
    if who == "resident":
        login_as(resident)
    elif who == "committee":
        login_as(committee.admin_user, committee)
    response = client.post(
        f"/polls/{poll.id}/close", data={"close-reason": "业主大会已决定", "close-confirm": "y"}
    )
    assert response.status_code == status
    db.session.expire_all()
    assert (poll.status == PollStatus.CLOSED) is (who == "committee")


def test_a_poll_on_a_community_only_proposal_is_hidden_from_outsiders(
    client, login_as, committee, make_proposal, make_poll, make_user
):
    proposal = make_proposal(committee.admin_user, as_=committee, visibility="community")
    poll = make_poll(actor(committee.admin_user, committee), proposal_id=proposal.id)
    assert client.get(f"/polls/{poll.id}").status_code == 404
    assert client.get(f"/api/v1/polls/{poll.id}").status_code == 404
    login_as(committee.admin_user, committee)
    assert client.get(f"/polls/{poll.id}").status_code == 200


# --------------------------------------------------------------------------- ballots


@pytest.mark.parametrize(
    ("method", "extra", "form", "stored"),
    [
        ("yes_no", {}, {"choice": "0"}, "yes"),
        ("plurality", {}, {"choice": "2"}, "C"),
        ("approval", {"max_selections": 2}, {"choice": ["0", "2"]}, ["A", "C"]),
        (
            "score",
            {"max_score": 5},
            {"score-0": "5", "score-1": "", "score-2": "1"},
            {"A": 5, "C": 1},
        ),
        ("schulze", {}, {"rank-0": "2", "rank-1": "", "rank-2": "1"}, ["C", "A"]),
        ("stv", {"seats": 2}, {"rank-0": "3", "rank-1": "1", "rank-2": "2"}, ["B", "C", "A"]),
    ],
)
def test_each_method_has_its_ballot_form(
    client, login_as, make_poll, residents, method, extra, form, stored
):
    (voter,) = residents(1)
    options = {} if method == "yes_no" else {"options": ["A", "B", "C"]}
    poll = make_poll(method=method, secret=True, **options, **extra)
    login_as(voter)
    page = client.get(f"/polls/{poll.id}").get_data(as_text=True)
    field = {
        "yes_no": 'type="radio"',
        "plurality": 'type="radio"',
        "approval": 'type="checkbox"',
        "score": 'name="score-0"',
    }.get(method, 'name="rank-0"')
    assert field in page
    response = client.post(f"/polls/{poll.id}/ballot", data=form)
    assert response.status_code == 200
    assert 'id="receipt-code"' in response.get_data(as_text=True)
    assert _count(Ballot) == 0 and _count(SealedBallot) == 1
    _close(poll)
    ballot = db.session.scalar(sa.select(Ballot))
    assert ballot.content == {"choice": stored}


def test_the_receipt_is_shown_once_in_the_answer_to_the_ballot(
    client, login_as, make_poll, residents
):
    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=["A", "B"], secret=True)
    login_as(voter)
    use_english(client)
    first = client.post(f"/polls/{poll.id}/ballot", data={"choice": "1"})
    page = first.get_data(as_text=True)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    code = re.search(r'id="receipt-code">([0-9A-Z-]{19})<', page)[1]
    again = client.get(f"/polls/{poll.id}/receipt")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/polls/{poll.id}")
    detail = client.get(f"/polls/{poll.id}").get_data(as_text=True)
    assert "shown only once" in detail and code not in detail


@pytest.mark.parametrize(
    ("method", "extra", "form"),
    [
        ("plurality", {}, {"choice": "7"}),  # an option index that does not exist
        ("plurality", {}, {"choice": "A"}),
        ("approval", {"max_selections": 1}, {"choice": ["0", "1"]}),
        ("score", {"max_score": 3}, {"score-0": "9"}),
        ("score", {"max_score": 3}, {"score-0": "1", "score-9": "1"}),
        ("irv", {}, {"rank-0": "1", "rank-1": "1"}),
        ("irv", {}, {"rank-0": "1", "rank-5": "2"}),
        ("irv", {}, {"rank-0": "x"}),
    ],
)
def test_bad_ballot_forms_are_refused_and_keep_the_page(
    client, login_as, make_poll, residents, method, extra, form
):
    (voter,) = residents(1)
    poll = make_poll(method=method, options=["A", "B", "C"], **extra)
    login_as(voter)
    response = client.post(f"/polls/{poll.id}/ballot", data=form)
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)
    assert _count(Participation) == 0 and _count(Ballot) == 0


def test_an_ineligible_user_and_a_second_ballot_get_clear_answers(
    client, login_as, make_poll, residents, make_user
):
    (voter,) = residents(1)
    stranger = make_user("stranger")
    poll = make_poll(method="plurality", options=["A", "B"])
    login_as(stranger)
    use_english(client)
    assert "not in the electorate" in client.get(f"/polls/{poll.id}").get_data(as_text=True)
    response = client.post(f"/polls/{poll.id}/ballot", data={"choice": "0"})
    assert response.status_code == 403
    login_as(voter)
    assert client.post(f"/polls/{poll.id}/ballot", data={"choice": "0"}).status_code == 200
    again = client.post(f"/polls/{poll.id}/ballot", data={"choice": "1"})
    assert again.status_code == 409
    assert "already voted" in again.get_data(as_text=True)


def test_an_open_ballot_is_changed_with_a_reason(client, login_as, make_poll, residents):
    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=["A", "B"])
    vote(voter, poll, "A")
    login_as(voter)
    page = client.get(f"/polls/{poll.id}").get_data(as_text=True)
    assert "/ballot/change" in page and re.search(r'value="0"\s+checked', page)
    response = client.post(
        f"/polls/{poll.id}/ballot/change", data={"choice": "1", "reason": "重新考虑"}
    )
    assert response.status_code == 302
    ballot = db.session.scalar(sa.select(Ballot))
    assert ballot.content == {"choice": "B"} and ballot.reason == "重新考虑"


# --------------------------------------------------------------------------- results


def _voted_poll(make_poll, residents, method, ballots, **extra):
    voters = residents(len(ballots))
    poll = make_poll(method=method, options=["A", "B", "C"], secret=True, **extra)
    for user, choice in zip(voters, ballots, strict=True):
        vote(user, poll, choice)
    return poll


def test_secret_results_are_hidden_until_close(client, make_poll, residents):
    poll = _voted_poll(make_poll, residents, "plurality", ["A", "B"])
    assert client.get(f"/polls/{poll.id}/results").status_code == 403
    assert client.get(f"/api/v1/polls/{poll.id}/results").status_code == 403
    assert client.get(f"/polls/{poll.id}/results.csv").status_code == 403


def test_live_results_of_an_open_poll(client, make_poll, residents):
    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=["A", "B"], live_results=True)
    vote(voter, poll, "B")
    response = client.get(f"/api/v1/polls/{poll.id}/results")
    assert response.status_code == 200
    assert response.json["result"]["overall"]["details"]["counts"] == {"A": 0, "B": 1}


def test_schulze_results_explain_the_pairwise_matrix_and_strongest_paths(
    client, make_poll, residents
):
    ballots = [["A", "B", "C"]] * 3 + [["B", "C", "A"]] * 2 + [["C", "A", "B"]] * 2
    poll = _voted_poll(make_poll, residents, "schulze", ballots)
    _close(poll)
    use_english(client)
    page = client.get(f"/polls/{poll.id}/results").get_data(as_text=True)
    assert "Voters preferring the row to the column" in page
    assert "Strongest paths" in page
    assert "A beats B, C" in page
    assert re.search(r"<strong>A</strong>", page)
    assert "<svg" not in page or 'style="' not in page


def test_irv_results_show_each_round_with_transfers(client, make_poll, residents):
    ballots = [["A"]] * 4 + [["B", "C"]] * 3 + [["C", "B"]] * 2
    poll = _voted_poll(make_poll, residents, "irv", ballots)
    _close(poll)
    use_english(client)
    page = client.get(f"/polls/{poll.id}/results").get_data(as_text=True)
    assert "Round 1" in page and "Round 2" in page
    assert "Eliminated: C." in page
    assert "B +2" in page
    assert "B has more than half" in page
    assert "<svg" in page and ' style="' not in page


def test_stv_results_show_the_quota_and_stages(client, make_poll, residents):
    ballots = [["A", "B"]] * 5 + [["B"]] * 1 + [["C"]] * 3
    poll = _voted_poll(make_poll, residents, "stv", ballots, seats=2)
    _close(poll)
    use_english(client)
    page = client.get(f"/polls/{poll.id}/results").get_data(as_text=True)
    assert "Quota (Droop): 4 votes" in page
    assert "surplus of A transferred" in page


def test_yes_no_results_explain_the_threshold(client, make_poll, residents):
    voters = residents(3)
    poll = make_poll(threshold="two_thirds")
    for user, choice in zip(voters, ["yes", "yes", "no"], strict=True):
        vote(user, poll, choice)
    _close(poll)
    use_english(client)
    page = client.get(f"/polls/{poll.id}/results").get_data(as_text=True)
    assert "Yes has 66.7 %" in page
    assert "Needed: at least 66.7 %" in page
    assert "The motion carries" in page


def test_exports_and_bulletin_board(client, make_poll, residents):
    poll = _voted_poll(make_poll, residents, "plurality", ["A", "B", "A"])
    _close(poll)
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/polls/{poll.id}/results.csv").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    assert ["overall", "", "A", "counts", "2"] in rows
    assert ["kind", "resident", "", "suppressed", "fewer than 5"] in rows
    exported = json.loads(client.get(f"/polls/{poll.id}/results.json").get_data(as_text=True))
    assert exported["result"]["overall"]["winners"] == ["A"]
    assert exported["poll"]["ballots_digest"] == poll.ballots_digest
    receipt = db.session.scalars(sa.select(Ballot.receipt)).first()
    page = client.get(f"/polls/{poll.id}/bulletin?q={receipt[:10]}").get_data(as_text=True)
    assert 'class="found"' in page
    assert page.count(receipt) == 1
    board = client.get(f"/api/v1/polls/{poll.id}/bulletin").json
    assert sorted(b["receipt"] for b in board["ballots"]) == [
        b["receipt"] for b in board["ballots"]
    ]
    assert all(b["kind"] is None for b in board["ballots"])  # fewer than 5: withheld


def test_the_proposal_page_shows_the_poll_with_a_fixed_number_of_queries(
    client, login_as, committee, make_proposal, make_poll, residents, count_queries
):
    (voter,) = residents(1)
    proposal = make_proposal(committee.admin_user, as_=committee)
    login_as(committee.admin_user, committee)
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert f"/proposals/{proposal.id}/poll/new" in page
    poll = make_poll(actor(committee.admin_user, committee), proposal_id=proposal.id)
    login_as(voter)
    forget_caches()  # both views compute the conflict map: only the poll part may differ
    with count_queries() as before:
        client.get(f"/proposals/{proposal.id}")
    vote(voter, poll, "yes")
    forget_caches()
    with count_queries() as after:
        page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert after.count == before.count
    assert f"/polls/{poll.id}" in page


# --------------------------------------------------------------------------- API and CLI


def test_api_ballots(client, login_as, make_poll, residents, make_user):
    (voter,) = residents(1)
    poll = make_poll(method="approval", options=["A", "B", "C"], max_selections=2, secret=True)
    assert (
        client.post(f"/api/v1/polls/{poll.id}/ballots", json={"choice": ["A"]}).status_code == 401
    )
    login_as(voter)
    info = client.get(f"/api/v1/polls/{poll.id}").json
    assert info["method"] == "approval" and info["voted"] is False
    bad = client.post(f"/api/v1/polls/{poll.id}/ballots", json={"choice": ["A", "B", "C"]})
    assert bad.status_code == 400 and "message" in bad.json["error"]
    assert client.post(f"/api/v1/polls/{poll.id}/ballots", json=["A"]).status_code == 400
    ok = client.post(f"/api/v1/polls/{poll.id}/ballots", json={"choice": ["C", "A"]})
    assert ok.status_code == 201
    assert ok.json["content"] == '{"choice":["A","C"]}' and "nonce" not in ok.json
    assert ok.json["code"].replace("-", "") == receipt_code.short_code(ok.json["receipt"])
    again = client.post(f"/api/v1/polls/{poll.id}/ballots", json={"choice": ["B"]})
    assert again.status_code == 409
    assert client.get(f"/api/v1/polls/{poll.id}").json["voted"] is True
    login_as(make_user("outsider"))
    assert (
        client.post(f"/api/v1/polls/{poll.id}/ballots", json={"choice": ["B"]}).status_code == 403
    )
    assert client.post("/api/v1/polls/9999/ballots", json={"choice": ["B"]}).status_code == 404
    assert _count(SealedBallot) == 1 and _count(Ballot) == 0


def test_api_ballot_with_a_token_needs_no_csrf_header(make_app, make_poll, residents):
    from coord import accounts

    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=["A", "B"])
    _token, raw = accounts.create_api_token(voter, "script")
    url = f"/api/v1/polls/{poll.id}/ballots"
    db.session.commit()  # and touch nothing more: SQLite's lock stays free for the other app
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.post(url, json={"choice": "A"}).status_code == 400  # no token: CSRF applies
    ok = client.post(url, json={"choice": "A"}, headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 201, ok.json
    again = client.post(url, json={"choice": "B"}, headers={"Authorization": f"Bearer {raw}"})
    assert again.status_code == 409


def test_recount_command(runner, make_poll, residents):
    poll = _voted_poll(make_poll, residents, "irv", [["A", "B"], ["B"], ["C", "A"]])
    _close(poll)
    ok = runner.invoke(args=["coord", "voting", "recount", str(poll.id)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    ballot = db.session.scalars(sa.select(Ballot)).first()
    ballot.content = {"choice": ["C"] if ballot.content["choice"] != ["C"] else ["A"]}
    db.session.commit()
    failed = runner.invoke(args=["coord", "voting", "recount", str(poll.id)])
    assert failed.exit_code == 1
    assert "RECOUNT FAILED" in failed.output
    assert "digest" in failed.output


def test_open_due_command_opens_and_closes(runner, make_poll, residents):
    (voter,) = residents(1)
    now = utcnow()
    later = make_poll(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=1))
    ending = make_poll(title="即将结束")
    vote(voter, ending, "yes")
    later.opens_at = ending.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    result = runner.invoke(args=["coord", "voting", "open-due"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert later.status == PollStatus.OPEN
    assert ending.status == PollStatus.CLOSED
    assert ending.result["tally"]["decision"] == "carried"


# --------------------------------------------------------------------------- time: the tick


WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(counter) -> list[str]:
    return [q for q in counter.statements if q.lstrip().upper().startswith(WRITES)]


@contextmanager
def _commits() -> Iterator[list[object]]:
    """Collect the session's commits made inside the `with` block (the test's outer
    transaction turns them into savepoints, so count them where the app makes them)."""
    rv: list[object] = []
    session = db.session()

    def seen(_session) -> None:
        if not session.in_nested_transaction():  # a savepoint inside the use case is no commit
            rv.append(_session)

    sa.event.listen(session, "after_commit", seen)
    try:
        yield rv
    finally:
        sa.event.remove(session, "after_commit", seen)


def test_pages_past_the_closing_time_write_nothing_and_the_tick_counts_the_poll(
    client, login_as, runner, committee, make_proposal, make_poll, residents, count_queries
):
    (voter,) = residents(1)
    proposal = make_proposal(committee.admin_user, as_=committee)
    poll = make_poll(actor(committee.admin_user, committee), proposal_id=proposal.id)
    vote(voter, poll, "yes")
    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    events = _count(AuditEvent)
    use_english(client)
    login_as(committee.admin_user, committee)
    with count_queries() as seen:
        page = client.get(f"/polls/{poll.id}").get_data(as_text=True)
        results = client.get(f"/polls/{poll.id}/results")
        info = client.get(f"/api/v1/polls/{poll.id}").json
        api_results = client.get(f"/api/v1/polls/{poll.id}/results")
        edit = client.get(f"/polls/{poll.id}/edit")
        part = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert _writes(seen) == []
    assert "its result is being counted" in page and "Cast my ballot" not in page
    assert results.status_code == 403
    assert "being counted" in results.get_data(as_text=True)
    assert info["status"] == "closed" and info["closed_at"] is None
    assert api_results.status_code == 403
    assert edit.status_code == 302
    assert "poll-closed" in part
    db.session.expire_all()
    assert poll.status == PollStatus.OPEN and poll.result is None
    assert _count(AuditEvent) == events
    assert db.session.get(Proposal, proposal.id).status == "voting"

    ticked = runner.invoke(args=["coord", "tick"])
    assert ticked.exit_code == 0, ticked.output
    assert "voting.cli.settle_due_polls: 1" in ticked.output
    db.session.expire_all()
    assert poll.status == PollStatus.CLOSED
    assert poll.result["tally"]["decision"] == "carried"
    assert db.session.get(Proposal, proposal.id).status == "decided_adopted"
    assert client.get(f"/polls/{poll.id}/results").status_code == 200
    again = runner.invoke(args=["coord", "tick"])
    assert "voting.cli.settle_due_polls: 0" in again.output


def test_a_due_opening_shows_the_ballot_and_the_first_ballot_opens_it_in_one_commit(
    client, login_as, runner, make_poll, residents, count_queries
):
    voter, _other = residents(2)
    now = utcnow()
    later = {"opens_at": now + timedelta(hours=1), "closes_at": now + timedelta(days=1)}
    poll = make_poll(method="plurality", options=["A", "B"], **later)
    waiting = make_poll(title="另一个投票", **later)
    poll.opens_at = waiting.opens_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login_as(voter)
    use_english(client)
    with count_queries() as seen:
        page = client.get(f"/polls/{poll.id}").get_data(as_text=True)
        assert client.get(f"/api/v1/polls/{poll.id}").json["status"] == "open"
    assert _writes(seen) == []
    assert "Cast my ballot" in page and 'class="badge poll-open"' in page
    assert _count(Elector) == 0
    with _commits() as commits:
        response = client.post(f"/polls/{poll.id}/ballot", data={"choice": "1"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(commits) == 1
    db.session.expire_all()
    assert poll.status == PollStatus.OPEN and poll.electorate_size == 2
    assert _count(Ballot) == 1
    assert waiting.status == PollStatus.SCHEDULED
    ticked = runner.invoke(args=["coord", "tick"])
    assert "voting.cli.settle_due_polls: 1" in ticked.output
    db.session.expire_all()
    assert waiting.status == PollStatus.OPEN and waiting.electorate_size == 2

"""The home page's voting source: the open polls a voter has not voted in, and open polls."""

from __future__ import annotations

from voting_helpers import vote

from coord import tasks


def _titles(app, user) -> list[str]:
    with app.test_request_context("/"):
        return [t.title for t in tasks.tasks_for(user) if t.kind_label == "Vote"]


def test_a_resident_sees_their_open_poll_until_they_vote(app, residents, make_user, make_poll):
    voter, other = residents(2)
    poll = make_poll(title="电梯费用分摊方式")
    assert _titles(app, voter) == ["电梯费用分摊方式"]
    vote(voter, poll, "yes")
    assert _titles(app, voter) == []
    assert _titles(app, other) == ["电梯费用分摊方式"]
    assert _titles(app, make_user("stranger")) == []


def test_the_open_poll_is_among_the_public_highlights(app, make_poll):
    make_poll(title="业委会选举")
    with app.test_request_context("/"):
        sections = {s.title: [h.title for h in s.items] for s in tasks.highlights()}
    assert sections["Open polls"] == ["业委会选举"]

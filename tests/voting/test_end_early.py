"""Ending a poll early: a confirmation and a reason, shown on the poll page and audited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from voting_helpers import vote

from coord.db import db
from coord.models import AuditEvent, Notification
from voting import services
from voting.models import PollStatus

from helpers import form_errors, use_english

REASON = "业主大会已作出决定，提前结束。"


@pytest.fixture
def running(client, login_as, make_poll, committee):
    poll = make_poll()
    login_as(committee.admin_user, committee)
    use_english(client)
    return poll


def test_the_poll_page_hides_the_end_behind_a_confirmation(client, running):
    page = client.get(f"/polls/{running.id}").get_data(as_text=True)
    end = re.search(
        r'<details class="disclosure end-early" id="end-early">(.*?)</details>', page, re.S
    )
    assert end and 'name="close-confirm"' in end[1] and 'name="close-reason"' in end[1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"close-reason": REASON}, "Tick the box to confirm."),
        ({"close-reason": "  ", "close-confirm": "y"}, "Give a reason."),
        ({"close-reason": "x" * 501, "close-confirm": "y"}, "Field cannot be longer"),
    ],
)
def test_a_refused_end_keeps_the_reason_and_says_why(client, running, data, message):
    answer = client.post(f"/polls/{running.id}/close", data=data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert any(message in e for e in form_errors(page))
    assert 'id="end-early" open' in page
    typed = data["close-reason"].strip()
    assert not typed or f'value="{typed}"' in page
    db.session.expire_all()
    assert running.status == PollStatus.OPEN


def test_the_reason_is_shown_to_everyone_and_audited(app, client, running):
    answer = client.post(
        f"/polls/{running.id}/close", data={"close-reason": REASON, "close-confirm": "y"}
    )
    assert answer.status_code == 302
    anonymous = app.test_client()
    use_english(anonymous)
    page = anonymous.get(f"/polls/{running.id}").get_data(as_text=True)
    shown = re.search(r'id="ended-early">(.*?)</p>', page, re.S)
    assert shown and "Ended early on" in shown[1] and f"<q>{REASON}</q>" in shown[1]
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "poll.close")).one()
    assert event.data["reason"] == REASON and event.data["early"] is True


def test_a_poll_closed_on_time_says_nothing_about_an_early_end(client, running):
    running.closes_at = running.opens_at
    db.session.commit()
    services.close_poll(running)
    db.session.commit()
    page = client.get(f"/polls/{running.id}").get_data(as_text=True)
    assert "ended-early" not in page and "This poll is closed." in page


def test_the_voters_hear_that_it_ended_early_and_why(
    client, login_as, make_poll, residents, committee
):
    voters = residents(2)
    poll = make_poll()
    for user in voters:
        vote(user, poll, "yes")
    login_as(committee.admin_user, committee)
    client.post(f"/polls/{poll.id}/close", data={"close-reason": REASON, "close-confirm": "y"})
    notes = db.session.scalars(
        sa.select(Notification).where(Notification.kind == services.POLL_ENDED)
    ).all()
    assert sorted(n.user_id for n in notes) == sorted(u.id for u in voters)
    assert all(n.params["reason"] == REASON and n.url == f"/polls/{poll.id}" for n in notes)
    login_as(voters[0])
    page = client.get("/notifications/").get_data(as_text=True)
    assert "已提前结束。理由：" + REASON in page

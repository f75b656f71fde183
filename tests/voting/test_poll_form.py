"""The open-poll form speaks plainly: the committee's question first, a picker for invitees."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord.db import db, utcnow
from voting.forms import METHOD_LABELS, METHOD_QUESTIONS
from voting.models import Poll

from helpers import form_errors, use_english

QUESTIONS = {
    "Agree or not?": ["yes_no"],
    "Pick one option": ["plurality", "irv", "approval", "score"],
    "Elect several representatives": ["stv"],
    "Put options in order of priority": ["borda", "schulze"],
}


def _form(**extra) -> dict:
    closes = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "电梯费用分摊",
        "method": "plurality",
        "options": "按楼层分摊\n平均分摊",
        "unit": "person",
        "rule": "pooled",
        "community_only": "y",
        "verified_only": "y",
        "threshold": "simple",
        "base": "cast_excluding_abstentions",
        "closes_at": closes,
    } | extra


@pytest.fixture
def opener(client, login_as, committee, community):
    login_as(committee.admin_user, committee)
    use_english(client)
    return f"/communities/{community.id}/polls/new", committee


def test_each_question_offers_its_methods_recommended_first(client, opener):
    url, _committee = opener
    page = client.get(url).get_data(as_text=True)
    groups = re.findall(
        r'<p class="question">(.*?)</p>(.*?)</div>', page.split('id="method-picker"')[1], re.S
    )
    found = {
        q: re.findall(r'name="method" id="method-\w+" value="(\w+)"', body) for q, body in groups
    }
    assert found == QUESTIONS
    assert sorted(m for ms in found.values() for m in ms) == sorted(METHOD_LABELS)
    labels = re.findall(r"<label.*?</label>", dict(groups)["Pick one option"], re.S)
    assert ['value="plurality"' in x for x in labels if "Recommended" in x] == [True]
    assert 'value="yes_no" checked' in page  # the default, as before
    assert str(METHOD_LABELS["schulze"]) in page  # the academic name, second


def test_the_questions_cover_every_method_once():
    methods = [m for _q, ms in METHOD_QUESTIONS for m, _plain in ms]
    assert sorted(methods) == sorted(METHOD_LABELS) and len(set(methods)) == len(methods)


@pytest.mark.parametrize("method", ["schulze", "borda", "stv", "score"])
def test_every_method_is_still_reachable(client, opener, method):
    url, committee = opener
    answer = client.post(url, data=_form(method=method, acting_as=committee.id))
    assert answer.status_code == 302, form_errors(answer.get_data(as_text=True))
    assert db.session.scalar(sa.select(Poll.method)) == method


def test_an_unknown_method_is_refused_keeping_the_title(client, opener):
    url, committee = opener
    answer = client.post(url, data=_form(method="dictator", acting_as=committee.id))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'value="电梯费用分摊"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Poll)) == 0


def test_invitees_are_a_checkbox_list_with_a_filter_and_submit(client, opener, make_org):
    url, committee = opener
    make_org("兰苑业主委员会")
    page = client.get(url).get_data(as_text=True)
    picker = page.split("data-picker>")[1].split("data-picker-none")[0]
    assert "<select" not in picker and "data-picker-filter hidden" in picker
    boxes = re.findall(
        r'<input id="invited-\d+" name="invited" type="checkbox" value="(\d+)"', picker
    )
    assert len(boxes) >= 2
    chosen = [int(boxes[0]), int(boxes[-1])]
    answer = client.post(url, data=_form(invited=chosen, acting_as=committee.id))
    assert answer.status_code == 302, form_errors(answer.get_data(as_text=True))
    poll = db.session.scalar(sa.select(Poll))
    assert sorted(poll.settings["eligibility"]["invited"]) == sorted(chosen)

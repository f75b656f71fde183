"""The receipt a voter keeps: a short code, a QR code of the board check, the choice in words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from voting_helpers import vote

from coord.db import db, utcnow
from voting import receipt_code, services
from voting.models import Ballot, Poll
from voting.views import find_on_board

from helpers import use_english

OPTIONS = ["Lift in block 3", "Repaint the hall", "Fix the gate"]


def _close(poll: Poll) -> None:
    poll.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    services.close_poll(poll)
    db.session.commit()


def _code(page: str) -> str:
    return re.search(r'id="receipt-code">([0-9A-Z-]+)<', page)[1]


def test_the_receipt_speaks_plainly_and_shows_the_ranked_choice_once(
    client, login_as, make_poll, residents
):
    (voter,) = residents(1)
    poll = make_poll(method="borda", options=OPTIONS, secret=True)
    login_as(voter)
    form = {"rank-0": "2", "rank-1": "3", "rank-2": "1"}
    page = client.post(f"/polls/{poll.id}/ballot", data=form).get_data(as_text=True)
    code = _code(page)
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", code)
    assert not re.search(r"[0-9a-f]{32}", page)  # neither the full receipt nor the nonce
    assert "nonce" not in page.lower() and "验证密钥" not in page
    assert "{&#34;choice" not in page and "{&quot;choice" not in page and '{"choice' not in page
    assert "本页面只显示一次" not in page and "离开本页后" in page
    ranked = re.search(r'<ol class="choice-words">(.*?)</ol>', page, re.S)[1]
    assert re.findall(r"<li>(.*?)</li>", ranked) == [OPTIONS[2], OPTIONS[0], OPTIONS[1]]
    qr = re.search(r'<svg viewBox="[^"]+" class="receipt-qr">.*?</svg>', page, re.S)
    assert qr and "<path" in qr[0]
    _close(poll)
    receipt = db.session.scalar(sa.select(Ballot.receipt))
    assert code == receipt_code.grouped(receipt_code.short_code(receipt))


def test_a_single_choice_and_scores_are_said_in_words(client, login_as, make_poll, residents):
    first, second = residents(2)
    yes_no = make_poll(method="yes_no", secret=True)
    login_as(first)
    use_english(client)
    page = client.post(f"/polls/{yes_no.id}/ballot", data={"choice": "0"}).get_data(as_text=True)
    assert re.search(r'<ul class="choice-words">\s*<li>Yes</li>', page)
    scored = make_poll(method="score", options=OPTIONS[:2], secret=True, max_score=5)
    login_as(second)
    use_english(client)
    form = {"score-0": "4", "score-1": "1"}
    page = client.post(f"/polls/{scored.id}/ballot", data=form).get_data(as_text=True)
    assert f"<li>{OPTIONS[0]}: 4 points</li>" in page and f"<li>{OPTIONS[1]}: 1 points</li>" in page


def test_before_the_close_the_board_says_when_it_will_be_published(
    client, login_as, make_poll, residents
):
    (voter,) = residents(1)
    poll = make_poll(method="plurality", options=OPTIONS, secret=True)
    vote(voter, poll, OPTIONS[0])
    use_english(client)
    answer = client.get(f"/polls/{poll.id}/bulletin?q=7KQ2")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="board-not-yet"' in page
    assert "published when the vote closes" in page and "<table" not in page
    assert OPTIONS[0] not in page


@pytest.fixture
def closed_board(make_poll, residents) -> tuple[Poll, list[str]]:
    voters = residents(3)
    poll = make_poll(method="plurality", options=OPTIONS, secret=True)
    for user, choice in zip(voters, OPTIONS, strict=True):
        vote(user, poll, choice)
    _close(poll)
    return poll, list(db.session.scalars(sa.select(Ballot.receipt)))


@pytest.mark.parametrize("spell", [str, str.lower, lambda c: c.replace("-", "").lower()])
def test_the_board_finds_a_whole_short_code_and_says_it_was_counted(client, closed_board, spell):
    poll, receipts = closed_board
    code = receipt_code.grouped(receipt_code.short_code(receipts[1]))
    use_english(client)
    page = client.get(f"/polls/{poll.id}/bulletin", query_string={"q": spell(code)}).get_data(
        as_text=True
    )
    assert "your ballot is on the board, so it was counted" in page
    found = re.findall(r'<tr data-code="(\w+)" class="found"', page)
    assert found == [receipt_code.short_code(receipts[1])]
    assert f'<code class="short">{code}</code>' in page


@pytest.mark.parametrize("typed", ["ZZZZ-ZZZZ-ZZZZ-ZZZY", "<script>", "U" * 64, "中文", "-"])
def test_the_board_answers_an_unknown_or_odd_code_without_finding_anything(
    client, closed_board, typed
):
    poll, _receipts = closed_board
    answer = client.get(f"/polls/{poll.id}/bulletin", query_string={"q": typed})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert 'class="found"' not in page and "flash-error" in page and "<script>" not in page


def test_the_board_still_finds_an_old_full_receipt(client, closed_board):
    poll, receipts = closed_board
    page = client.get(f"/polls/{poll.id}/bulletin?q={receipts[2][:24]}").get_data(as_text=True)
    assert re.findall(r'<tr data-code="(\w+)" class="found"', page) == [
        receipt_code.short_code(receipts[2])
    ]


def test_an_ambiguous_prefix_finds_every_candidate_and_says_how_many():
    lines = [
        {"receipt": "0" * 19 + "1" + "0" * 44, "code": "0" * 15 + "G"},
        {"receipt": "0" * 19 + "2" + "0" * 44, "code": "0" * 15 + "Y"},
        {"receipt": "f" * 64, "code": "Z" * 16},
    ]
    assert find_on_board(lines, "0000-00") == lines[:2]
    assert find_on_board(lines, "zzzz") == lines[2:]
    assert find_on_board(lines, "!!") == []

"""Attacks on comments, reactions and reports: no live HTML, clear 4xx answers, never a 500."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from coord.db import db
from coord.errors import DomainError
from proposals import services
from proposals.deliberation import comments
from proposals.deliberation.models import Comment, CommentReaction, Report
from proposals.models import Proposal
from stakeholders.acting import Actor

from helpers import identity, use_english

XSS_BODIES = [
    "<script>alert(1)</script>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](java\u200bscript:alert(1))",
    "[click](\u200bjavascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](java%0ascript:alert(1))",
    "[click](\x01javascript:alert(1))",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](DATA:text/html,<script>alert(1)</script>)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "<iframe src=javascript:alert(1)></iframe>",
    '<object data="javascript:alert(1)"></object>',
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p onmouseover="alert(1)">hover</p>',
    '"><script>alert(1)</script>',
    "</textarea><script>alert(1)</script>",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    '[x](https://example.com" onclick="alert(1))',
    "http://example.com/<script>alert(1)</script>",
    'www.example.com/?q="><svg onload=alert(1)>',
]

DANGEROUS_TAGS = {"script", "svg", "math", "iframe", "object", "embed", "style", "img", "base"}
SAFE_SCHEMES = (None, "http", "https", "mailto")  # None: a relative address


class _Page(HTMLParser):
    """Collect every tag and attribute of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _scheme(value: str) -> str | None:
    """The URL scheme a browser would see (it drops tabs and newlines; we drop more)."""
    url = re.sub(r"[\x00-\x20\u200b-\u200f\u2060\ufeff]", "", value)
    m = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return m[1].lower() if m else None


def assert_no_live_html(html: str) -> None:
    """No script but the site's own, no event handlers or inline styles, no unsafe links."""
    page = _Page()
    page.feed(html)
    for tag, attrs in page.tags:
        if tag == "script":
            assert set(attrs) == {"src", "defer"} and attrs["src"].startswith("/static/"), attrs
            continue
        assert tag not in DANGEROUS_TAGS, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert name != "style", (tag, attrs)
            if name in ("href", "src", "action", "formaction", "xlink:href", "data"):
                assert _scheme(value or "") in SAFE_SCHEMES, (tag, name, value)


def actor_of(user) -> Actor:
    return Actor(user, identity(user))


@pytest.fixture
def world(app, community, committee, make_resident, make_user):
    author = make_resident("author")
    proposal = services.create_proposal(
        actor_of(author),
        {
            "kind": "consultation",
            "community_id": community.id,
            "title": "停车位",
            "summary": "增加停车位",
            "body": "正文",
            "publish": True,
        },
    )
    other = services.create_proposal(
        actor_of(author),
        {
            "kind": "consultation",
            "community_id": community.id,
            "title": "成员可见",
            "summary": "只给成员",
            "visibility": "community",
            "publish": True,
        },
    )
    db.session.commit()
    return {
        "author": author,
        "resident": make_resident("resident"),
        "stranger": make_user("stranger"),
        "proposal": proposal,
        "other": other,
        "committee": committee,
    }


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_hostile_bodies_never_reach_the_page_as_live_html(client, login_as, world):
    login_as(world["resident"])
    proposal = world["proposal"]
    for body in XSS_BODIES:
        r = client.post(f"/proposals/{proposal.id}/comments", data={"body": body})
        assert r.status_code in (302, 422), (body, r.status_code)
    stored = db.session.scalars(sa.select(Comment)).all()
    assert len(stored) >= len(XSS_BODIES) - 2  # only bodies that render to nothing are refused
    for c in stored:
        assert_no_live_html(c.body_html)
    root = stored[0]
    comments.edit_comment(actor_of(world["resident"]), root, "<script>alert('edit')</script>")
    db.session.commit()
    for viewer in (world["resident"], world["committee"].admin_user, None):
        if viewer is None:
            with client.session_transaction() as s:
                s.clear()
        else:
            login_as(viewer)
        html = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
        assert_no_live_html(html)
        history = client.get(f"/comments/{root.id}/history").get_data(as_text=True)
        assert_no_live_html(history)


def test_hidden_hostile_text_stays_inert_for_moderators(client, login_as, world):
    c = comments.post_comment(
        actor_of(world["resident"]), world["proposal"], {"body": "<svg onload=alert(1)>坏"}
    )
    c.hidden_reason = '<script>alert("reason")</script>'
    db.session.commit()
    login_as(world["committee"].admin_user)
    html = client.get(f"/proposals/{world['proposal'].id}").get_data(as_text=True)
    assert_no_live_html(html)
    assert "&lt;script&gt;alert(" in html


def test_hostile_display_names_are_escaped_everywhere(client, login_as, world, make_resident):
    evil = make_resident("evil")
    identity(evil).name = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'
    db.session.commit()
    named = {"body": "正常", "signature": "named"}  # shown by name, so the name is rendered
    c = comments.post_comment(actor_of(evil), world["proposal"], named)
    parent = c
    for _ in range(comments.MAX_NEST + 1):  # deep enough for "in reply to <name>"
        parent = comments.post_comment(
            actor_of(evil), world["proposal"], {"body": "回复", "parent_id": parent.id}
        )
    db.session.commit()
    login_as(world["committee"].admin_user)
    from proposals.deliberation import moderation

    loaded = moderation.load_target("comment", c.id)
    moderation.report_item(actor_of(world["resident"]), *loaded, "<b>reason</b>")
    db.session.commit()
    pages = [
        f"/proposals/{world['proposal'].id}",
        f"/comments/{c.id}/history",
        f"/communities/{world['proposal'].community_id}/moderation",
    ]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        assert_no_live_html(html)
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html, url


HUGE = "长" * 20_000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": HUGE}, "at most 5,000 characters"),
        ({}, "Write your comment first."),
        ({"body": ""}, "Write your comment first."),
        ({"body": "\x00\x01\u200b"}, "Write your comment first."),
        ({"body": "好", "stance": "furious"}, "Not a valid choice"),
        ({"body": "好", "parent_id": "abc"}, "only reply to a comment on this proposal"),
        ({"body": "好", "parent_id": "1e3"}, "only reply to a comment on this proposal"),
        ({"body": "好", "parent_id": str(2**40)}, "only reply to a comment on this proposal"),
        ({"body": "好", "parent_id": "-5"}, "only reply to a comment on this proposal"),
        ({"body": "好", "parent_id": "999999"}, "only reply to a comment on this proposal"),
        ({"body": ["一", "二"], "stance": ["support", "oppose"]}, None),
    ],
)
def test_bad_comment_posts_are_4xx_with_a_message_and_store_nothing(
    client, login_as, world, data, message
):
    login_as(world["resident"])
    use_english(client)
    r = client.post(f"/proposals/{world['proposal'].id}/comments", data=data)
    if message is None:  # repeated fields: the first value is taken
        assert r.status_code == 302
        assert db.session.scalar(sa.select(Comment.body_source)) == "一"
        return
    assert 400 <= r.status_code < 500, r.status_code
    assert message in r.get_data(as_text=True)
    assert _count(Comment) == 0


def test_other_proposals_ids_are_refused_without_side_effects(client, login_as, world):
    foreign = comments.post_comment(
        actor_of(world["author"]), world["other"], {"body": "成员可见的评论"}
    )
    db.session.commit()
    login_as(world["stranger"])
    use_english(client)
    proposal_id = world["proposal"].id
    r = client.post(
        f"/proposals/{proposal_id}/comments", data={"body": "偷看", "parent_id": foreign.id}
    )
    assert r.status_code == 422
    assert "only reply to a comment on this proposal" in r.get_data(as_text=True)
    assert "成员可见的评论" not in r.get_data(as_text=True)  # the foreign text is not leaked
    for url, data in (
        (f"/comments/{foreign.id}/react", {"value": "agree"}),
        (f"/comments/{foreign.id}/delete", {}),
        (f"/comments/{foreign.id}/edit", {"body": "改"}),
        (f"/proposals/{world['other'].id}/comments", {"body": "闯入"}),
        ("/reports", {"target_type": "comment", "target_id": foreign.id, "reason": "x"}),
        ("/reports", {"target_type": "proposal", "target_id": world["other"].id, "reason": "x"}),
    ):
        r = client.post(url, data=data)
        assert r.status_code == 404, (url, r.status_code)
    for url in (f"/comments/{foreign.id}/history", f"/comments/{foreign.id}/edit"):
        assert client.get(url).status_code == 404
    assert _count(Comment) == 1 and _count(CommentReaction) == 0 and _count(Report) == 0


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"value": "love"}, 400, "Choose agree, disagree or pass."),
        ({}, 400, "Choose agree, disagree or pass."),
        ({"value": "<script>"}, 400, "Choose agree, disagree or pass."),
    ],
)
def test_bad_reactions_are_refused(client, login_as, world, data, status, message):
    c = comments.post_comment(actor_of(world["author"]), world["proposal"], {"body": "x"})
    db.session.commit()
    login_as(world["resident"])
    use_english(client)
    r = client.post(f"/comments/{c.id}/react", data=data)
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert _count(CommentReaction) == 0


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"target_type": "comment", "target_id": "abc", "reason": "x"}, 422, "Not a valid integer"),
        ({"target_type": "user", "target_id": "1", "reason": "x"}, 422, "Not a valid choice"),
        ({"target_type": "comment", "reason": "x"}, 422, "Say which item you report."),
        ({"target_type": "comment", "target_id": "999999", "reason": "x"}, 404, "no such item"),
        ({"target_type": "proposal", "target_id": str(2**40), "reason": "x"}, 422, ""),
        ({"target_type": "proposal", "target_id": "{p}", "reason": HUGE}, 422, "at most 500"),
        ({}, 422, "Say what is wrong."),
    ],
)
def test_bad_reports_are_refused(client, login_as, world, data, status, message):
    login_as(world["resident"])
    use_english(client)
    data = {k: v.format(p=world["proposal"].id) for k, v in data.items()}
    r = client.post("/reports", data=data)
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert _count(Report) == 0


def test_oversized_hide_reason_is_refused(client, login_as, world):
    c = comments.post_comment(actor_of(world["author"]), world["proposal"], {"body": "x"})
    db.session.commit()
    from proposals.deliberation import moderation

    report = moderation.report_item(actor_of(world["resident"]), c, world["proposal"], "骂人")
    db.session.commit()
    login_as(world["committee"].admin_user)
    use_english(client)
    r = client.post(f"/reports/{report.id}/hide", data={"reason": HUGE})
    assert r.status_code == 422 and "at most 300 characters" in r.get_data(as_text=True)
    assert HUGE[:300] in r.get_data(as_text=True)  # the moderator's text is kept
    db.session.refresh(c)
    assert not c.is_hidden


@pytest.mark.parametrize(
    "url",
    [
        "/proposals/{p}/comments",
        "/comments/{c}/edit",
        "/comments/{c}/delete",
        "/comments/{c}/react",
        "/reports",
        "/reports/{r}/hide",
        "/reports/{r}/dismiss",
    ],
)
def test_posts_without_csrf_token_are_refused(make_app, world, url):
    c = comments.post_comment(actor_of(world["author"]), world["proposal"], {"body": "x"})
    db.session.flush()
    from proposals.deliberation import moderation

    report = moderation.report_item(actor_of(world["resident"]), c, world["proposal"], "骂人")
    db.session.commit()
    url = url.format(p=world["proposal"].id, c=c.id, r=report.id)
    token = world["committee"].admin_user.session_token
    db.session.rollback()
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = token
        s["lang"] = "en"
    r = client.post(
        url, data={"body": "x", "value": "agree", "reason": "x", "target_type": "comment"}
    )
    assert r.status_code == 400
    assert "form expired" in r.get_data(as_text=True)
    assert _count(Comment) == 1 and _count(CommentReaction) == 0 and _count(Report) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/comments/99999999999/history",
        "/comments/0/history",
        "/comments/-1/history",
        "/comments/abc/history",
        "/communities/99999999999/moderation",
    ],
)
def test_odd_ids_in_addresses_are_404(client, login_as, world, url):
    login_as(world["resident"])
    assert client.get(url).status_code == 404


def test_sort_and_other_query_arguments_never_break_the_page(client, world):
    for query in ("sort=%00", "sort=" + "x" * 5000, "sort=newest&sort=agreed", "sort[]=1"):
        r = client.get(f"/proposals/{world['proposal'].id}?{query}")
        assert r.status_code == 200
        assert_no_live_html(r.get_data(as_text=True))


def test_nothing_half_written_survives_a_failed_reply(world):
    proposal: Proposal = world["proposal"]
    gone = comments.post_comment(actor_of(world["author"]), proposal, {"body": "x"})
    comments.delete_comment(actor_of(world["author"]), gone)
    db.session.commit()
    with pytest.raises(DomainError):  # "this comment was deleted" (in the default language)
        comments.post_comment(
            actor_of(world["resident"]), proposal, {"body": "y", "parent_id": gone.id}
        )
    db.session.rollback()
    db.session.refresh(proposal)
    assert _count(Comment) == 1 and proposal.comment_count == 0

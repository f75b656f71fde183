"""Threaded comments: services, the proposal page's thread, and every comment route."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from coord import signals
from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent
from coord.text import SANITIZER_VERSION
from proposals import services
from proposals.deliberation import comments
from proposals.deliberation import page as page_parts
from proposals.deliberation.models import Comment, CommentReaction, CommentRevision, Reaction
from proposals.models import Follow, Proposal
from proposals.viewer import Viewer
from stakeholders.acting import Actor

from helpers import identity, use_english


def actor_of(user) -> Actor:
    return Actor(user, identity(user))


def make_proposal(author, community, **extra) -> Proposal:
    data = {
        "kind": "consultation",
        "community_id": community.id,
        "title": "加装电梯",
        "summary": "三号楼加装电梯的意见征询",
        "body": "请大家发表意见。",
        "publish": True,
    } | extra
    rv = services.create_proposal(actor_of(author), data)
    db.session.commit()
    return rv


def post(user, proposal, body="我支持", **data) -> Comment:
    rv = comments.post_comment(actor_of(user), proposal, {"body": body, **data})
    db.session.commit()
    return rv


def viewer(user=None, *, participate=True, moderate=False) -> Viewer:
    return Viewer(
        user=user,
        actor=actor_of(user) if user else None,
        roles=frozenset(),
        can_participate=participate and user is not None,
        can_moderate=moderate,
        can_edit=False,
    )


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@dataclass
class World:
    community: object
    committee: object
    author: object  # wrote the proposal
    alice: object  # a verified resident who comments
    bob: object  # another verified resident
    stranger: object  # signed in, no residence
    proposal: Proposal  # public, in deliberation
    members_only: Proposal  # visible to members of the community only


@pytest.fixture
def world(app, community, committee, make_user, make_resident) -> World:
    author = make_resident("author")
    return World(
        community,
        committee,
        author,
        make_resident("alice"),
        make_resident("bob"),
        make_user("stranger"),
        make_proposal(author, community),
        make_proposal(author, community, title="楼道堆物", visibility="community"),
    )


# --- posting and replying ---------------------------------------------------------------


def test_post_stores_sanitised_html_counts_follows_and_signals(world):
    received = []

    def on_posted(sender, actor):
        received.append((sender, actor.user))

    before = world.proposal.last_activity_at
    with signals.comment_posted.connected_to(on_posted):
        c = post(world.alice, world.proposal, "**同意** <b>x</b>", stance="support")
    assert c.body_html == "<p><strong>同意</strong> &lt;b&gt;x&lt;/b&gt;</p>\n"
    assert c.body_source == "**同意** <b>x</b>" and c.sanitizer_version == SANITIZER_VERSION
    assert c.path == f"{c.id:010d}" and c.depth == 0 and c.parent_id is None
    assert c.stance == "support" and c.actor_id == identity(world.alice).id
    db.session.expire_all()
    assert world.proposal.comment_count == 1
    assert world.proposal.last_activity_at >= before
    assert db.session.scalar(
        sa.select(Follow.id).where(
            Follow.proposal_id == world.proposal.id, Follow.user_id == world.alice.id
        )
    )
    assert received == [(c, world.alice)]


def test_replies_nest_to_any_depth_and_one_ordered_query_reads_the_thread(world):
    a = post(world.alice, world.proposal, "A")
    b = post(world.bob, world.proposal, "B")
    a1 = post(world.bob, world.proposal, "A1", parent_id=a.id)
    b1 = post(world.alice, world.proposal, "B1", parent_id=b.id)
    a1a = post(world.alice, world.proposal, "A1a", parent_id=a1.id)
    a2 = post(world.author, world.proposal, "A2", parent_id=a.id)
    assert a1a.path == f"{a.id:010d}/{a1.id:010d}/{a1a.id:010d}" and a1a.depth == 2
    assert a1a.parent_id == a1.id
    thread = comments.load_thread(world.proposal)
    assert [c.body_source for c in thread] == ["A", "A1", "A1a", "A2", "B", "B1"]
    assert [c.id for c in thread] == [a.id, a1.id, a1a.id, a2.id, b.id, b1.id]


def test_display_nests_to_a_readable_depth_then_continues_flat(world):
    chain = [post(world.alice, world.proposal, "0")]
    for i in range(1, 7):
        chain.append(post(world.bob, world.proposal, str(i), parent_id=chain[-1].id))
    other = post(world.bob, world.proposal, "other")
    thread = comments.load_thread(world.proposal)
    rows = page_parts.build_rows(thread, viewer(world.alice), {}, set())
    assert [r.level for r in rows] == [0, 1, 2, 3, 4, 4, 4, 0]
    assert [r.opens for r in rows] == [False, True, True, True, True, False, False, False]
    assert rows[-1].closes == 4 and rows[-1].comment.id == other.id
    assert [r.reply_to.id if r.reply_to else None for r in rows] == [
        None,
        None,
        None,
        None,
        None,
        chain[4].id,
        chain[5].id,
        None,
    ]


def test_reply_to_a_comment_of_another_proposal_is_refused_and_nothing_stored(world):
    foreign = post(world.alice, world.members_only, "别处")
    with pytest.raises(DomainError, match="only reply to a comment on this proposal"):
        comments.post_comment(
            actor_of(world.bob), world.proposal, {"body": "回复", "parent_id": foreign.id}
        )
    db.session.rollback()
    assert count(Comment) == 1
    assert world.proposal.comment_count == 0


@pytest.mark.parametrize("parent_id", [0, None, ""])
def test_empty_parent_means_a_top_level_comment(world, parent_id):
    c = post(world.alice, world.proposal, "顶层", parent_id=parent_id)
    assert c.parent_id is None and c.depth == 0


@pytest.mark.parametrize("parent_id", [-1, 2**40, "3", 999_999])
def test_bad_parent_ids_are_refused(world, parent_id):
    with pytest.raises(DomainError):
        comments.post_comment(
            actor_of(world.alice), world.proposal, {"body": "x", "parent_id": parent_id}
        )


def test_replying_to_a_deleted_or_hidden_comment_is_refused(world):
    gone = post(world.alice, world.proposal, "将删除")
    comments.delete_comment(actor_of(world.alice), gone)
    hidden = post(world.alice, world.proposal, "将隐藏")
    hidden.hidden_reason = "人身攻击"
    db.session.commit()
    with pytest.raises(Conflict, match="deleted"):
        comments.post_comment(
            actor_of(world.bob), world.proposal, {"body": "回复", "parent_id": gone.id}
        )
    db.session.rollback()
    with pytest.raises(Conflict, match="hidden"):
        comments.post_comment(
            actor_of(world.bob), world.proposal, {"body": "回复", "parent_id": hidden.id}
        )
    db.session.rollback()
    assert count(Comment) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write your comment first"),
        ("   \n\u200b ", "Write your comment first"),
        ("---", "Write your comment first"),  # renders to nothing
        ("长" * 5001, "at most 5,000 characters"),
        (None, "Write your comment first"),
    ],
)
def test_body_must_be_present_and_short_enough(world, body, message):
    with pytest.raises(DomainError, match=message):
        comments.post_comment(actor_of(world.alice), world.proposal, {"body": body})
    db.session.rollback()
    assert count(Comment) == 0


def test_body_of_exactly_the_limit_is_accepted(world):
    assert len(post(world.alice, world.proposal, "长" * 5000).body_source) == 5000


def test_unknown_stance_is_refused(world):
    with pytest.raises(DomainError, match="stance"):
        comments.post_comment(
            actor_of(world.alice), world.proposal, {"body": "x", "stance": "angry"}
        )


def _close(proposal):
    proposal.status = "voting"


def _hide(proposal):
    proposal.hidden_reason = "违规"


@pytest.mark.parametrize(
    ("who", "change", "message"),
    [
        ("stranger", None, "cannot take part"),  # cannot see a members-only proposal
        ("alice", _close, "discussion of this proposal is closed"),
        ("alice", _hide, "hidden by the moderators"),
    ],
)
def test_refused_participants_store_nothing(world, who, change, message):
    proposal = world.members_only
    if change:
        change(proposal)
        db.session.commit()
    user = getattr(world, who)
    follows = count(Follow)
    with pytest.raises(NotAllowed, match=message):
        comments.post_comment(actor_of(user), proposal, {"body": "我有意见"})
    db.session.rollback()
    assert count(Comment) == 0 and count(Follow) == follows
    db.session.refresh(proposal)
    assert proposal.comment_count == 0


# --- editing and deleting ------------------------------------------------------------------


def test_edit_keeps_every_earlier_text_as_history(world):
    c = post(world.alice, world.proposal, "第一稿")
    first_html = c.body_html
    assert comments.edit_comment(actor_of(world.alice), c, "第二稿 *强调*") is True
    db.session.commit()
    assert comments.edit_comment(actor_of(world.alice), c, "第三稿") is True
    db.session.commit()
    assert comments.edit_comment(actor_of(world.alice), c, "  第三稿 ") is False
    db.session.commit()
    assert c.body_source == "第三稿" and c.edited_at is not None
    history = comments.revisions(c)
    assert [r.body_source for r in history] == ["第一稿", "第二稿 *强调*"]
    assert history[0].body_html == first_html and history[0].created_at == c.created_at
    assert "<em>强调</em>" in history[1].body_html


@pytest.mark.parametrize("who", ["bob", "author", "committee"])
def test_only_the_author_edits(world, who):
    c = post(world.alice, world.proposal, "原文")
    user = world.committee.admin_user if who == "committee" else getattr(world, who)
    with pytest.raises(NotAllowed):
        comments.edit_comment(actor_of(user), c, "改掉")
    db.session.rollback()
    assert c.body_source == "原文" and count(CommentRevision) == 0


def test_edit_is_refused_once_discussion_is_closed(world):
    c = post(world.alice, world.proposal, "原文")
    world.proposal.status = "voting"
    db.session.commit()
    with pytest.raises(NotAllowed, match="closed"):
        comments.edit_comment(actor_of(world.alice), c, "改掉")


def test_delete_keeps_the_thread_and_its_replies(world):
    root = post(world.alice, world.proposal, "根")
    reply = post(world.bob, world.proposal, "回复", parent_id=root.id)
    comments.delete_comment(actor_of(world.alice), root)
    db.session.commit()
    db.session.expire_all()
    assert root.is_deleted and root.body_source == "根"  # the text stays in the database
    assert world.proposal.comment_count == 1
    rows = page_parts.build_rows(comments.load_thread(world.proposal), viewer(world.bob), {}, set())
    assert [r.comment.id for r in rows] == [root.id, reply.id]
    assert not rows[0].can_react and not rows[0].can_reply and not rows[0].can_delete
    assert count(AuditEvent) == 0 or not db.session.scalar(
        sa.select(AuditEvent.id).where(AuditEvent.action == "moderation.delete")
    )
    with pytest.raises(Conflict, match="already deleted"):
        comments.delete_comment(actor_of(world.alice), root)


def test_a_moderator_deletes_and_it_is_audited_publicly(world):
    c = post(world.alice, world.proposal, "广告")
    staff = world.committee.admin_user
    comments.delete_comment(actor_of(staff), c)
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "moderation.delete"))
    assert event.is_public and event.subject_id == c.id
    assert event.community_id == world.community.id
    assert event.data == {"proposal_id": world.proposal.id}


def test_others_cannot_delete(world):
    c = post(world.alice, world.proposal, "我的")
    with pytest.raises(NotAllowed):
        comments.delete_comment(actor_of(world.bob), c)
    db.session.rollback()
    assert not c.is_deleted


# --- reactions ---------------------------------------------------------------------------


def _counts(c: Comment) -> tuple[int, int, int]:
    db.session.refresh(c)
    return c.agree_count, c.disagree_count, c.pass_count


def react(user, c, value):
    comments.react(actor_of(user), c, value)
    db.session.commit()


def test_one_reaction_per_user_changeable_with_right_counts(world):
    c = post(world.alice, world.proposal, "建议")
    react(world.bob, c, "agree")
    assert _counts(c) == (1, 0, 0)
    react(world.bob, c, "disagree")
    assert _counts(c) == (0, 1, 0)
    react(world.author, c, "pass")
    assert _counts(c) == (0, 1, 1)
    react(world.bob, c, Reaction.PASS)
    assert _counts(c) == (0, 0, 2)
    with pytest.raises(Conflict, match="already reacted"):
        comments.react(actor_of(world.bob), c, "pass")
    db.session.rollback()
    assert _counts(c) == (0, 0, 2)
    rows = db.session.execute(
        sa.select(CommentReaction.user_id, CommentReaction.value).order_by(CommentReaction.id)
    ).all()
    assert rows == [(world.bob.id, Reaction.PASS), (world.author.id, Reaction.PASS)]


def test_reacting_to_your_own_comment_is_refused(world):
    c = post(world.alice, world.proposal, "自己")
    with pytest.raises(NotAllowed, match="your own comment"):
        comments.react(actor_of(world.alice), c, "agree")
    db.session.rollback()
    assert _counts(c) == (0, 0, 0) and count(CommentReaction) == 0


def test_reacting_where_you_cannot_participate_is_refused(world):
    c = post(world.alice, world.members_only, "成员可见")
    with pytest.raises(NotAllowed):
        comments.react(actor_of(world.stranger), c, "agree")
    db.session.rollback()
    world.members_only.status = "voting"
    db.session.commit()
    with pytest.raises(NotAllowed, match="closed"):
        comments.react(actor_of(world.bob), c, "agree")
    db.session.rollback()
    assert _counts(c) == (0, 0, 0) and count(CommentReaction) == 0


@pytest.mark.parametrize("value", ["love", "", None, "AGREE"])
def test_unknown_reactions_are_refused(world, value):
    c = post(world.alice, world.proposal, "x")
    with pytest.raises(DomainError, match="agree, disagree or pass"):
        comments.react(actor_of(world.bob), c, value)


def test_reacting_to_deleted_or_hidden_comments_is_refused(world):
    c = post(world.alice, world.proposal, "x")
    c.hidden_reason = "违规"
    db.session.commit()
    with pytest.raises(Conflict):
        comments.react(actor_of(world.bob), c, "agree")


# --- sorting and the page context -----------------------------------------------------------


def test_sorts_order_threads_and_keep_replies_under_their_parent(world):
    first = post(world.alice, world.proposal, "first")
    second = post(world.bob, world.proposal, "second")
    third = post(world.alice, world.proposal, "third")
    reply = post(world.author, world.proposal, "reply to first", parent_id=first.id)
    react(world.bob, third, "agree")
    react(world.author, third, "agree")
    react(world.author, second, "agree")
    react(world.bob, first, "disagree")

    def order(sort):
        ctx = page_parts.comments_context(world.proposal, viewer(world.alice), {"sort": sort})
        return [r.comment.body_source for r in ctx["comment_rows"]]

    assert order("oldest") == ["first", "reply to first", "second", "third"]
    assert order("newest") == ["third", "second", "first", "reply to first"]
    assert order("agreed") == ["third", "second", "first", "reply to first"]
    assert order("bogus") == order("oldest")
    assert reply.depth == 1


def test_page_context_has_the_viewers_reactions_reports_and_options(world):
    mine = post(world.alice, world.proposal, "mine")
    theirs = post(world.bob, world.proposal, "theirs")
    react(world.alice, theirs, "disagree")
    ctx = page_parts.comments_context(world.proposal, viewer(world.alice), {})
    by_id = {r.comment.id: r for r in ctx["comment_rows"]}
    assert by_id[theirs.id].reaction == "disagree" and by_id[mine.id].reaction is None
    assert by_id[mine.id].can_edit and by_id[mine.id].can_delete and not by_id[mine.id].can_react
    assert not by_id[theirs.id].can_edit and by_id[theirs.id].can_react
    assert ctx["comment_count"] == 2 and ctx["comment_total"] == 2
    assert ctx["comment_form"] is not None and ctx["comment_refusal"] is None
    assert ctx["comment_stance_counts"]["neutral"] == 2
    anonymous = page_parts.comments_context(world.proposal, viewer(None), {})
    assert anonymous["comment_form"] is None
    assert "Sign in" in anonymous["comment_refusal"] or anonymous["comment_refusal"]
    assert not any(r.can_react or r.can_report for r in anonymous["comment_rows"])


# --- routes ------------------------------------------------------------------------------


@pytest.fixture
def page(world):
    """Ids used in URLs: a comment by alice on the public proposal and on the members-only."""
    c = post(world.alice, world.proposal, "公开的评论")
    d = post(world.alice, world.members_only, "成员才能看的评论")
    return {"p": world.proposal.id, "q": world.members_only.id, "c": c.id, "d": d.id}


# (method, url, data, who is right, status for anonymous / stranger / right user)
ROUTES = [
    ("POST", "/proposals/{p}/comments", {"body": "好"}, "stranger", 302, 302, 302),
    ("POST", "/proposals/{q}/comments", {"body": "好"}, "bob", 302, 404, 302),
    ("POST", "/proposals/{q}/comments", {"body": "好", "parent_id": "{d}"}, "bob", 302, 404, 302),
    ("GET", "/comments/{c}/edit", None, "alice", 302, 403, 200),
    ("POST", "/comments/{c}/edit", {"body": "改"}, "alice", 302, 403, 302),
    ("GET", "/comments/{d}/edit", None, "alice", 302, 404, 200),
    ("POST", "/comments/{c}/delete", {}, "alice", 302, 403, 302),
    ("POST", "/comments/{d}/delete", {}, "committee", 302, 404, 302),
    ("POST", "/comments/{c}/react", {"value": "agree"}, "bob", 302, 302, 302),
    ("POST", "/comments/{d}/react", {"value": "agree"}, "bob", 302, 404, 302),
    ("GET", "/comments/{c}/reply", None, "bob", 302, 200, 200),
    ("GET", "/comments/{d}/reply", None, "bob", 302, 404, 200),
    ("GET", "/comments/{c}/history", None, "anyone", 200, 200, 200),
    ("GET", "/comments/{d}/history", None, "bob", 404, 404, 200),
    ("GET", "/comments/{c}", None, "anyone", 302, 302, 302),
    ("GET", "/comments/{d}", None, "bob", 404, 404, 302),
    ("GET", "/comments/999999/history", None, "anyone", 404, 404, 404),
    ("POST", "/proposals/999999/comments", {"body": "好"}, "bob", 302, 404, 404),
]


@pytest.mark.parametrize(("method", "url", "data", "who", "anonymous", "stranger", "right"), ROUTES)
def test_access_table(
    client, login_as, world, page, method, url, data, who, anonymous, stranger, right
):
    url = url.format(**page)
    data = {k: v.format(**page) for k, v in (data or {}).items()}
    r = client.open(url, method=method, data=data)
    assert r.status_code == anonymous
    if anonymous == 302 and method == "POST":
        assert "/login" in r.headers["Location"]
    login_as(world.stranger)
    assert client.open(url, method=method, data=data).status_code == stranger
    user = world.committee.admin_user if who == "committee" else getattr(world, who, None)
    login_as(user or world.stranger)
    assert client.open(url, method=method, data=data).status_code == right


def test_posting_redirects_to_the_new_comment_with_a_message(client, login_as, world):
    login_as(world.bob)
    use_english(client)
    r = client.post(
        f"/proposals/{world.proposal.id}/comments", data={"body": "支持", "stance": "support"}
    )
    c = db.session.scalar(sa.select(Comment))
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/proposals/{world.proposal.id}#comment-{c.id}")
    assert c.stance == "support" and c.actor_id == identity(world.bob).id
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Your comment was posted." in page


def test_posting_as_an_organisation_records_it_as_the_speaker(client, login_as, world, make_org):
    org = make_org("安居物业", members={world.bob: "member"})
    login_as(world.bob, acting_as=org)
    client.post(f"/proposals/{world.proposal.id}/comments", data={"body": "物业意见"})
    c = db.session.scalar(sa.select(Comment))
    assert c.actor_id == org.id and c.user_id == world.bob.id


def test_a_failed_post_keeps_the_text_and_says_why(client, login_as, world):
    login_as(world.bob)
    use_english(client)
    text = "我的长篇意见<很重要>" + "长" * 5000
    r = client.post(f"/proposals/{world.proposal.id}/comments", data={"body": text})
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "at most 5,000 characters" in body
    assert "我的长篇意见&lt;很重要&gt;" in body
    assert count(Comment) == 0


def test_posting_to_a_closed_discussion_is_403_with_the_text_kept(client, login_as, world):
    world.proposal.status = "voting"
    db.session.commit()
    login_as(world.bob)
    use_english(client)
    r = client.post(f"/proposals/{world.proposal.id}/comments", data={"body": "迟到的意见"})
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    assert "discussion of this proposal is closed" in body and "迟到的意见" in body
    assert count(Comment) == 0


def test_replying_across_proposals_through_the_form_is_refused(client, login_as, world, page):
    login_as(world.bob)
    use_english(client)
    r = client.post(
        f"/proposals/{world.proposal.id}/comments", data={"body": "串门", "parent_id": page["d"]}
    )
    assert r.status_code == 422
    assert "only reply to a comment on this proposal" in r.get_data(as_text=True)
    assert count(Comment) == 2


def test_reply_page_works_without_javascript(client, login_as, world, page):
    login_as(world.bob)
    use_english(client)
    html = client.get(f"/comments/{page['c']}/reply").get_data(as_text=True)
    assert "公开的评论" in html and f'name="parent_id" value="{page["c"]}"' in html
    assert "not posted yet" not in html
    r = client.post(
        f"/proposals/{world.proposal.id}/comments", data={"body": "回复", "parent_id": page["c"]}
    )
    reply = db.session.scalar(sa.select(Comment).where(Comment.parent_id == page["c"]))
    assert r.headers["Location"].endswith(f"#comment-{reply.id}") and reply.depth == 1
    comments.delete_comment(actor_of(world.alice), db.session.get(Comment, page["c"]))
    db.session.commit()
    r = client.get(f"/comments/{page['c']}/reply")
    assert r.status_code == 409 and "cannot be replied to" in r.get_data(as_text=True)
    world.proposal.status = "voting"
    db.session.commit()
    r = client.get(f"/comments/{reply.id}/reply")
    assert r.status_code == 403 and "closed" in r.get_data(as_text=True)


def test_the_page_offers_in_place_replies_through_a_script_file(client, login_as, world, page):
    login_as(world.bob)
    html = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    assert '<template id="comment-reply-template">' in html
    assert '<script src="/static/js/comments.js" defer></script>' in html
    assert f'href="/comments/{page["c"]}/reply" data-reply-to="{page["c"]}"' in html
    script = client.get("/static/js/comments.js")
    assert script.status_code == 200
    script.close()


def test_edit_page_is_prefilled_and_history_shows_every_text(client, login_as, world, page):
    login_as(world.alice)
    use_english(client)
    form = client.get(f"/comments/{page['c']}/edit").get_data(as_text=True)
    assert "公开的评论" in form
    r = client.post(f"/comments/{page['c']}/edit", data={"body": "改过的评论"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"#comment-{page['c']}")
    history = client.get(f"/comments/{page['c']}/history").get_data(as_text=True)
    assert history.index("改过的评论") < history.index("公开的评论")
    r = client.post(f"/comments/{page['c']}/edit", data={"body": ""})
    assert r.status_code == 422 and "Write your comment first." in r.get_data(as_text=True)


def test_reacting_through_the_route_and_twice(client, login_as, world, page):
    login_as(world.bob)
    use_english(client)
    url = f"/comments/{page['c']}/react"
    assert client.post(url, data={"value": "agree"}).status_code == 302
    r = client.post(url, data={"value": "agree"}, follow_redirects=True)
    assert "You have already reacted this way." in r.get_data(as_text=True)
    c = db.session.get(Comment, page["c"])
    db.session.refresh(c)
    assert (c.agree_count, count(CommentReaction)) == (1, 1)


@pytest.fixture
def limited_app(make_app):
    """An app with rate limits on; the shared limiter is put back as it was afterwards."""
    from coord.extensions import limiter

    enabled = limiter.enabled
    yield make_app(RATELIMIT_ENABLED=True, RATELIMIT_COMMENT_POSTS="2 per minute")
    limiter.reset()
    limiter.enabled = enabled


def test_posting_is_rate_limited_per_user(limited_app, world):
    app = limited_app
    client = app.test_client()
    url = f"/proposals/{world.proposal.id}/comments"
    tokens = [world.alice.session_token, world.bob.session_token]
    db.session.rollback()  # end this session's transaction: the other app writes
    for token, expected in zip(tokens, ([302, 302, 429], [302]), strict=True):
        with client.session_transaction() as s:
            s["_user_id"] = token
        assert [client.post(url, data={"body": "x"}).status_code for _ in expected] == expected
    assert count(Comment) == 3


def test_an_app_with_limits_off_never_limits_posting(client, login_as, world):
    login_as(world.alice)
    url = f"/proposals/{world.proposal.id}/comments"
    assert {client.post(url, data={"body": "y"}).status_code for _ in range(12)} == {302}


# --- the proposal page -------------------------------------------------------------------


class _Tree(HTMLParser):
    """Collect element ids with their nesting depth in comment lists."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.items: list[tuple[int, int]] = []  # (comment id, number of enclosing <ol>)

    def handle_starttag(self, tag, attrs):
        if tag == "li" or tag == "ol":
            self.stack.append(tag)
        if tag == "li":
            m = re.fullmatch(r"comment-(\d+)", dict(attrs).get("id") or "")
            if m:
                self.items.append((int(m[1]), self.stack.count("ol")))

    def handle_endtag(self, tag):
        if tag in ("li", "ol"):
            assert self.stack and self.stack[-1] == tag, (tag, self.stack)
            self.stack.pop()


def test_the_page_shows_the_thread_nested_with_marks(client, login_as, world):
    root = post(world.alice, world.proposal, "根评论", stance="support")
    chain = [root]
    for i in range(6):
        chain.append(post(world.bob, world.proposal, f"第{i}层", parent_id=chain[-1].id))
    gone = post(world.bob, world.proposal, "要删掉的")
    post(world.alice, world.proposal, "留下的回复", parent_id=gone.id)
    comments.delete_comment(actor_of(world.bob), gone)
    comments.edit_comment(actor_of(world.alice), root, "根评论（修改）")
    db.session.commit()
    react(world.bob, root, "agree")
    login_as(world.bob)
    use_english(client)
    html = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    tree = _Tree()
    tree.feed(html)
    assert tree.stack == []  # lists and items are balanced
    levels = [n for _id, n in tree.items]
    assert levels == [1, 2, 3, 4, 5, 5, 5, 1, 2]
    assert "根评论（修改）" in html and "要删掉的" not in html and "留下的回复" in html
    assert "This comment was deleted." in html
    assert f'href="/comments/{root.id}/history"' in html and ">edited<" in html
    assert "in reply to" in html
    assert re.search(r'aria-pressed="true"[^>]*>Agree <span class="n">1</span>', html)
    assert 'rel="stylesheet" href="/static/css/comments.css"' in html


def test_anonymous_readers_see_the_thread_and_a_sign_in_invitation(client, world, page):
    use_english(client)
    html = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    assert "公开的评论" in html and "Sign in to take part in the discussion." in html
    assert "/react" not in html and 'name="parent_id"' not in html


def test_the_page_links_the_sorts_and_orders_by_them(client, login_as, world):
    post(world.alice, world.proposal, "较早的")
    post(world.bob, world.proposal, "较新的")
    html = client.get(f"/proposals/{world.proposal.id}?sort=newest").get_data(as_text=True)
    assert html.index("较新的") < html.index("较早的")
    assert 'href="?sort=newest#comments" aria-current="page"' in html


def _bulk_comments(proposal, user, n: int, reactor) -> None:
    """Insert `n` comments (a third of them replies) and a few reactions, fast."""
    stakeholder = identity(user)
    base = {
        "proposal_id": proposal.id,
        "user_id": user.id,
        "actor_id": stakeholder.id,
        "stance": "neutral",
        "body_source": "意见",
        "body_html": "<p>意见</p>",
        "sanitizer_version": SANITIZER_VERSION,
        "path": "",
        "depth": 0,
    }
    roots = n - n // 3
    ids = db.session.scalars(
        sa.insert(Comment).returning(Comment.id, sort_by_parameter_order=True),
        [base] * roots,
    ).all()
    db.session.execute(sa.update(Comment), [{"id": i, "path": f"{i:010d}"} for i in ids])
    replies = [base | {"parent_id": ids[k % roots], "depth": 1} for k in range(n - roots)]
    if replies:
        reply_ids = db.session.scalars(
            sa.insert(Comment).returning(Comment.id, sort_by_parameter_order=True), replies
        ).all()
        db.session.execute(
            sa.update(Comment),
            [
                {"id": i, "path": f"{r['parent_id']:010d}/{i:010d}"}
                for i, r in zip(reply_ids, replies, strict=True)
            ],
        )
    db.session.execute(
        sa.insert(CommentReaction),
        [
            {
                "comment_id": i,
                "proposal_id": proposal.id,
                "user_id": reactor.id,
                "actor_id": identity(reactor).id,
                "value": "agree",
            }
            for i in ids[::5]
        ],
    )
    proposal.comment_count = n
    db.session.commit()


def _is_discussion_query(statement: str) -> bool:
    """The thread query and the viewer's marks (other parts of the page read comments too)."""
    return "ORDER BY comments.path" in statement or (
        "comment_reactions" in statement and "reports" in statement
    )


def test_query_count_of_the_page_does_not_depend_on_the_number_of_comments(
    client, login_as, world, count_queries, make_resident
):
    small = world.proposal
    large = make_proposal(world.author, world.community, title="大讨论")
    _bulk_comments(small, world.alice, 10, world.bob)
    _bulk_comments(large, world.alice, 500, world.bob)
    for who in (None, world.bob):
        if who is not None:
            login_as(who)
        counts = []
        for proposal, n in ((small, 10), (large, 500)):
            with count_queries() as counter:
                r = client.get(f"/proposals/{proposal.id}")
            assert r.status_code == 200
            assert r.get_data(as_text=True).count('class="comment-item"') == n
            counts.append(counter.count)
        assert counts[0] == counts[1], counts
        # The discussion's own share: the thread with its authors, and the viewer's marks.
        mine = [q for q in counter.statements if _is_discussion_query(q)]
        assert len(mine) == (1 if who is None else 2), mine
        if who is None:
            # The whole page, signatures (1) and the conflict map's resident groups (2) included.
            assert counts[1] <= 16, counter.statements

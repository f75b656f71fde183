"""Moderation: reports, automatic hiding, hiding with a public reason, dismissing, the queue."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from coord import signals
from coord.db import db
from coord.errors import Conflict, DomainError, NotAllowed
from coord.models import AuditEvent, Community
from proposals import comments, moderation, services
from proposals.models import Comment, Proposal, Report, ReportStatus
from stakeholders.acting import Actor
from stakeholders.models import Function, Kind

from helpers import identity, use_english


def actor_of(user) -> Actor:
    return Actor(user, identity(user))


def make_proposal(author, community, **extra) -> Proposal:
    data = {
        "kind": "consultation",
        "community_id": community.id,
        "title": "广场舞时间",
        "summary": "调整广场舞的时间和音量",
        "body": "正文",
        "publish": True,
    } | extra
    rv = services.create_proposal(actor_of(author), data)
    db.session.commit()
    return rv


def report(user, target, reason="人身攻击") -> Report:
    loaded = moderation.load_target(
        "comment" if isinstance(target, Comment) else "proposal", target.id
    )
    rv = moderation.report_item(actor_of(user), *loaded, reason)
    db.session.commit()
    return rv


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


@dataclass
class World:
    community: object
    committee: object
    staff: object  # a residents committee member: the moderator
    author: object
    residents: list
    stranger: object
    proposal: Proposal
    comment: Comment


@pytest.fixture
def world(app, community, committee, make_user, make_resident) -> World:
    author = make_resident("author")
    residents = [make_resident(f"r{i}") for i in range(4)]
    proposal = make_proposal(author, community)
    comment = comments.post_comment(
        actor_of(residents[0]), proposal, {"body": "**难听的话**", "stance": "oppose"}
    )
    db.session.commit()
    return World(
        community,
        committee,
        committee.admin_user,
        author,
        residents,
        make_user("stranger"),
        proposal,
        comment,
    )


# --- reporting ----------------------------------------------------------------------------


def test_report_is_stored_once_per_user_and_counted(world):
    r = report(world.residents[1], world.comment, "  骂人\u200b ")
    assert (r.target_type, r.target_id, r.proposal_id) == (
        "comment",
        world.comment.id,
        world.proposal.id,
    )
    assert r.community_id == world.community.id and r.reason == "骂人"
    assert r.status == ReportStatus.OPEN and world.comment.open_reports == 1
    assert not world.comment.is_hidden
    with pytest.raises(Conflict, match="already reported"):
        report(world.residents[1], world.comment, "再报一次")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1
    (event,) = events("moderation.report")
    assert not event.is_public and event.data == {
        "report_id": r.id,
        "proposal_id": world.proposal.id,
    }


def test_anyone_signed_in_who_can_see_it_reports_a_proposal(world):
    r = report(world.stranger, world.proposal, "广告")
    assert r.target_type == "proposal" and world.proposal.open_reports == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "Say what is wrong"), ("\u200b  ", "Say what is wrong"), ("长" * 501, "at most 500")],
)
def test_report_needs_a_short_reason(world, reason, message):
    with pytest.raises(DomainError, match=message):
        report(world.residents[1], world.comment, reason)


def test_reporting_your_own_comment_or_proposal_is_refused(world):
    with pytest.raises(NotAllowed, match="your own"):
        report(world.residents[0], world.comment)
    with pytest.raises(NotAllowed, match="your own"):
        report(world.author, world.proposal)


def test_reporting_what_you_cannot_see_is_refused_as_not_found(world):
    hidden = make_proposal(world.author, world.community, visibility="community")
    with pytest.raises(NotAllowed) as exc:
        report(world.stranger, hidden)
    assert exc.value.status == 404
    assert moderation.load_target("comment", 10**12) is None
    assert moderation.load_target("user", world.author.id) is None
    assert moderation.load_target("comment", "1") is None


def test_three_open_reports_hide_the_item_pending_review(world):
    for user in world.residents[1:3]:
        report(user, world.comment)
    assert not world.comment.is_hidden
    report(world.residents[3], world.comment)
    db.session.expire_all()
    assert world.comment.hidden_reason == moderation.AUTO_HIDE_REASON
    assert world.comment.open_reports == 3
    assert world.comment.body_source == "**难听的话**"  # never deleted
    (event,) = events("moderation.auto_hide")
    assert event.is_public and event.user_id is None and event.actor_id is None
    assert event.community_id == world.community.id
    assert event.data == {"proposal_id": world.proposal.id, "open_reports": 3}
    with pytest.raises(Conflict, match="already hidden"):
        report(world.stranger, world.comment)


def test_a_proposal_with_three_reports_is_hidden_and_its_discussion_paused(world):
    for user in world.residents[:3]:
        report(user, world.proposal)
    db.session.expire_all()
    assert world.proposal.is_hidden
    with pytest.raises(NotAllowed, match="hidden by the moderators"):
        comments.post_comment(actor_of(world.residents[3]), world.proposal, {"body": "还能说吗"})


# --- hiding and dismissing --------------------------------------------------------------------


def test_moderator_hides_with_a_public_reason_and_upholds_all_reports(world):
    first = report(world.residents[1], world.comment)
    second = report(world.residents[2], world.comment)
    handled = []

    def on_handled(sender, actor):
        handled.append((sender.id, actor.user.id))

    with signals.report_handled.connected_to(on_handled):
        moderation.hide_item(actor_of(world.staff), second, "  含人身攻击 ")
        db.session.commit()
    db.session.expire_all()
    assert world.comment.hidden_reason == "含人身攻击" and world.comment.open_reports == 0
    assert world.comment.body_source == "**难听的话**"
    assert {first.status, second.status} == {ReportStatus.UPHELD}
    assert first.handled_by_id == world.staff.id and first.handled_at is not None
    assert sorted(handled) == [(first.id, world.staff.id), (second.id, world.staff.id)]
    (event,) = events("moderation.hide")
    assert event.is_public and event.community_id == world.community.id
    assert (event.subject_type, event.subject_id) == ("comment", world.comment.id)
    assert event.data == {"proposal_id": world.proposal.id, "report_ids": [first.id, second.id]}
    assert event.actor_id == identity(world.staff).id


def test_hiding_needs_a_reason_and_an_open_report(world):
    r = report(world.residents[1], world.comment)
    with pytest.raises(DomainError, match="public reason"):
        moderation.hide_item(actor_of(world.staff), r, " ")
    db.session.rollback()
    with pytest.raises(DomainError, match="at most 300"):
        moderation.hide_item(actor_of(world.staff), r, "长" * 301)
    db.session.rollback()
    moderation.dismiss_reports(actor_of(world.staff), r)
    db.session.commit()
    with pytest.raises(Conflict, match="already handled"):
        moderation.hide_item(actor_of(world.staff), r, "太晚了")


@pytest.mark.parametrize("who", ["author", "stranger", "resident"])
def test_only_the_committee_moderates(world, who):
    r = report(world.residents[1], world.comment)
    user = {"author": world.author, "stranger": world.stranger, "resident": world.residents[2]}
    with pytest.raises(NotAllowed):
        moderation.hide_item(actor_of(user[who]), r, "藏起来")
    with pytest.raises(NotAllowed):
        moderation.dismiss_reports(actor_of(user[who]), r)
    db.session.rollback()
    assert r.status == ReportStatus.OPEN and not world.comment.is_hidden
    assert events("moderation.hide") == [] and events("moderation.dismiss") == []


def test_another_communitys_committee_cannot_moderate(world, make_org, make_user):
    other = Community(street_id=world.community.street_id, name="新河社区")
    db.session.add(other)
    db.session.commit()
    foreign_staff = make_user("xinhe_staff")
    org = make_org(
        "新河社区居委会",
        Kind.SOCIAL_ORGANIZATION,
        Function.RESIDENTS_COMMITTEE,
        admin=foreign_staff,
    )
    org.community_id = other.id
    db.session.commit()
    r = report(world.residents[1], world.comment)
    with pytest.raises(NotAllowed):
        moderation.hide_item(actor_of(foreign_staff), r, "藏起来")


def test_dismissing_lifts_an_automatic_hide(world):
    reports = [report(u, world.comment) for u in world.residents[1:4]]
    assert world.comment.is_hidden
    moderation.dismiss_reports(actor_of(world.staff), reports[0])
    db.session.commit()
    db.session.expire_all()
    assert not world.comment.is_hidden and world.comment.open_reports == 0
    assert {r.status for r in reports} == {ReportStatus.DISMISSED}
    (event,) = events("moderation.dismiss")
    assert event.is_public and event.data["report_ids"] == [r.id for r in reports]


def test_dismissing_keeps_a_moderators_hide(world):
    r = report(world.residents[1], world.comment)
    moderation.hide_item(actor_of(world.staff), r, "广告")
    db.session.commit()
    world.comment.hidden_reason = None  # restored; then reported and hidden again
    db.session.commit()
    r2 = report(world.residents[2], world.comment)
    world.comment.hidden_reason = "广告"
    db.session.commit()
    moderation.dismiss_reports(actor_of(world.staff), r2)
    db.session.commit()
    assert world.comment.hidden_reason == "广告"


def test_hidden_reason_text_translates_only_the_automatic_reason(bare_app):
    assert moderation.hidden_reason_text(moderation.AUTO_HIDE_REASON).startswith("Hidden")
    assert moderation.hidden_reason_text("广告") == "广告"
    assert moderation.hidden_reason_text(None) == ""


def test_queue_groups_open_reports_by_item(world):
    report(world.residents[1], world.comment, "骂人")
    report(world.residents[2], world.comment, "攻击")
    report(world.residents[1], world.proposal, "广告")
    items = moderation.queue(world.community.id)
    assert [(i.target_type, i.target.id) for i in items] == [
        ("comment", world.comment.id),
        ("proposal", world.proposal.id),
    ]
    assert [r.reason for r in items[0].reports] == ["骂人", "攻击"]
    assert moderation.queue(world.community.id + 1) == []


# --- routes ------------------------------------------------------------------------------


@pytest.fixture
def ids(world):
    r = report(world.residents[1], world.comment, "骂人")
    return {"c": world.comment.id, "r": r.id, "community": world.community.id}


# (method, url, data, status for anonymous / stranger / committee member)
ROUTES = [
    (
        "POST",
        "/reports",
        {"target_type": "comment", "target_id": "{c}", "reason": "x"},
        302,
        302,
        302,
    ),
    ("GET", "/reports/new?target_type=comment&target_id={c}", None, 302, 200, 200),
    ("GET", "/reports/new?target_type=comment&target_id=999999", None, 302, 404, 404),
    ("GET", "/reports/new?target_type=alien&target_id={c}", None, 302, 404, 404),
    ("GET", "/communities/{community}/moderation", None, 302, 403, 200),
    ("GET", "/communities/999999/moderation", None, 302, 404, 404),
    ("POST", "/reports/{r}/hide", {"reason": "违规"}, 302, 403, 302),
    ("POST", "/reports/{r}/dismiss", {}, 302, 403, 302),
    ("POST", "/reports/999999/dismiss", {}, 302, 404, 404),
]


@pytest.mark.parametrize(("method", "url", "data", "anonymous", "stranger", "right"), ROUTES)
def test_access_table(client, login_as, world, ids, method, url, data, anonymous, stranger, right):
    url = url.format(**ids)
    data = {k: v.format(**ids) for k, v in (data or {}).items()}
    r = client.open(url, method=method, data=data)
    assert r.status_code == anonymous
    if anonymous == 302:
        assert "/login" in r.headers["Location"]
    login_as(world.stranger)
    assert client.open(url, method=method, data=data).status_code == stranger
    login_as(world.staff)
    assert client.open(url, method=method, data=data).status_code == right


def test_reporting_through_the_form_thanks_and_returns_to_the_comment(client, login_as, world):
    login_as(world.residents[1])
    use_english(client)
    r = client.post(
        "/reports", data={"target_type": "comment", "target_id": world.comment.id, "reason": "骂人"}
    )
    assert r.status_code == 302
    assert r.headers["Location"].endswith(
        f"/proposals/{world.proposal.id}#comment-{world.comment.id}"
    )
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "The moderators will review your report." in page
    assert "You reported this comment." in page
    r = client.post(
        "/reports", data={"target_type": "comment", "target_id": world.comment.id, "reason": "再报"}
    )
    assert r.status_code == 409 and "You have already reported this." in r.get_data(as_text=True)


def test_the_report_link_opens_a_form_for_that_item(client, login_as, world):
    login_as(world.residents[1])
    use_english(client)
    page = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    link = f"/reports/new?target_type=comment&amp;target_id={world.comment.id}"
    assert link in page
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "A comment on 广场舞时间" in form
    assert f'name="target_id" value="{world.comment.id}"' in form


def test_a_report_without_reason_keeps_the_form(client, login_as, world):
    login_as(world.residents[1])
    use_english(client)
    r = client.post("/reports", data={"target_type": "comment", "target_id": world.comment.id})
    assert r.status_code == 422 and "Say what is wrong." in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_the_page_shows_the_automatic_reason_and_only_moderators_see_the_text(
    client, login_as, world
):
    for user in world.residents[1:4]:
        report(user, world.comment)
    use_english(client)
    login_as(world.stranger)
    page = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    assert "Hidden by the moderators: Hidden pending review after several reports." in page
    assert "难听的话" not in page
    login_as(world.staff)
    page = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    assert "难听的话" in page and "moderators only" in page


def test_queue_page_lists_items_and_hiding_shows_the_reason_in_place(client, login_as, world, ids):
    login_as(world.staff)
    use_english(client)
    queue = client.get(f"/communities/{world.community.id}/moderation").get_data(as_text=True)
    assert "难听的话" in queue and "骂人" in queue and "1 open report" in queue
    assert "r1" not in queue  # reporters stay anonymous
    r = client.post(f"/reports/{ids['r']}/hide", data={"reason": "含人身攻击"})
    assert r.status_code == 302
    page = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    assert "Hidden by the moderators: 含人身攻击" in page
    login_as(world.stranger)
    page = client.get(f"/proposals/{world.proposal.id}").get_data(as_text=True)
    assert "Hidden by the moderators: 含人身攻击" in page and "难听的话" not in page
    queue_after = client.get(f"/communities/{world.community.id}/moderation")
    assert queue_after.status_code == 403


def test_a_hide_without_reason_re_renders_the_queue_with_the_error(client, login_as, world, ids):
    login_as(world.staff)
    use_english(client)
    r = client.post(f"/reports/{ids['r']}/hide", data={"reason": ""})
    assert r.status_code == 422
    assert "Give the public reason for hiding it." in r.get_data(as_text=True)
    assert not db.session.get(Comment, world.comment.id).is_hidden


def test_moderation_events_are_on_the_public_supervision_page(client, login_as, world, ids):
    login_as(world.staff)
    client.post(f"/reports/{ids['r']}/dismiss")
    with client.session_transaction() as s:
        s.clear()
    use_english(client)
    page = client.get(f"/supervision?community={world.community.id}").get_data(as_text=True)
    assert identity(world.staff).name in page
    assert "骂人" not in page  # the reporter's words are not published
    (event,) = events("moderation.dismiss")
    assert event.is_public

"""Who gets notified of what happens to a proposal (proposals/notify.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g
from flask_babel import force_locale, gettext

from coord import accounts, notifications, signals
from coord.db import db, utcnow
from coord.models import Notification, User
from proposals import notify, services
from proposals import permissions as perm
from proposals.deliberation import notify as deliberation_notify
from proposals.deliberation.models import (
    Amendment,
    AmendmentStatus,
    Comment,
    Position,
    PositionStance,
    Report,
    ReportStatus,
)
from proposals.models import Follow, Proposal
from stakeholders.acting import Actor
from stakeholders.models import (
    Function,
    Kind,
    Membership,
    MembershipStatus,
    ResidenceStatus,
    ResidentProfile,
    Role,
)
from stakeholders.permissions import forget_roles

from helpers import PASSWORD, identity


def actor_for(user: User, stakeholder=None) -> Actor:
    return Actor(user, stakeholder or identity(user))


def follow(proposal: Proposal, *users: User) -> None:
    for user in users:
        services.follow(actor_for(user), proposal)
    db.session.commit()


def add_comment(proposal: Proposal, user: User, parent: Comment | None = None) -> Comment:
    """Write a comment row and announce it, as the comment service does."""
    comment = Comment(
        proposal_id=proposal.id,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        path="",
        user_id=user.id,
        actor_id=identity(user).id,
        body_source="同意",
        body_html="<p>同意</p>",
    )
    db.session.add(comment)
    db.session.flush()
    comment.path = (f"{parent.path}/" if parent else "") + f"{comment.id:010d}"
    signals.comment_posted.send(comment, actor=actor_for(user))
    db.session.commit()
    return comment


def inbox(user: User) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def kinds(user: User) -> list[str]:
    return [n.kind for n in inbox(user)]


@pytest.fixture
def people(make_user):
    """An author, two followers and a bystander."""
    return tuple(make_user(name) for name in ("author", "fan1", "fan2", "bystander"))


def test_new_comment_notifies_followers_but_not_the_commenter(people, make_proposal):
    author, fan1, fan2, bystander = people
    proposal = make_proposal(author)
    follow(proposal, fan1, fan2)
    comment = add_comment(proposal, fan1)
    assert kinds(author) == ["comment"] and kinds(fan2) == ["comment"]
    assert kinds(fan1) == [] and kinds(bystander) == []
    note = inbox(author)[0]
    assert note.message == deliberation_notify.MESSAGES["comment"]
    assert note.params == {"name": {"stakeholder": identity(fan1).id}, "title": proposal.title}
    with force_locale("en"):
        assert notifications.text_of(note) == f"fan1 commented on “{proposal.title}”."
    assert note.url == f"/proposals/{proposal.id}#comment-{comment.id}"
    assert note.read_at is None and note.emailed_at is None


def test_an_erased_name_disappears_from_notifications(people, make_proposal):
    author, fan1, *_ = people
    proposal = make_proposal(author)
    add_comment(proposal, fan1)
    accounts.delete_account(fan1, PASSWORD)
    db.session.commit()
    [note] = inbox(author)
    assert "fan1" not in str(note.params)
    with force_locale("en"):
        assert notifications.text_of(note) == f"deleted user commented on “{proposal.title}”."


def test_reply_notifies_the_parent_author_once(people, make_proposal):
    author, fan1, _fan2, bystander = people
    proposal = make_proposal(author)
    follow(proposal, fan1)
    parent = add_comment(proposal, fan1)
    add_comment(proposal, bystander, parent=parent)  # the bystander does not follow
    assert kinds(fan1) == ["reply"]  # not also "comment"
    assert inbox(fan1)[0].message == deliberation_notify.MESSAGES["reply"]
    assert kinds(author) == ["comment", "comment"]
    assert kinds(bystander) == []


def test_replying_to_oneself_notifies_nobody_of_a_reply(people, make_proposal):
    author, _fan1, *_ = people
    proposal = make_proposal(author)
    parent = add_comment(proposal, author)
    add_comment(proposal, author, parent=parent)
    assert kinds(author) == []


def test_reply_to_a_deleted_comment_is_no_reply_notification(people, make_proposal):
    author, fan1, fan2, _b = people
    proposal = make_proposal(author)
    parent = add_comment(proposal, fan1)
    parent.deleted_at = utcnow()
    db.session.commit()
    add_comment(proposal, fan2, parent=parent)
    assert kinds(fan1) == []  # not a follower, and the deleted comment is not theirs any more


def test_muted_kinds_are_skipped(people, make_proposal):
    author, fan1, fan2, _b = people
    proposal = make_proposal(author)
    follow(proposal, fan1, fan2)
    notifications.save_settings(fan2, email=False, digest=False, muted=["comment"])
    db.session.commit()
    add_comment(proposal, fan1)
    assert kinds(fan2) == [] and kinds(author) == ["comment"]


def test_deleted_and_disabled_users_are_skipped(people, make_proposal):
    author, fan1, fan2, bystander = people
    proposal = make_proposal(author)
    follow(proposal, fan1, fan2)
    fan1.is_disabled = True
    fan2.deleted_at = utcnow()
    db.session.commit()
    add_comment(proposal, bystander)
    assert kinds(fan1) == [] and kinds(fan2) == [] and kinds(author) == ["comment"]


def test_followers_who_can_no_longer_see_are_skipped(
    make_user, make_resident, make_proposal, community
):
    author = make_resident("author")
    neighbour, moved_away = make_resident("neighbour"), make_resident("moved")
    proposal = make_proposal(author, visibility="community")
    follow(proposal, neighbour, moved_away)
    profile = db.session.scalar(
        sa.select(ResidentProfile).where(ResidentProfile.user_id == moved_away.id)
    )
    profile.status = ResidenceStatus.REJECTED  # no longer a verified resident here
    db.session.commit()
    add_comment(proposal, author)
    assert kinds(neighbour) == ["comment"]
    assert kinds(moved_away) == []


def test_state_change_notifies_followers_with_the_translated_state(people, make_proposal):
    author, fan1, _fan2, _b = people
    proposal = make_proposal(author)
    follow(proposal, fan1)
    services.transition_proposal(actor_for(author), proposal, "open_voting")
    db.session.commit()
    assert kinds(author) == []
    [note] = inbox(fan1)
    assert note.kind == "state" and note.params["state"] == {"msgid": "Voting"}
    with force_locale("en"):
        assert notifications.text_of(note) == f"author moved “{proposal.title}” to: Voting."
    with force_locale("zh_Hans_CN"):
        text = notifications.text_of(note)
    assert "表决中" in text and "Voting" not in text and proposal.title in text


def test_message_templates_are_translated_in_chinese(people, make_proposal):
    author, fan1, *_ = people
    proposal = make_proposal(author)
    follow(proposal, fan1)
    services.transition_proposal(actor_for(author), proposal, "open_voting")
    db.session.commit()
    [note] = inbox(fan1)
    with force_locale("zh_Hans_CN"):
        if gettext(note.message) == note.message:
            pytest.skip("the zh_Hans_CN catalog does not translate the notification texts yet")
        assert "moved" not in notifications.text_of(note)


def test_system_transition_has_no_actor_name(people, make_proposal):
    author, fan1, *_ = people
    proposal = make_proposal(author)
    follow(proposal, fan1)
    services.transition_proposal(actor_for(author), proposal, "open_voting")
    services.transition_proposal(None, proposal, "adopt", system=True)
    db.session.commit()
    last = inbox(fan1)[-1]
    assert last.message == notify.MESSAGES["state_system"]
    assert kinds(author) == ["state"]  # the system is nobody: the author hears of it too


def test_position_notifies_the_author_and_followers(people, make_org, make_proposal):
    author, fan1, fan2, bystander = people
    manager = make_org(admin=bystander)
    proposal = make_proposal(author)
    follow(proposal, fan1)
    # the author stops following, but still hears about positions on their proposal
    services.unfollow(actor_for(author), proposal)
    position = Position(
        proposal_id=proposal.id,
        stakeholder_id=manager.id,
        user_id=bystander.id,
        stance=PositionStance.CONDITIONAL,
        conditions="夜间不施工",
    )
    db.session.add(position)
    db.session.flush()
    signals.position_declared.send(position, actor=actor_for(bystander, manager))
    db.session.commit()
    assert kinds(author) == ["position"] and kinds(fan1) == ["position"]
    assert kinds(bystander) == [] and kinds(fan2) == []
    note = inbox(fan1)[0]
    with force_locale("en"):
        assert notifications.text_of(note) == (
            f"安居物业 declared a position on “{proposal.title}”: Conditional support."
        )


def test_amendment_decision_tells_its_author_personally(people, make_proposal):
    author, fan1, _fan2, drafter = people
    proposal = make_proposal(author)
    follow(proposal, fan1)
    amendment = Amendment(
        proposal_id=proposal.id,
        base_version=1,
        user_id=drafter.id,
        actor_id=identity(drafter).id,
        title="改到南侧",
        body_source="南侧",
        body_html="<p>南侧</p>",
        status=AmendmentStatus.REJECTED,
        decided_by_id=author.id,
        decided_at=utcnow(),
    )
    db.session.add(amendment)
    db.session.flush()
    signals.amendment_decided.send(amendment, actor=actor_for(author))
    db.session.commit()
    assert kinds(author) == []
    messages = deliberation_notify.MESSAGES
    assert [n.message for n in inbox(drafter)] == [messages["amendment_rejected_own"]]
    assert [n.message for n in inbox(fan1)] == [messages["amendment_rejected"]]
    assert inbox(fan1)[0].params["amendment"] == "改到南侧"


def _report(proposal: Proposal, user: User, target_id: int, **extra) -> Report:
    rv = Report(
        target_type="comment",
        target_id=target_id,
        proposal_id=proposal.id,
        community_id=proposal.community_id,
        user_id=user.id,
        reason="广告",
        **extra,
    )
    db.session.add(rv)
    return rv


def test_handled_reports_notify_each_reporter_once(make_user, committee, make_proposal):
    author, r1, r2, r3 = (make_user(n) for n in ("author", "r1", "r2", "r3"))
    proposal = make_proposal(author)
    comment = add_comment(proposal, author)
    long_ago = utcnow() - timedelta(days=7)
    _report(
        proposal, r3, comment.id, status=ReportStatus.UPHELD, handled_at=long_ago
    )  # an earlier handling
    reports = [_report(proposal, r, comment.id) for r in (r1, r2)]
    db.session.flush()
    moderator = committee.admin_user
    now = utcnow()
    for r in reports:
        r.status, r.handled_by_id, r.handled_at = ReportStatus.UPHELD, moderator.id, now
    db.session.flush()
    for r in reports:  # moderation sends one signal per handled report
        signals.report_handled.send(r, actor=actor_for(moderator, committee))
    db.session.commit()
    assert kinds(r1) == ["report"] and kinds(r2) == ["report"]
    assert kinds(r3) == [] and kinds(moderator) == []
    assert inbox(r1)[0].message == deliberation_notify.MESSAGES["report_upheld_comment"]
    assert kinds(author) == []  # reports tell the reporters only


def test_notifications_are_inserted_in_bulk(make_user, make_proposal, count_queries):
    author, commenter = make_user("author"), make_user("commenter")
    proposal = make_proposal(author)
    fans = [make_user(f"fan{i}") for i in range(25)]

    def comment_with_followers(n: int) -> tuple[int, int]:
        db.session.execute(sa.delete(Follow).where(Follow.user_id != author.id))
        db.session.add_all(Follow(proposal_id=proposal.id, user_id=f.id) for f in fans[:n])
        db.session.commit()
        db.session.expire_all()
        comment = Comment(
            proposal_id=proposal.id,
            path="x",
            user_id=commenter.id,
            actor_id=identity(commenter).id,
            body_source="好",
            body_html="<p>好</p>",
        )
        db.session.add(comment)
        db.session.flush()
        actor = actor_for(commenter)
        with count_queries() as counter:
            signals.comment_posted.send(comment, actor=actor)
        db.session.commit()
        inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT")]
        assert len(inserts) == 1 and "notifications" in inserts[0]
        return counter.count, db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.kind == "comment")
        )

    few, created_few = comment_with_followers(2)
    many, created_many = comment_with_followers(25)
    assert few == many <= 5
    assert created_few == 3 and created_many == 3 + 26  # the followers and the author


def test_no_followers_no_insert(make_user, make_proposal, count_queries):
    author = make_user("author")
    proposal = make_proposal(author)
    with count_queries() as counter:
        add_comment(proposal, author)
    assert not [s for s in counter.statements if "INSERT INTO notifications" in s]


def test_a_rolled_back_comment_leaves_no_notification(people, make_proposal):
    author, fan1, *_ = people
    proposal = make_proposal(author)
    comment = Comment(
        proposal_id=proposal.id,
        path="x",
        user_id=fan1.id,
        actor_id=identity(fan1).id,
        body_source="好",
        body_html="<p>好</p>",
    )
    db.session.add(comment)
    db.session.flush()
    signals.comment_posted.send(comment, actor=actor_for(fan1))
    db.session.rollback()
    assert kinds(author) == []


def test_the_comment_service_is_wired_up(people, make_proposal):
    from proposals.deliberation import comments

    author, fan1, fan2, _b = people
    proposal = make_proposal(author)
    first = comments.post_comment(actor_for(fan1), proposal, {"body": "支持", "stance": "support"})
    db.session.commit()
    comments.post_comment(
        actor_for(fan2), proposal, {"body": "为什么？", "stance": "question", "parent_id": first.id}
    )
    db.session.commit()
    assert kinds(author) == ["comment", "comment"]
    assert kinds(fan1) == ["reply"]  # commenters follow automatically, the reply is theirs
    assert kinds(fan2) == []


# -- The visibility clause agrees with permissions.can_view ----------------------------------


@pytest.fixture
def cast(make_user, make_resident, make_org, committee, community):
    """Users in every relation to a community's proposals."""
    rv = {
        "author": make_resident("author"),
        "resident": make_resident("resident"),
        "pending": make_resident("pending", status=ResidenceStatus.PENDING),
        "stranger": make_user("stranger"),
        "admin": make_user("admin", is_admin=True),
        "committee": committee.admin_user,
        "org_member": make_user("org_member"),
        "street_member": make_user("street_member"),
        "invited_member": make_user("invited_member"),
        "left_member": make_user("left_member"),
    }
    make_org(members={rv["org_member"]: Role.MEMBER})
    make_org(
        "清河街道办事处",
        Kind.GOVERNMENT,
        Function.STREET_OFFICE,
        members={rv["street_member"]: Role.MEMBER},
        in_community=False,
    )
    invited = make_org(
        "绿色志愿者协会",
        Kind.SOCIAL_ORGANIZATION,
        Function.VOLUNTEER_ASSOCIATION,
        members={rv["invited_member"]: Role.MEMBER},
        in_community=False,
    )
    db.session.add(
        Membership(
            user_id=rv["left_member"].id,
            organisation_id=invited.id,
            role=Role.MEMBER,
            status=MembershipStatus.LEFT,
        )
    )
    db.session.commit()
    rv["invited_org"] = invited
    return rv


@pytest.mark.parametrize(
    ("visibility", "draft"),
    [("public", False), ("community", False), ("invited", False), ("public", True)],
)
def test_visibility_clause_matches_can_view(cast, make_proposal, visibility, draft):
    invited = cast.pop("invited_org")
    proposal = make_proposal(
        cast["author"], visibility=visibility, draft=draft, invited=[invited.id]
    )
    users = list(cast.values())
    g.pop("_member_communities", None)
    forget_roles()
    expected = {name for name, u in cast.items() if perm.can_view(u, proposal)}
    found = {
        u.id for u in notify.recipients(proposal, followers=False, user_ids=[u.id for u in users])
    }
    assert {name for name, u in cast.items() if u.id in found} == expected
    assert "author" in expected and (draft or "admin" in expected)
    assert ("stranger" in expected) == (visibility == "public" and not draft)

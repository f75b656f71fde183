"""The home page: my tasks from every package's source, public highlights, the main menu."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import force_locale

from coord import accounts, notifications, tasks
from coord.cli import load_demo
from coord.db import db, utcnow
from coord.models import User
from proposals.deliberation import amendments
from proposals.deliberation.models import Amendment, Position
from proposals.tracking.models import TrackedRequest
from stakeholders.acting import Actor, identities

from helpers import QueryCounter, use_english


def _tasks(app, username: str) -> dict[str, set[str]]:
    """Map each kind of task to the titles `username` sees (what changed in followed items
    aside: the demo leaves everyone unread notifications)."""
    user = accounts.find_user(username)
    assert isinstance(user, User)
    with app.test_request_context("/"), force_locale("en"):
        rv: dict[str, set[str]] = {}
        for t in tasks.tasks_for(user):
            if t.kind_label == "Updated":
                continue
            rv.setdefault(t.kind_label, set()).add(t.title)
        return rv


def test_each_organisation_sees_its_own_tasks(app):
    load_demo()
    social, urban, anju = _tasks(app, "social"), _tasks(app, "urban"), _tasks(app, "anju")
    assert social["Review step"] == {"兰苑3号楼加装电梯实施方案"}
    assert "Review step" not in urban
    assert "2号楼楼道灯坏了" in urban["Request"]
    assert "8号楼水压太低" in anju["Request"]
    assert not urban["Request"] & anju["Request"]
    assert _tasks(app, "heshun") == {"Tender": {"新河社区长者食堂运营服务招标"}}
    assert "Tender" not in urban
    assert _tasks(app, "wangguihua") == {}  # a resident with no open poll: nothing of others'


def test_tasks_come_soonest_first_and_link_to_their_page(app, login_as, client):
    load_demo()
    user = accounts.find_user("anju")
    with app.test_request_context("/"):
        mine = tasks.tasks_for(user)
    dues = [t.due_at for t in mine if t.due_at is not None]
    assert dues == sorted(dues)
    assert all(t.due_at is None for t in mine[len(dues) :])  # undated last
    login_as(user)
    use_english(client)
    page = client.get("/").get_data(as_text=True)
    assert "My tasks" in page
    assert f'href="{mine[0].url}"' in page
    assert page.index("8号楼水压太低") < page.index("新河社区长者食堂运营服务招标")


def test_signed_out_home_shows_public_highlights(app, client):
    load_demo()
    use_english(client)
    page = client.get("/").get_data(as_text=True)
    for title in ("Consultations under way", "Recent decisions", "Public service figures"):
        assert title in page
    assert "3号楼加装电梯方案征询" in page
    assert re.search(r"Requests past their deadline: (\d+|fewer than 5)", page)
    assert "My tasks" not in page


def _home_queries(app, client) -> int:
    client.get("/")  # warm the per-process caches
    with QueryCounter(app.extensions["sqlalchemy"].engine) as counter:
        assert client.get("/").status_code == 200
    return counter.count


def test_home_makes_as_many_queries_for_few_rows_as_for_many(app, client, login_as):
    notifications.register_kind("test", "Test")
    empty = _home_queries(app, client)
    load_demo()
    assert _home_queries(app, client) == empty
    anju = accounts.find_user("anju")
    login_as(anju)
    few = _home_queries(app, client)
    company = next(s for s in identities(anju) if s.name == "安居物业服务有限公司")
    db.session.execute(sa.update(TrackedRequest).values(handler_id=company.id))  # all of them
    ref = notifications.stakeholder_ref(company.id)
    notifications.notify(
        notifications.Note(anju, "test", "%(who)s", {"who": ref}, f"/proposals/{i}")
        for i in range(5)
    )
    db.session.commit()
    assert len(_tasks(app, "anju")["Request"]) > 6
    assert _home_queries(app, client) == few


def test_menu_links_tenders_and_plans(client):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/tenders"' in page
    assert 'href="/plans"' in page


def test_a_met_condition_is_a_task_until_its_author_revisits_the_position(app):
    load_demo()
    amendment = db.session.scalar(sa.select(Amendment).order_by(Amendment.id).limit(1))
    committee_user = accounts.find_user("lanyuan_rc")
    with app.test_request_context("/"):
        committee = identities(committee_user)[-1]
        amendments.accept_amendment(Actor(committee_user, committee), amendment)
    db.session.commit()
    assert _tasks(app, "liming") == {"Condition met": {"3号楼加装电梯方案征询"}}
    assert "Condition met" not in _tasks(app, "wangguihua")
    position = db.session.scalar(sa.select(Position).where(Position.condition_met_at.is_not(None)))
    position.updated_at = utcnow()  # as declare_position does when liming revisits it
    db.session.commit()
    assert _tasks(app, "liming") == {}


def test_what_changed_in_followed_items_is_a_task_until_read(app, make_user):
    reader, other = make_user("reader"), make_user("other")
    notifications.register_kind("test", "Test")
    notifications.notify(
        [
            notifications.Note(reader, "test", "The proposal changed", {}, "/proposals/1"),
            notifications.Note(reader, "test", "It changed again", {}, "/proposals/1#comment-2"),
            notifications.Note(other, "test", "Not yours", {}, "/proposals/2"),
        ]
    )
    db.session.commit()
    with app.test_request_context("/"):
        mine = tasks.tasks_for(reader)
        assert [t.url.partition("#")[0] for t in mine] == ["/proposals/1"]  # one per page
        assert mine[0].title in {"The proposal changed", "It changed again"}
        notifications.mark_all_read(reader)
        assert tasks.tasks_for(reader) == []

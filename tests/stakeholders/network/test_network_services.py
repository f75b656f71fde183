"""The network service: inputs by scope, caching and recomputation, background jobs,
open ballots only, conflicts of interest, month-old comparisons and change alerts."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from network_helpers import actor, build_world, declare

from coord.db import db, utcnow
from stakeholders.models import Membership, MembershipStatus, NetworkSnapshot, Role
from stakeholders.network import relations, stances
from stakeholders.network import services as service

from helpers import identity


@pytest.fixture(autouse=True)
def english(request):
    """Refusal messages and sentences in English, whatever the default locale's catalog says.

    The pure tests of this module take no app (they run once, not once per backend).
    """
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    with force_locale("en"):
        yield


@pytest.fixture
def world(community, committee, make_org, make_user, make_resident):
    return build_world(community, committee, make_org, make_user, make_resident)


def _snapshots() -> list:
    """Plain rows of every snapshot, read in a transaction of their own.

    SQLite tests begin transactions IMMEDIATE (a write lock): holding one while polling, or
    lazily reloading expired objects, would starve the background job of the database.
    """
    db.session.commit()
    rv = db.session.execute(
        sa.select(
            NetworkSnapshot.id,
            NetworkSnapshot.community_id,
            NetworkSnapshot.inputs_digest,
            NetworkSnapshot.status,
            NetworkSnapshot.progress,
            NetworkSnapshot.created_at,
        ).order_by(NetworkSnapshot.id)
    ).all()
    db.session.commit()
    return rv


def _pairs(report: dict) -> set[frozenset]:
    return {frozenset(p) for p in report["negative_pairs"]}


def test_reports_are_cached_and_recomputed_only_when_inputs_change(
    world, make_resident, monkeypatch
):
    declare(world, "owners", world.anju, "dispute", strength=3)
    calls = []
    original = service.compute
    monkeypatch.setattr(service, "compute", lambda *a, **k: calls.append(1) or original(*a, **k))

    first = service.refresh(world.community, service.PUBLIC)
    assert len(calls) == 1
    again = service.report_state(world.community, service.PUBLIC)
    assert again.is_current and again.snapshot.id == first.id and len(calls) == 1
    assert service.refresh(world.community, service.PUBLIC).id == first.id and len(calls) == 1

    declare(world, "owners", world.volunteers, "alliance")
    shown = service.report_state(world.community, service.PUBLIC)  # computed, not stored
    assert shown.is_current and shown.snapshot is None and len(calls) == 2
    assert shown.report["counts"]["declared"] == 2
    changed = service.refresh(world.community, service.PUBLIC)
    assert changed.id != first.id and len(calls) == 3
    assert changed.report["counts"]["declared"] == 2

    rel = declare(world, "heshun", world.anju, "affiliation")
    service.refresh(world.community, service.PUBLIC)
    relations.confirm_relation(actor(world.anju_user, world.anju), rel)  # a status change
    db.session.commit()
    service.refresh(world.community, service.PUBLIC)
    assert len(calls) == 5
    service.refresh(world.community, service.PUBLIC)
    assert len(calls) == 5
    make_resident("newcomer")  # a new stakeholder in the community changes the inputs too
    service.refresh(world.community, service.PUBLIC)
    assert len(calls) == 6
    assert {s.status for s in _snapshots()} == {"done"}


@pytest.mark.parametrize(
    "path",
    [
        "/communities/{c}/network",
        "/communities/{c}/network/grid",
        "/communities/{c}/network/export.json",
        "/api/v1/communities/{c}/network",
        "/api/v1/communities/{c}/network/report",
        "/api/v1/communities/{c}/network/status",
        "/api/v1/communities/{c}/network/conflicts-of-interest?a={a}&b={b}",
    ],
)
@pytest.mark.parametrize("size", ["small", "large"])
def test_reading_the_network_writes_nothing(world, app, client, monkeypatch, path, size):
    declare(world, "owners", world.anju, "dispute", strength=3)
    service.refresh(world.community, service.PUBLIC)  # a stored report, then a change:
    declare(world, "owners", world.volunteers, "alliance")  # the pages must not store anew
    if size == "large":
        monkeypatch.setitem(app.config, "NETWORK_SYNC_MAX_NODES", 0)
    before = len(_snapshots())
    url = path.format(c=world.community.id, a=world.owners.id, b=world.anju.id)
    writes = []

    def spy(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", spy)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", spy)
    assert writes == []
    assert len(_snapshots()) == before


def test_reading_a_stale_report_asks_a_job_for_a_fresh_one(world, app, monkeypatch):
    declare(world, "owners", world.anju, "dispute")
    asked = []
    monkeypatch.setattr(service, "schedule", lambda *a: asked.append(a))
    service.report_state(world.community, service.PUBLIC)
    assert asked == []  # jobs are off under TESTING: nothing runs by itself
    monkeypatch.setitem(app.config, "NETWORK_JOBS", "thread")
    state = service.report_state(world.community, service.PUBLIC)
    assert state.is_current and state.snapshot is None  # small: computed for the page
    assert asked == [(world.community.id, service.PUBLIC)]
    service.refresh(world.community, service.PUBLIC)
    service.report_state(world.community, service.PUBLIC)
    assert len(asked) == 1  # a stored current report: nothing to ask


def test_public_reports_never_contain_managers_only_relations(world):
    declare(world, "owners", world.volunteers, "alliance")
    declare(world, "volunteers", world.anju, "cooperation")
    hidden = declare(world, "owners", world.anju, "dispute", visibility="managers")
    public = service.report_state(world.community, service.PUBLIC).report
    managers = service.report_state(world.community, service.MANAGERS).report
    pair = frozenset({hidden.source_id, hidden.target_id})
    assert pair in _pairs(managers) and pair not in _pairs(public)
    assert public["counts"]["declared"] == 2 and managers["counts"]["declared"] == 3
    assert managers["triads"] and not public["triads"]
    assert managers["triads"][0]["mediator"] == world.volunteers.id
    assert service.scope_for(None, world.community) == service.PUBLIC
    assert service.scope_for(world.stranger, world.community) == service.PUBLIC
    assert service.scope_for(world.owners_user, world.community) == service.PUBLIC
    assert service.scope_for(world.committee_user, world.community) == service.MANAGERS
    assert service.scope_for(world.street_user, world.community) == service.MANAGERS


def test_disputed_relations_count_half_and_retracted_ones_not_at_all(world):
    rel = declare(world, "owners", world.anju, "dispute", strength=3)
    relations.dispute_relation(actor(world.anju_user, world.anju), rel, "不属实")
    gone = declare(world, "owners", world.volunteers, "alliance")
    relations.retract_relation(actor(world.owners_user, world.owners), gone)
    db.session.commit()
    report = service.report_state(world.community, service.PUBLIC).report
    assert report["counts"]["declared"] == 1
    [conflict] = report["conflicts"]
    assert conflict["weight"] == 1.5 and conflict["relations"] == [rel.id]


def _wait_done(community_id: int, prefix: str, timeout: float = 30.0) -> NetworkSnapshot:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [
            s.id
            for s in _snapshots()
            if s.status == "done"
            and s.community_id == community_id
            and s.inputs_digest.startswith(prefix)
        ]
        if done:
            rv = db.session.get(NetworkSnapshot, done[-1])
            db.session.commit()
            return rv
        time.sleep(0.1)
    pytest.fail("the background job did not finish")


@pytest.mark.committed  # the job runs in a thread, on a connection of its own
def test_large_communities_are_computed_in_a_background_thread(
    world, app, client, monkeypatch, network_threads
):
    declare(world, "owners", world.anju, "dispute")
    monkeypatch.setitem(app.config, "NETWORK_JOBS", "thread")
    monkeypatch.setitem(app.config, "NETWORK_SYNC_MAX_NODES", 0)
    state = service.report_state(world.community, service.PUBLIC)  # asks a thread
    assert not state.is_current and state.report is None and state.progress == 0.0
    done = _wait_done(world.community.id, "pub2:")
    assert done.progress == 1.0
    assert client.get(f"/api/v1/communities/{world.community.id}/network/status").get_json() == {
        "status": "done",
        "progress": 1.0,
    }
    fresh = service.report_state(world.community, service.PUBLIC)
    assert fresh.is_current and fresh.snapshot.id == done.id


@pytest.mark.committed
def test_relation_changes_refresh_the_managers_report_after_commit(
    world, app, monkeypatch, network_threads
):
    monkeypatch.setitem(app.config, "NETWORK_JOBS", "thread")
    declare(world, "owners", world.anju, "dispute")  # commits: a thread recomputes
    snapshot = _wait_done(world.community.id, "mgr2:")
    assert snapshot.inputs_digest.startswith("mgr2:")
    assert snapshot.report["counts"]["declared"] == 1


def test_a_rolled_back_change_schedules_nothing(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "NETWORK_JOBS", "thread")
    scheduled = []
    monkeypatch.setattr(service, "schedule", lambda *a, **k: scheduled.append(a))
    relations.declare_relation(
        actor(world.owners_user, world.owners),
        world.community,
        {"target_id": world.anju.id, "type": "dispute"},
    )
    db.session.rollback()
    db.session.commit()
    assert scheduled == []
    declare(world, "owners", world.anju, "dispute")
    assert scheduled == [(world.community.id, service.MANAGERS)]


def test_jobs_run_on_rq_when_redis_is_configured(world, app, rq_jobs, monkeypatch):
    monkeypatch.setitem(app.config, "NETWORK_SYNC_MAX_NODES", 0)
    assert service.job_mode(app) == "rq"
    declare(world, "owners", world.anju, "dispute")
    state = service.report_state(world.community, service.PUBLIC)
    assert not state.is_current
    # the managers refresh after the commit, and this one
    assert rq_jobs.queue("network").count >= 1
    rq_jobs.work()
    found = _snapshots()
    assert any(s.inputs_digest.startswith("pub2:") and s.status == "done" for s in found)
    assert any(s.inputs_digest.startswith("mgr2:") for s in found)


# -- Stances --------------------------------------------------------------------------------


def _poll(community, creator, owner, *, secret: bool, options=("A", "B", "C", "D")):
    from voting.models import Poll, PollStatus

    now = utcnow()
    rv = Poll(
        community_id=community.id,
        title="秘密投票" if secret else "公开投票",
        method="approval",
        options=list(options),
        settings={"params": {}},
        is_secret=secret,
        status=PollStatus.CLOSED,
        opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(days=1),
        closed_at=now - timedelta(days=1),
        created_by_id=creator.id,
        actor_id=owner.id,
    )
    db.session.add(rv)
    db.session.flush()
    return rv


def _ballot(poll, voter, choice):
    from voting.models import Ballot

    db.session.add(
        Ballot(
            id=secrets.token_hex(16),
            poll_id=poll.id,
            kind="resident",
            content={"choice": choice},
            receipt=secrets.token_hex(32),
            voter_id=voter.id,
            updated_at=utcnow(),
        )
    )


def test_inferred_relations_come_from_open_ballots_and_never_from_secret_ones(world):
    a, b, c = (identity(r) for r in world.residents)
    open_poll = _poll(world.community, world.committee_user, world.committee, secret=False)
    for voter, choice in ((a, ["A", "B"]), (b, ["A", "B"]), (c, ["C", "D"])):
        _ballot(open_poll, voter, choice)
    # A malformed secret ballot that carries a voter must still never be read.
    secret = _poll(world.community, world.committee_user, world.committee, secret=True)
    r5 = identity(world.r5)
    for voter, choice in ((a, ["A"]), (r5, ["A"]), (b, ["D"])):
        _ballot(secret, voter, choice)
    db.session.commit()

    found = stances.collect(world.community.id)
    items = {item for _sid, item, _v in found.rows}
    assert items and all(item.startswith(f"poll/{open_poll.id}") for item in items)
    assert r5.id not in {sid for sid, _item, _v in found.rows}

    report = service.compute(world.community, service.INDIVIDUAL)
    pairs = {(frozenset((r["a"], r["b"])), r["sign"]) for r in report["inferred"]}
    assert (frozenset((a.id, b.id)), 1) in pairs
    assert (frozenset((a.id, c.id)), -1) in pairs
    assert all(r5.id not in p for p, _s in pairs)


def test_open_polls_count_only_once_their_results_are_public(world):
    from voting.models import PollStatus

    a, b = identity(world.residents[0]), identity(world.residents[1])
    poll = _poll(world.community, world.committee_user, world.committee, secret=False)
    poll.status = PollStatus.OPEN
    for voter in (a, b):
        _ballot(poll, voter, ["A", "B"])
    db.session.commit()
    assert len(stances.collect(world.community.id)) == 0
    poll.live_results = True
    db.session.commit()
    assert len(stances.collect(world.community.id)) == 8


def test_stance_sources_registered_by_name_replace_each_other(monkeypatch):
    monkeypatch.setattr(stances, "_SOURCES", {})
    stances.register_stance_source(lambda c: [(1, "x/1", 1)], name="t")
    stances.register_stance_source(lambda c: [(2, "x/2", -1)], name="t")
    assert stances.collect(1).rows == [(2, "x/2", -1)]
    assert stances.topic_of("proposal/12/comment/40") == "proposal/12"


# -- Conflicts of interest -------------------------------------------------------------------


def _explanations(paths) -> list[str]:
    return [p.explanation for p in paths]


def test_conflict_of_interest_finds_the_heshun_anju_affiliation(world):
    declare(world, "heshun", world.anju, "affiliation", note="董事长与安居董事是亲属")
    declare(world, "anju", world.committee, "contract", note="物业服务合同")
    declare(world, "owners", world.anju, "dispute")  # not a conflict-of-interest tie

    direct = service.conflict_of_interest(world.heshun.id, world.anju.id, 1)
    assert len(direct) == 1 and direct[0].hops == 1
    assert direct[0].steps[0].type == "affiliation"
    assert "董事长与安居董事是亲属" in direct[0].explanation

    two = service.conflict_of_interest(world.heshun.id, world.committee.id, 2)
    assert [[s.type for s in p.steps] for p in two] == [["affiliation", "contract"]]
    assert "和顺建筑" in two[0].explanation and "物业服务合同" in two[0].explanation
    assert service.conflict_of_interest(world.heshun.id, world.committee.id, 1) == []
    assert service.conflict_of_interest(world.heshun.id, world.owners.id, 2) == []


def test_conflict_of_interest_respects_visibility_and_uses_memberships(world):
    declare(world, "heshun", world.anju, "affiliation", visibility="managers")
    assert service.conflict_of_interest(world.heshun.id, world.anju.id) == []
    assert service.conflict_of_interest(world.heshun.id, world.anju.id, user=world.stranger) == []
    assert (
        len(service.conflict_of_interest(world.heshun.id, world.anju.id, user=world.committee_user))
        == 1
    )
    assert (
        len(service.conflict_of_interest(world.heshun.id, world.anju.id, all_relations=True)) == 1
    )

    resident = world.residents[0]
    db.session.add(
        Membership(
            user_id=resident.id,
            organisation_id=world.volunteers.id,
            role=Role.MEMBER,
            status=MembershipStatus.ACTIVE,
        )
    )
    db.session.commit()
    declare(world, "volunteers", world.owners, "alliance")
    [path] = service.conflict_of_interest(identity(resident).id, world.owners.id)
    assert [s.type for s in path.steps] == ["membership", "alliance"]


def test_conflict_of_interest_refuses_unknown_stakeholders(world):
    from coord.errors import DomainError

    with pytest.raises(DomainError):
        service.conflict_of_interest(world.heshun.id, 999_999)
    with pytest.raises(DomainError):
        service.conflict_of_interest(world.heshun.id, world.anju.id, 9)


# -- Change over time and alerts -------------------------------------------------------------


def test_the_report_of_about_a_month_ago_is_kept_and_compared(world):
    old = declare(world, "owners", world.volunteers, "alliance")
    old.created_at = utcnow() - timedelta(days=60)
    db.session.commit()
    month_ago = utcnow() - timedelta(days=31)
    report = service.compute(world.community, service.PUBLIC, as_of=month_ago)
    service.store_report(world.community, service.PUBLIC, report, month_ago)
    db.session.commit()
    declare(world, "owners", world.anju, "dispute")
    current = service.report_state(world.community, service.PUBLIC)
    previous = service.month_ago_report(world.community.id, service.PUBLIC)
    assert previous is not None and previous["counts"]["declared"] == 1
    changes = service.diff_reports(previous, current.report)
    assert changes["conflicts"] == [tuple(sorted((world.owners.id, world.anju.id)))]
    # Pruning keeps it: it is the newest snapshot of its day.
    for _ in range(3):
        declare(world, "heshun", world.anju, "affiliation")
        rel = db.session.scalar(
            sa.select(relations.Relation).where(relations.Relation.source_id == world.heshun.id)
        )
        relations.retract_relation(actor(world.heshun_user, world.heshun), rel)
        db.session.commit()
        service.refresh(world.community, service.PUBLIC)
    assert service.month_ago_report(world.community.id, service.PUBLIC) is not None
    assert len([s for s in _snapshots() if s.created_at > utcnow() - timedelta(days=1)]) <= 3


def test_a_new_conflict_is_announced_to_receivers(world):
    declare(world, "owners", world.volunteers, "alliance")
    declare(world, "volunteers", world.anju, "cooperation")
    service.refresh(world.community, service.MANAGERS)
    heard = []

    def receiver(community_id, **kw):
        heard.append((community_id, kw["new_conflicts"], [t["mediator"] for t in kw["new_triads"]]))

    with service.network_changed.connected_to(receiver):
        service.refresh(world.community, service.MANAGERS)  # unchanged: nothing to say
        assert heard == []
        declare(world, "owners", world.anju, "dispute", visibility="managers")
        service.refresh(world.community, service.MANAGERS)
    pair = tuple(sorted((world.owners.id, world.anju.id)))
    assert heard == [(world.community.id, [pair], [world.volunteers.id])]


def test_a_crowded_proposal_keeps_each_stakeholders_strongest_ties(world, monkeypatch):
    monkeypatch.setattr(service, "PAIR_LIMIT", 0)
    monkeypatch.setattr(service, "NEIGHBOURS", 1)
    a, b, c = (identity(r) for r in world.residents)
    rows = [(s.id, f"proposal/{i}", v) for i in range(1, 5) for s, v in ((a, 1), (b, 1), (c, -1))]
    monkeypatch.setattr(stances, "_SOURCES", {})
    stances.register_stance_source(lambda community_id: rows, name="test")
    report = service.compute(world.community, service.INDIVIDUAL)
    pairs = {frozenset((r["a"], r["b"])): r for r in report["inferred"]}
    assert pairs[frozenset((a.id, b.id))]["sign"] == 1
    assert pairs[frozenset((a.id, b.id))]["topics_agreed"] == [f"proposal/{i}" for i in range(1, 5)]
    assert len(pairs) <= 3

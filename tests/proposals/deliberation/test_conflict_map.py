"""A proposal's conflict map and opinion groups; stances from proposals; moderators' alerts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from network_helpers import actor, build_world, declare

from coord.db import db
from coord.models import Notification
from proposals.deliberation import comments, conflict_map, notify, positions
from stakeholders.network import graph as network_graph
from stakeholders.network import services as service
from stakeholders.network import stances

from helpers import identity, use_english

SENTENCE = (
    "The conflict on this proposal is between 安居物业 and residents of building 3 (3), "
    "over cost and noise; 兰苑业主委员会 has ties to both."
)


@pytest.fixture(autouse=True)
def english(app):
    """Refusal messages and sentences in English, whatever the default locale's catalog says."""
    with force_locale("en"):
        yield


@pytest.fixture
def world(community, committee, make_org, make_user, make_resident):
    return build_world(community, committee, make_org, make_user, make_resident)


@pytest.fixture
def proposal(world, make_proposal):
    return make_proposal(world.committee_user, as_=world.committee, title="3号楼停车位改造")


def _stand(who, proposal, stance, interests=(), statement=""):
    data = {"stance": stance, "interests": list(interests), "statement": statement}
    if stance == "conditional":
        data["conditions"] = "夜间不施工"
    positions.declare_position(who, proposal, data)
    db.session.commit()


def _toy(world, proposal):
    """Anju for, the residents of building 3 against over cost and noise; the owners in between."""
    _stand(actor(world.anju_user, world.anju), proposal, "support", ["business_income"])
    for i, resident in enumerate(world.residents):
        extra = ["safety"] if i == 0 else []
        _stand(actor(resident), proposal, "oppose", ["cost", "noise", *extra])
    declare(world, "owners", world.anju, "cooperation")
    declare(world, "owners", identity(world.residents[0]), "alliance")


def test_the_sentence_names_the_sides_their_interests_and_who_links_them(world, proposal, client):
    use_english(client)
    _toy(world, proposal)
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert SENTENCE in page
    assert "Relations between the two sides" not in page  # no tie between Anju and them
    declare(world, world.residents[1], world.anju, "dispute", note="停车收费")
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Relations between the two sides" in page and "dispute" in page


def test_sentence_variants(world, proposal, app):
    with app.test_request_context(), force_locale("en"):
        _sentence_variants(world, proposal)


def _sentence_variants(world, proposal):
    first = world.residents[0]
    _stand(actor(first), proposal, "support", ["convenience"])
    data = conflict_map.compute_map(proposal, service.PUBLIC)
    assert conflict_map.summary_sentence(data) == (
        "Everyone who declared a position supports this proposal."
    )
    _stand(actor(world.residents[1]), proposal, "conditional", ["noise"])
    data = conflict_map.compute_map(proposal, service.PUBLIC)
    sentence = conflict_map.summary_sentence(data)
    # Both live in building 3: one group of residents on both sides, nobody by name.
    assert (
        sentence
        == "The conflict on this proposal is between its supporters and its opponents, over noise."
    )


def test_the_map_respects_managers_only_relations(world, proposal, client, login_as):
    use_english(client)
    _toy(world, proposal)
    declare(world, world.residents[2], world.anju, "dispute", visibility="managers", note="秘密")
    public = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Relations between the two sides" not in public
    login_as(world.committee_user, acting_as=world.committee)
    managers = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Relations between the two sides" in managers


def _comment(who, proposal, text):
    rv = comments.post_comment(who, proposal, {"body": text, "stance": "neutral"})
    db.session.commit()
    return rv


def test_opinion_groups_and_the_bridging_statement(world, proposal, make_resident, client, app):
    use_english(client)
    group_a = [make_resident(f"a{i}", building="1") for i in range(4)]
    group_b = [make_resident(f"b{i}", building="2") for i in range(4)]
    statements = [
        (group_a[0], "电梯要尽快装"),
        (group_a[1], "高层老人最需要"),
        (group_b[0], "一楼采光会受影响"),
        (group_b[1], "费用不应平摊"),
        (group_a[2], "施工必须避开夜间"),
    ]
    posted = [_comment(actor(u), proposal, text) for u, text in statements]
    for users, leaning in ((group_a, 1), (group_b, -1)):
        for user in users:
            for i, comment in enumerate(posted):
                if comment.user_id == user.id:
                    continue
                # Everybody agrees with the last statement: the bridging statement.
                agree = i == 4 or (i < 2) == (leaning > 0)
                value = "agree" if agree else "disagree"
                comments.react(actor(user), comment, value)
    db.session.commit()
    data = conflict_map.compute_map(proposal, service.PUBLIC)
    groups = data.opinion["groups"]
    assert len(groups) == 2 and sorted(g["size"] for g in groups) == [4, 4]
    members = [set(g["members"]) for g in groups]
    a_ids, b_ids = {identity(u).id for u in group_a}, {identity(u).id for u in group_b}
    assert sorted(members, key=min) == sorted([a_ids, b_ids], key=min)
    assert [c["text"] for c in data.opinion["consensus"]] == ["施工必须避开夜间"]
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Bridging statements" in page and "施工必须避开夜间" in page
    assert "<svg" in page and " style=" not in page
    # Without positions, the two opinion groups are the sides of the sentence.
    with app.test_request_context(), force_locale("en"):
        sentence = conflict_map.summary_sentence(data)
    assert "residents of building 1 (4)" in sentence
    assert "residents of building 2 (4)" in sentence


def test_public_positions_and_reactions_are_stances_others_are_not(
    world, make_proposal, client, app
):
    use_english(client)
    r1, r2, r3 = world.residents
    titles = ["加装电梯", "垃圾分类投放点", "广场舞时间"]
    public = [make_proposal(world.committee_user, as_=world.committee, title=t) for t in titles]
    members_only = make_proposal(
        world.committee_user, as_=world.committee, title="内部讨论", visibility="community"
    )
    for p in [*public, members_only]:
        _stand(actor(r1), p, "support")
        _stand(actor(r2), p, "support")
        _stand(actor(r3), p, "oppose")
    found = stances.collect(world.community.id)
    items = {item for _s, item, _v in found.rows}
    assert items == {f"proposal/{p.id}" for p in public}
    public_graph = client.get(f"/api/v1/communities/{world.community.id}/network").get_json()
    assert identity(r1).name not in str(public_graph)  # residents only as their groups
    individual = service.compute(world.community, service.INDIVIDUAL)
    with app.test_request_context():
        graph = network_graph.build_graph(
            world.community, service.INDIVIDUAL, individual, network_graph.GraphFilters()
        )
    inferred = {
        frozenset((link["source"], link["target"])): link
        for link in graph["links"]
        if link["origin"] == "inferred"
    }
    ally = inferred[frozenset((identity(r1).id, identity(r2).id))]
    foe = inferred[frozenset((identity(r1).id, identity(r3).id))]
    assert ally["sign"] == 1 and foe["sign"] == -1
    assert "the same side 3 times" in ally["explanation"]
    assert all(t in ally["explanation"] for t in titles)
    assert "内部讨论" not in ally["explanation"]
    # Hiding a proposal takes its stances out.
    public[0].hidden_reason = "违规"
    db.session.commit()
    assert {item for _s, item, _v in stances.collect(world.community.id).rows} == {
        f"proposal/{p.id}" for p in public[1:]
    }


def test_moderators_hear_of_a_new_conflict_among_a_proposals_stakeholders(world, proposal):
    _stand(actor(world.anju_user, world.anju), proposal, "support")
    _stand(actor(world.residents[0]), proposal, "oppose")
    service.refresh(world.community, service.MANAGERS)  # the baseline
    declare(world, world.residents[0], world.anju, "dispute", visibility="managers")
    declare(world, world.r5, world.anju, "dispute")  # not active on the proposal
    service.refresh(world.community, service.MANAGERS)
    notes = db.session.scalars(
        sa.select(Notification).where(Notification.kind == notify.ALERT).order_by(Notification.id)
    ).all()
    assert [(n.user_id, n.kind) for n in notes] == [(world.committee_user.id, notify.ALERT)]
    assert notes[0].params["title"] == proposal.title
    assert {notes[0].params["a"], notes[0].params["b"]} == {
        world.anju.name,
        "Residents of building 3 (3)",  # never the resident by name
    }
    assert notes[0].url.endswith(f"/proposals/{proposal.id}#conflict-map")


def test_the_proposal_page_runs_a_fixed_number_of_queries(
    world, proposal, make_resident, client, count_queries
):
    _toy(world, proposal)
    client.get(f"/proposals/{proposal.id}")
    with count_queries() as small:
        client.get(f"/proposals/{proposal.id}")
    for i in range(10):
        user = make_resident(f"more{i}", building=str(1 + i % 3))
        _stand(actor(user), proposal, "oppose" if i % 2 else "support", ["cost"])
        declare(world, user, world.anju, "dispute")
    client.get(f"/proposals/{proposal.id}")
    with count_queries() as large:
        client.get(f"/proposals/{proposal.id}")
    assert large.count == small.count
    # The map itself: one query when nothing changed (cached), a fixed number otherwise.
    with count_queries() as cached:
        conflict_map.map_data(proposal, service.PUBLIC)
    assert cached.count == 1

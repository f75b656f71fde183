"""Network pages, API and exports: who sees what, filters, aggregation, fixed query counts."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import networkx as nx
import pytest
from flask_babel import force_locale
from network_helpers import build_world, declare

from coord.db import db, utcnow
from stakeholders.network import graph as network_graph
from stakeholders.network import services as service

from helpers import identity, use_english

SECRET_NOTE = "居委会调解中的敏感纠纷"


@pytest.fixture(autouse=True)
def english(app):
    """Refusal messages and sentences in English, whatever the default locale's catalog says."""
    with force_locale("en"):
        yield


@pytest.fixture
def world(community, committee, make_org, make_user, make_resident):
    w = build_world(community, committee, make_org, make_user, make_resident)
    w.alliance = declare(w, "owners", w.volunteers, "alliance", strength=2, note="长者食堂")
    w.coop = declare(w, "volunteers", w.anju, "cooperation", note="提供场地")
    w.contract = declare(w, "anju", w.committee, "contract", strength=3, note="物业服务合同")
    w.parking = declare(w, w.residents[0], w.anju, "dispute", strength=2, note="停车收费")
    w.hidden = declare(
        w, "owners", w.anju, "dispute", strength=3, visibility="managers", note=SECRET_NOTE
    )
    w.hidden_affiliation = declare(
        w, "heshun", w.anju, "affiliation", visibility="managers", note="亲属关系-保密"
    )
    return w


def _urls(w) -> list[str]:
    c = w.community.id
    return [
        f"/communities/{c}/network",
        f"/communities/{c}/network/grid",
        f"/communities/{c}/network/export.json",
        f"/communities/{c}/network/export.graphml",
        f"/api/v1/communities/{c}/network",
        f"/api/v1/communities/{c}/network?format=graphml",
        f"/api/v1/communities/{c}/network.graphml",
        f"/api/v1/communities/{c}/network/report",
        f"/communities/{c}/network/interests?a={w.heshun.id}&b={w.committee.id}&hops=2",
        f"/api/v1/communities/{c}/network/conflicts-of-interest?a={w.heshun.id}&b={w.committee.id}",
        f"/stakeholders/{w.anju.id}",
        f"/stakeholders/{w.owners.id}",
        f"/stakeholders/{w.heshun.id}",
    ]


def _login(login_as, who, w):
    if who == "stranger":
        login_as(w.stranger)
    elif who == "resident":
        login_as(w.residents[1])
    elif who == "bystander org":
        login_as(w.volunteers_user, acting_as=w.volunteers)


@pytest.mark.parametrize("who", ["anonymous", "stranger", "resident", "bystander org"])
def test_nobody_else_sees_a_managers_only_relation_anywhere(world, client, login_as, who):
    _login(login_as, who, world)
    for url in _urls(world):
        rv = client.get(url)
        assert rv.status_code == 200, url
        body = rv.get_data(as_text=True)
        assert SECRET_NOTE not in body, url
        assert "亲属关系-保密" not in body, url
        assert f"r{world.hidden.id}" not in _link_ids(body), url
    graph = client.get(f"/api/v1/communities/{world.community.id}/network").get_json()
    pairs = {frozenset((link["source"], link["target"])) for link in graph["links"]}
    assert frozenset((world.owners.id, world.anju.id)) not in pairs
    assert frozenset((world.heshun.id, world.anju.id)) not in pairs
    report = client.get(f"/api/v1/communities/{world.community.id}/network/report").get_json()
    assert report["scope"] == "public"
    conflicts = {frozenset((c["a"], c["b"])) for c in report["report"]["conflicts"]}
    assert frozenset((world.owners.id, world.anju.id)) not in conflicts
    assert not report["report"]["triads"]  # the strained alliance needs the hidden dispute
    paths = client.get(
        f"/api/v1/communities/{world.community.id}/network/conflicts-of-interest"
        f"?a={world.heshun.id}&b={world.committee.id}"
    ).get_json()
    assert paths["items"] == []
    assert client.get(f"/relations/{world.hidden.id}").status_code == 404
    assert client.get(f"/api/v1/relations/{world.hidden.id}").status_code == 404


def _link_ids(body: str) -> set[str]:
    try:
        data = json.loads(body)
    except ValueError:
        return set()
    return {link["id"] for link in data.get("links", [])} if isinstance(data, dict) else set()


@pytest.mark.parametrize("who", ["committee", "street office"])
def test_the_committee_and_the_street_office_see_managers_only_relations(
    world, client, login_as, who
):
    use_english(client)
    if who == "committee":
        login_as(world.committee_user, acting_as=world.committee)
    else:
        login_as(world.street_user, acting_as=world.street)
    page = client.get(f"/communities/{world.community.id}/network").get_data(as_text=True)
    assert "including those visible only to the residents committee" in page
    assert "Suggested mediator" in page  # volunteers between the owners and Anju
    graph = client.get(f"/api/v1/communities/{world.community.id}/network").get_json()
    hidden = [link for link in graph["links"] if link["id"] == f"r{world.hidden.id}"]
    assert hidden and hidden[0]["visibility"] == "managers"
    assert SECRET_NOTE in hidden[0]["explanation"]
    export = client.get(f"/communities/{world.community.id}/network/export.graphml")
    assert SECRET_NOTE in export.get_data(as_text=True)
    paths = client.get(
        f"/api/v1/communities/{world.community.id}/network/conflicts-of-interest"
        f"?a={world.heshun.id}&b={world.committee.id}"
    ).get_json()["items"]
    assert [[s["type"] for s in p["steps"]] for p in paths] == [["affiliation", "contract"]]


def test_the_two_sides_see_their_managers_only_relation_on_their_profiles(world, client, login_as):
    login_as(world.anju_user, acting_as=world.anju)
    assert SECRET_NOTE in client.get(f"/stakeholders/{world.anju.id}").get_data(as_text=True)
    assert SECRET_NOTE in client.get(f"/relations/{world.hidden.id}").get_data(as_text=True)


def test_profile_lists_allies_opponents_and_evidence(world, client):
    use_english(client)
    page = client.get(f"/stakeholders/{world.volunteers.id}").get_data(as_text=True)
    assert "Allies and opponents" in page
    assert "长者食堂" in page and "提供场地" in page
    assert world.owners.name in page and world.anju.name in page


def test_page_and_exports_for_everybody(world, client):
    use_english(client)
    c = world.community.id
    page = client.get(f"/communities/{c}/network")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="network-graph"' in html and "cytoscape.min.js" in html
    assert "Strongest conflicts" in html and "Since last month" in html
    assert " style=" not in html and "<script>" not in html  # the CSP forbids both

    export = client.get(f"/communities/{c}/network/export.json")
    assert export.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(export.get_data(as_text=True))
    assert data["multigraph"] is True and {"nodes", "links", "graph"} <= set(data)
    graphml = client.get(f"/communities/{c}/network/export.graphml")
    assert graphml.mimetype == "application/graphml+xml"
    g = nx.read_graphml(io.BytesIO(graphml.data))
    assert g.number_of_nodes() == len(data["nodes"])
    assert g.number_of_edges() == len(data["links"])
    names = nx.get_node_attributes(g, "name")
    assert world.anju.name in names.values()


def test_filters_select_links(world, client):
    c = world.community.id
    url = f"/api/v1/communities/{c}/network"

    def links(**params):
        return client.get(url, query_string=params).get_json()

    conflicts = links(sign="negative")
    assert conflicts["links"] and all(link["sign"] < 0 for link in conflicts["links"])
    linked = {e for link in conflicts["links"] for e in (link["source"], link["target"])}
    assert {n["id"] for n in conflicts["nodes"]} == linked  # nodes without a visible link hide
    contracts = links(type="contract")
    assert [link["id"] for link in contracts["links"]] == [f"r{world.contract.id}"]
    assert all(n["kind"] == "business" for n in links(kind="business")["nodes"])
    assert all(link["origin"] == "declared" for link in links(origin="declared")["links"])
    assert links(origin="inferred")["links"] == []
    world.alliance.created_at = utcnow() - timedelta(days=100)
    db.session.commit()
    recent = {link["id"] for link in links(window="30")["links"]}
    assert f"r{world.alliance.id}" not in recent and f"r{world.coop.id}" in recent
    assert f"r{world.alliance.id}" in {link["id"] for link in links(window="365")["links"]}
    unknown = links(sign="sideways", kind="alien", window="7", type="hug")
    assert len(unknown["links"]) == len(links()["links"])


def test_many_nodes_are_aggregated_by_camp(world, client):
    c = world.community.id
    data = client.get(f"/api/v1/communities/{c}/network?aggregate=bloc").get_json()
    assert data["graph"]["aggregated"] == "bloc"
    assert all(n["kind"] == "group" for n in data["nodes"])
    sizes = sum(n["size"] for n in data["nodes"])
    assert sizes == len(client.get(f"/api/v1/communities/{c}/network").get_json()["nodes"])
    state = service.report_state(world.community, service.PUBLIC)
    auto = network_graph.build_graph(
        world.community, service.PUBLIC, state.report, network_graph.GraphFilters(), max_nodes=3
    )
    assert auto["graph"]["aggregated"] == "bloc"
    by_kind = client.get(f"/api/v1/communities/{c}/network?aggregate=kind").get_json()
    assert {n["id"] for n in by_kind["nodes"]} <= {
        "kind:government",
        "kind:business",
        "kind:social_organization",
        "kind:resident",
    }
    one_camp = client.get(f"/api/v1/communities/{c}/network?bloc=0").get_json()
    bloc_of = dict(state.report["bloc_of"])
    assert one_camp["nodes"] and all(bloc_of.get(n["id"]) == 0 for n in one_camp["nodes"])


def test_power_interest_grid_is_an_svg_without_inline_styles(world, client):
    use_english(client)
    page = client.get(f"/communities/{world.community.id}/network/grid").get_data(as_text=True)
    assert "<svg" in page and " style=" not in page
    assert "Manage closely" in page and "Keep satisfied" in page
    assert world.street.name in page


def _grow(w, make_resident, n: int) -> None:
    for i in range(n):
        user = make_resident(f"extra{i}", building=str(1 + i % 4))
        declare(w, user, w.anju, "dispute" if i % 2 else "cooperation")
        if i:
            declare(w, user, identity(w.residents[2]), "cooperation")


def _count(client, url, count_queries) -> int:
    client.get(url)  # computes and caches the report
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


@pytest.mark.parametrize(
    "path",
    [
        "/communities/{c}/network",
        "/api/v1/communities/{c}/network",
        "/communities/{c}/network/grid",
        "/communities/{c}/network/export.graphml",
        "/stakeholders/{anju}",
    ],
)
def test_queries_do_not_grow_with_the_network(
    world, client, login_as, make_resident, count_queries, path
):
    login_as(world.committee_user, acting_as=world.committee)
    url = path.format(c=world.community.id, anju=world.anju.id)
    small = _count(client, url, count_queries)
    _grow(world, make_resident, 12)
    large = _count(client, url, count_queries)
    assert large == small, f"{url}: {small} queries before, {large} after growing"


def test_one_link_explains_itself_on_demand_within_the_scope(world, client, login_as):
    c = world.community.id
    url = f"/api/v1/communities/{c}/network/links"
    rv = client.get(f"{url}/r{world.parking.id}")
    assert rv.status_code == 200 and "停车收费" in rv.get_json()["explanation"]
    assert client.get(f"{url}/r{world.hidden.id}").status_code == 404
    assert client.get(f"{url}/i1-2").status_code == 404
    assert client.get(f"{url}/nonsense").status_code == 404
    login_as(world.committee_user, acting_as=world.committee)
    assert SECRET_NOTE in client.get(f"{url}/r{world.hidden.id}").get_json()["explanation"]


def test_big_graphs_draw_the_strongest_links_and_explain_on_demand(world, app):
    state = service.report_state(world.community, service.PUBLIC)
    with app.test_request_context():
        _capped(world, state)


def _capped(world, state):
    data = network_graph.build_graph(
        world.community, service.PUBLIC, state.report, network_graph.GraphFilters(), max_links=2
    )
    assert data["graph"]["links_total"] == 4 and data["graph"]["links_shown"] == 2
    assert [link["strength"] for link in data["links"]] == [3, 2]  # the contract, the parking
    assert data["graph"]["explained"] is True
    quiet = network_graph.build_graph(
        world.community, service.PUBLIC, state.report, network_graph.GraphFilters(), explain=False
    )
    assert all("explanation" not in link for link in quiet["links"])

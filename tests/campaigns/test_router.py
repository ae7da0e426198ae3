import uuid

import pytest

from app.core.enums import Role
from tests.factories import make_user

BASE = "/api/v1/campaigns"
EXPO = {"name": "Expo 2026", "channel": "trade_show", "cost": "50000.00", "starts_on": "2026-03-01"}


@pytest.fixture
async def manager(conn, settings):  # type: ignore[no-untyped-def]
    return await make_user(conn, settings, role=Role.manager)


@pytest.fixture
async def rep(conn, settings):  # type: ignore[no-untyped-def]
    return await make_user(conn, settings, role=Role.rep)


async def test_campaign_round_trip(client, manager, rep):
    created = await client.post(
        BASE, json={**EXPO, "ends_on": "2026-03-03"}, headers=manager.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["cost"], body["currency"], body["ends_on"]) == (
        "Expo 2026", "50000.00", "CNY", "2026-03-03",
    )  # fmt: skip
    assert created.headers["location"] == f"{BASE}/{body['id']}"
    assert created.headers["etag"] == '"1"'
    read = await client.get(created.headers["location"], headers=rep.headers)
    assert read.status_code == 200 and read.json() == body
    patched = await client.patch(
        created.headers["location"],
        json={"cost": "61250.50", "description": "booth and travel"},
        headers={**manager.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["cost"], patched.json()["version"]) == ("61250.50", 2)
    stale = await client.patch(
        created.headers["location"],
        json={"cost": "1.00"},
        headers={**manager.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert (await client.get(created.headers["location"], headers=rep.headers)).json()[
        "cost"
    ] == "61250.50"


async def test_only_managers_and_above_write_and_agents_cannot_read(
    client, conn, settings, rep, manager
):
    assert (await client.post(BASE, json=EXPO, headers=rep.headers)).status_code == 403
    created = (await client.post(BASE, json=EXPO, headers=manager.headers)).json()
    url = f"{BASE}/{created['id']}"
    refused = await client.patch(url, json={"cost": "1.00"}, headers=rep.headers)
    assert refused.status_code == 403
    agent = await make_user(conn, settings, role=Role.support_agent)
    assert (await client.get(url, headers=agent.headers)).status_code == 403
    assert (await client.get(BASE, headers=agent.headers)).status_code == 403
    director = await make_user(conn, settings, role=Role.director)
    assert (
        await client.patch(url, json={"cost": "2.00"}, headers=director.headers)
    ).status_code == 200


async def test_names_are_unique_regardless_of_case(client, manager):
    assert (await client.post(BASE, json=EXPO, headers=manager.headers)).status_code == 201
    again = await client.post(BASE, json={**EXPO, "name": "EXPO 2026"}, headers=manager.headers)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "name"
    other = (
        await client.post(BASE, json={**EXPO, "name": "Webinar"}, headers=manager.headers)
    ).json()
    renamed = await client.patch(
        f"{BASE}/{other['id']}", json={"name": "expo 2026"}, headers=manager.headers
    )
    assert renamed.status_code == 409


async def test_idempotent_create_replays(client, manager):
    headers = {**manager.headers, "Idempotency-Key": "campaign-1"}
    first = await client.post(BASE, json=EXPO, headers=headers)
    again = await client.post(BASE, json=EXPO, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listing = (await client.get(BASE, headers=manager.headers)).json()
    assert [c["id"] for c in listing["items"]] == [first.json()["id"]]


async def test_list_filters_sorts_and_pages(client, manager):
    for name, channel, starts in [
        ("Spring fair", "trade_show", "2026-04-01"),
        ("Search Q1", "search_ads", "2026-01-01"),
        ("Autumn fair", "trade_show", "2026-09-01"),
    ]:
        body = {"name": name, "channel": channel, "starts_on": starts}
        assert (await client.post(BASE, json=body, headers=manager.headers)).status_code == 201
    fairs = (
        await client.get(
            BASE, params={"channel": "trade_show", "sort": "name"}, headers=manager.headers
        )
    ).json()
    assert [c["name"] for c in fairs["items"]] == ["Autumn fair", "Spring fair"]
    assert fairs["items"][0]["cost"] is None
    window = (
        await client.get(
            BASE,
            params={"starts_from": "2026-02-01", "starts_before": "2026-09-01"},
            headers=manager.headers,
        )
    ).json()
    assert [c["name"] for c in window["items"]] == ["Spring fair"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "-starts_on"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(BASE, params=params, headers=manager.headers)).json()
        seen += [c["name"] for c in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == ["Autumn fair", "Spring fair", "Search Q1"]


async def test_bad_input_is_a_problem_naming_the_field(client, manager):
    cases = [
        ({**EXPO, "cost": "-1"}, "cost"),
        ({**EXPO, "cost": "1.001"}, "cost"),
        ({**EXPO, "channel": "billboard"}, "channel"),
        ({**EXPO, "currency": "yuan"}, "currency"),
        ({**EXPO, "name": ""}, "name"),
        ({**EXPO, "name": "x" * 121}, "name"),
        ({**EXPO, "ends_on": "2026-02-28"}, "ends_on"),
        ({**EXPO, "budget": "1"}, "budget"),
    ]
    for body, field in cases:
        response = await client.post(BASE, json=body, headers=manager.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
    created = (await client.post(BASE, json=EXPO, headers=manager.headers)).json()
    url = f"{BASE}/{created['id']}"
    assert (
        await client.patch(url, json={"name": None}, headers=manager.headers)
    ).status_code == 422
    reversed_ = await client.patch(url, json={"ends_on": "2026-01-01"}, headers=manager.headers)
    assert reversed_.status_code == 422
    assert (await client.get(f"{BASE}?chanel=x", headers=manager.headers)).status_code == 400
    assert (await client.get(f"{BASE}/{uuid.uuid4()}", headers=manager.headers)).status_code == 404

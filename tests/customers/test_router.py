import uuid

import pytest

from app.core.enums import Role
from tests.factories import make_customer, make_team, make_user


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


async def test_customer_round_trip(client, rep):
    created = await client.post(
        "/api/v1/customers",
        json={"name": "Acme Robotics", "industry": "manufacturing", "annual_revenue": "1250000.50"},
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner_id"] == str(rep.id)
    assert body["annual_revenue"] == "1250000.50"
    assert body["tier"] == "potential"
    assert created.headers["location"] == f"/api/v1/customers/{body['id']}"
    assert created.headers["etag"] == '"1"'

    fetched = await client.get(created.headers["location"], headers=rep.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body

    patched = await client.patch(
        created.headers["location"],
        json={"region": "East China"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["region"] == "East China"
    assert patched.json()["version"] == 2


async def test_stale_if_match_is_412_and_changes_nothing(client, rep):
    created = (
        await client.post("/api/v1/customers", json={"name": "Beta"}, headers=rep.headers)
    ).json()
    url = f"/api/v1/customers/{created['id']}"
    await client.patch(url, json={"region": "North"}, headers={**rep.headers, "If-Match": '"1"'})
    stale = await client.patch(
        url, json={"region": "South"}, headers={**rep.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert (await client.get(url, headers=rep.headers)).json()["region"] == "North"


async def test_patch_refuses_state_field_and_names_the_action(client, rep):
    created = (
        await client.post("/api/v1/customers", json={"name": "Gamma"}, headers=rep.headers)
    ).json()
    response = await client.patch(
        f"/api/v1/customers/{created['id']}", json={"tier": "strategic"}, headers=rep.headers
    )
    assert response.status_code == 422
    assert "tier-override" in response.text


async def test_unknown_field_and_unknown_query_parameter_are_errors(client, rep):
    response = await client.post(
        "/api/v1/customers", json={"name": "Delta", "nmae": "typo"}, headers=rep.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "nmae"

    listing = await client.get("/api/v1/customers?curser=abc", headers=rep.headers)
    assert listing.status_code == 400
    assert listing.json()["errors"][0]["field"] == "curser"


async def test_bad_inputs_are_problems_not_500s(client, rep):
    cases = [
        (
            "post",
            "/api/v1/customers",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("get", "/api/v1/customers/not-a-uuid", {}, 400),
        ("get", "/api/v1/customers?limit=0", {}, 422),
        ("get", "/api/v1/customers?limit=201", {}, 422),
        ("get", "/api/v1/customers?tier=gold", {}, 422),
        ("get", "/api/v1/customers?sort=password", {}, 422),
        ("get", "/api/v1/customers?cursor=garbage", {}, 400),
        ("post", "/api/v1/customers", {"json": {"name": "x", "annual_revenue": "-1"}}, 422),
        ("post", "/api/v1/customers", {"json": {"name": "x", "annual_revenue": "1.234"}}, 422),
        ("post", "/api/v1/customers", {"json": {"name": "x", "currency": "yuan"}}, 422),
        ("post", "/api/v1/customers", {"json": {"name": ""}}, 422),
        ("post", "/api/v1/customers", {"json": [1, 2]}, 422),
    ]
    for method, url, kwargs, status in cases:
        headers = {**rep.headers, **kwargs.pop("headers", {})}
        response = await getattr(client, method)(url, headers=headers, **kwargs)
        assert response.status_code == status, (url, kwargs, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status


async def test_oversized_body_is_413(client, rep):
    response = await client.post(
        "/api/v1/customers",
        content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
        headers={**rep.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_cursor_pages_cover_every_row_once_even_with_equal_sort_values(client, conn, rep):
    names = ["Same"] * 7 + ["Other"] * 3
    for name in names:
        await make_customer(conn, owner_id=rep.id, name=name)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, "sort": "name"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/customers", params=params, headers=rep.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 10


async def test_cursor_from_another_sort_is_refused(client, conn, rep):
    for _ in range(3):
        await make_customer(conn, owner_id=rep.id)
    page = (await client.get("/api/v1/customers?limit=1", headers=rep.headers)).json()
    response = await client.get(
        "/api/v1/customers",
        params={"cursor": page["next_cursor"], "sort": "-name"},
        headers=rep.headers,
    )
    assert response.status_code == 400


async def test_list_filters_and_name_prefix(client, conn, rep):
    await make_customer(conn, owner_id=rep.id, name="Shanghai Motors", tier="strategic")
    await make_customer(conn, owner_id=rep.id, name="shanghai Foods")
    await make_customer(conn, owner_id=rep.id, name="Beijing Steel", tier="strategic")
    by_prefix = (await client.get("/api/v1/customers?q=SHANG", headers=rep.headers)).json()
    assert sorted(i["name"] for i in by_prefix["items"]) == ["Shanghai Motors", "shanghai Foods"]
    strategic = (await client.get("/api/v1/customers?tier=strategic", headers=rep.headers)).json()
    assert sorted(i["name"] for i in strategic["items"]) == ["Beijing Steel", "Shanghai Motors"]
    literal = (await client.get("/api/v1/customers?q=%25", headers=rep.headers)).json()
    assert literal["items"] == []


async def test_idempotency_key_replays_and_rejects_a_different_body(client, rep):
    headers = {**rep.headers, "Idempotency-Key": "abc-123"}
    first = await client.post("/api/v1/customers", json={"name": "Once"}, headers=headers)
    again = await client.post("/api/v1/customers", json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    listing = (await client.get("/api/v1/customers?q=Once", headers=rep.headers)).json()
    assert len(listing["items"]) == 1
    other = await client.post("/api/v1/customers", json={"name": "Twice"}, headers=headers)
    assert other.status_code == 422


async def test_archive_hides_from_default_list(client, rep):
    created = (
        await client.post("/api/v1/customers", json={"name": "Gone"}, headers=rep.headers)
    ).json()
    deleted = await client.delete(f"/api/v1/customers/{created['id']}", headers=rep.headers)
    assert deleted.status_code == 200
    assert deleted.json()["archived_at"] is not None
    default = (await client.get("/api/v1/customers", headers=rep.headers)).json()
    assert created["id"] not in [i["id"] for i in default["items"]]
    everything = (await client.get("/api/v1/customers?archived=true", headers=rep.headers)).json()
    assert created["id"] in [i["id"] for i in everything["items"]]


async def test_contacts_round_trip_and_normalize(client, rep):
    customer = (
        await client.post("/api/v1/customers", json={"name": "Omega"}, headers=rep.headers)
    ).json()
    base = f"/api/v1/customers/{customer['id']}/contacts"
    created = await client.post(
        base,
        json={"name": "Li Wei", "decision_role": "decision_maker", "email": " Li.Wei@Omega.CN "},
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["decision_role"] == "decision_maker"
    listing = (await client.get(base + "?decision_role=decision_maker", headers=rep.headers)).json()
    assert [c["id"] for c in listing["items"]] == [contact["id"]]
    missing = await client.get(f"{base}/{uuid.uuid4()}", headers=rep.headers)
    assert missing.status_code == 404


async def test_hidden_customer_is_404_for_another_rep_but_visible_to_their_manager(
    client, conn, settings
):
    team = await make_team(conn)
    owner = await make_user(conn, settings, role=Role.rep, team_id=team)
    other = await make_user(conn, settings, role=Role.rep, team_id=team)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    outsider_manager = await make_user(
        conn, settings, role=Role.manager, team_id=await make_team(conn)
    )
    customer_id = await make_customer(conn, owner_id=owner.id)
    url = f"/api/v1/customers/{customer_id}"
    assert (await client.get(url, headers=owner.headers)).status_code == 200
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.get(url, headers=manager.headers)).status_code == 200
    assert (await client.get(url, headers=outsider_manager.headers)).status_code == 404
    listing = (await client.get("/api/v1/customers", headers=other.headers)).json()
    assert str(customer_id) not in [i["id"] for i in listing["items"]]


async def test_rep_cannot_hand_a_customer_to_someone_else(client, conn, settings, rep):
    other = await make_user(conn, settings, role=Role.rep)
    response = await client.post(
        "/api/v1/customers", json={"name": "Mine", "owner_id": str(other.id)}, headers=rep.headers
    )
    assert response.status_code == 403


async def test_values_the_database_cannot_store_are_422(client, rep):
    nul = await client.post("/api/v1/customers", json={"name": "a\u0000b"}, headers=rep.headers)
    assert nul.status_code in (201, 422), nul.text  # SQLite stores NUL; PostgreSQL refuses it
    search = await client.get("/api/v1/customers?q=a%00b", headers=rep.headers)
    assert search.status_code in (200, 422)
    ancient = await client.get(
        "/api/v1/customers", params={"owner_id": str(rep.id)}, headers=rep.headers
    )
    assert ancient.status_code == 200


async def test_owner_filter_keeps_visibility(client, conn, settings, rep):
    """Filtering on one's own id needs no other clause; on someone else's, visibility holds."""
    from tests.factories import make_contact

    other = await make_user(conn, settings, role=Role.rep)
    await make_customer(conn, owner_id=rep.id, name="Mine")
    covered = await make_customer(conn, owner_id=other.id, name="Covered")
    await make_contact(conn, customer_id=covered, covering_rep_id=rep.id)
    await make_customer(conn, owner_id=other.id, name="Hidden")

    async def names(query: str, actor) -> list[str]:  # type: ignore[no-untyped-def]
        response = await client.get(f"/api/v1/customers?{query}", headers=actor.headers)
        assert response.status_code == 200, response.text
        return sorted(item["name"] for item in response.json()["items"])

    assert await names(f"owner_id={rep.id}", rep) == ["Mine"]
    assert await names(f"owner_id={other.id}", rep) == ["Covered"]
    assert await names(f"owner_id={other.id}", other) == ["Covered", "Hidden"]
    assert await names(f"owner_id={rep.id}", other) == []


async def test_grade_follows_need_intensity_and_purchasing_power(client, rep):
    created = await client.post(
        "/api/v1/customers",
        json={"name": "Graded", "need_intensity": "high", "purchasing_power": "high"},
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["grade"] == "A"
    url = created.headers["location"]
    steps = [
        ({"purchasing_power": "medium"}, "B"),
        ({"need_intensity": "low"}, "C"),
        ({"need_intensity": None}, None),  # not judged any more: no grade
        ({"region": "East"}, None),
        ({"need_intensity": "medium"}, "B"),
    ]
    for body, grade in steps:
        patched = await client.patch(url, json=body, headers=rep.headers)
        assert patched.status_code == 200, patched.text
        assert patched.json()["grade"] == grade, body
    ungraded = await client.post(
        "/api/v1/customers", json={"name": "Half", "need_intensity": "high"}, headers=rep.headers
    )
    assert ungraded.json()["grade"] is None
    listed = (await client.get("/api/v1/customers?grade=B", headers=rep.headers)).json()
    assert [i["name"] for i in listed["items"]] == ["Graded"]
    refused = await client.patch(url, json={"need_intensity": "huge"}, headers=rep.headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "need_intensity"

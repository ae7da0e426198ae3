"""Idempotent POSTs: a retry is recognised by what it means, not by how it is spaced."""

import pytest

from app.core.enums import Role
from tests.factories import make_user


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


async def _post(client, rep, body: bytes, key: str):
    headers = {**rep.headers, "Idempotency-Key": key, "content-type": "application/json"}
    return await client.post("/api/v1/customers", content=body, headers=headers)


async def test_the_same_json_spaced_and_ordered_differently_replays(client, rep):
    first = await _post(client, rep, b'{"name":"Acme","industry":"energy"}', "k-1")
    again = await _post(client, rep, b'{ "industry": "energy",\n  "name": "Acme" }', "k-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    listed = await client.get("/api/v1/customers", headers=rep.headers)
    assert [c["name"] for c in listed.json()["items"]] == ["Acme"]


async def test_a_different_body_under_the_same_key_is_refused(client, rep):
    await _post(client, rep, b'{"name":"Acme"}', "k-2")
    other = await _post(client, rep, b'{"name":"Acme Ltd"}', "k-2")
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"


async def test_a_good_token_with_a_bogus_api_key_is_refused_not_served_as_the_token(
    client, conn, rep
):
    from tests.factories import make_api_key

    bogus = {**rep.headers, "X-API-Key": "sf_not-a-key"}
    response = await client.get("/api/v1/customers", headers=bogus)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["code"] for e in response.json()["errors"]] == ["ambiguous_credentials"]
    # Nothing is created on the token's behalf either.
    refused = await client.post("/api/v1/customers", json={"name": "Acme"}, headers=bogus)
    assert refused.status_code == 401
    key = await make_api_key(conn, scopes=["customers:read"])
    both_good = await client.get("/api/v1/customers", headers={**rep.headers, **key.headers})
    assert both_good.status_code == 401
    listed = await client.get("/api/v1/customers", headers=rep.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []

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

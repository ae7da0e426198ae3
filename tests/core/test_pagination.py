"""Cursors: every page once, and a cursor edited by hand is a 400 naming `cursor`."""

import base64

import orjson
import pytest

from app.core.enums import Role
from tests.factories import make_customer, make_deal, make_user


def forged(payload: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


VALID_ID = {"u": "0190b2a4-7f00-7000-8000-000000000001"}
FORGED_VALUES = [
    ["abc", "def"],  # strings where an instant and an id belong
    [5, 6],
    [[1], [2]],
    [{"t": "2020-01-01T00:00:00"}, VALID_ID],  # naive instant
    [{"t": "2020-01-01T00:00:00+00:00"}, "zz"],  # id that is no UUID
    [{"n": "abc"}, VALID_ID],  # not a number
    [{"n": "NaN"}, VALID_ID],
    [{"x": 1}, VALID_ID],  # unknown tag
    [None, VALID_ID],
    [True, VALID_ID],
]


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


@pytest.mark.parametrize("values", FORGED_VALUES)
async def test_a_forged_cursor_is_a_bad_request_naming_the_cursor(client, rep, values):
    cursor = forged({"s": "created_at", "v": values})
    response = await client.get("/api/v1/customers", params={"cursor": cursor}, headers=rep.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0] == {
        "code": "invalid_cursor",
        "message": "The cursor is not one this API issued.",
        "field": "cursor",
    }


@pytest.mark.parametrize(
    "payload", [[], {"s": "created_at"}, {"s": "created_at", "v": "abc"}, "just text", 42]
)
async def test_a_cursor_of_the_wrong_shape_is_a_bad_request(client, rep, payload):
    response = await client.get(
        "/api/v1/customers", params={"cursor": forged(payload)}, headers=rep.headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "cursor"


async def test_a_forged_name_cursor_is_refused_but_an_issued_one_pages_on(client, conn, rep):
    for name in ("Alpha", "Beta", "Gamma"):
        await make_customer(conn, owner_id=rep.id, name=name)
    first = await client.get(
        "/api/v1/customers", params={"sort": "name", "limit": 1}, headers=rep.headers
    )
    issued = first.json()["next_cursor"]
    following = await client.get(
        "/api/v1/customers",
        params={"sort": "name", "limit": 1, "cursor": issued},
        headers=rep.headers,
    )
    assert [item["name"] for item in following.json()["items"]] == ["Beta"]
    tampered = forged({"s": "name", "v": [{"t": "2020-01-01T00:00:00+00:00"}, VALID_ID]})
    response = await client.get(
        "/api/v1/customers", params={"sort": "name", "cursor": tampered}, headers=rep.headers
    )
    assert response.status_code == 400


async def test_a_forged_history_cursor_is_refused(client, conn, rep):
    customer_id = await make_customer(conn, owner_id=rep.id)
    deal_id = await make_deal(conn, customer_id=customer_id, owner_id=rep.id)
    response = await client.get(
        f"/api/v1/deals/{deal_id}/history",
        params={"cursor": forged({"s": "changed_at", "v": [7, VALID_ID]})},
        headers=rep.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == "invalid_cursor"


async def test_a_forged_approval_queue_cursor_is_refused(client, conn, settings):
    manager = await make_user(conn, settings, role=Role.manager)
    response = await client.get(
        "/api/v1/approvals",
        params={"cursor": forged({"s": "queue", "v": ["first", "2020", VALID_ID]})},
        headers=manager.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == "invalid_cursor"

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.enums import Role
from app.core.schemas import JSON_MAX_BYTES, JSON_MAX_DEPTH
from app.models import Customer
from tests.factories import (
    make_api_key,
    make_contact,
    make_customer,
    make_deal,
    make_lead,
    make_team,
    make_user,
)

customers = Customer.__table__


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


@pytest.fixture
async def customer(conn, rep):
    return await make_customer(conn, owner_id=rep.id)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def log(client, actor, **body):
    body.setdefault("kind", "call")
    body.setdefault("summary", "Discussed the rollout")
    body.setdefault("occurred_at", iso(utcnow() - timedelta(hours=1)))
    return await client.post("/api/v1/activities", json=body, headers=actor.headers)


async def last_contact(conn, customer_id):
    statement = sa.select(customers.c.last_contact_at).where(customers.c.id == customer_id)
    return (await conn.execute(statement)).scalar()


async def test_activity_round_trip_and_last_contact(client, conn, rep, customer):
    contact = await make_contact(conn, customer_id=customer)
    at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    created = await log(
        client,
        rep,
        kind="visit",
        customer_id=str(customer),
        contact_id=str(contact),
        occurred_at="2026-01-05T17:30:00+08:00",
        details={"location": "plant 2", "attendees": 4},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner_id"] == str(rep.id)
    assert datetime.fromisoformat(body["occurred_at"]) == at
    assert body["details"] == {"location": "plant 2", "attendees": 4}
    assert created.headers["location"] == f"/api/v1/activities/{body['id']}"
    assert created.headers["etag"] == '"1"'
    assert await last_contact(conn, customer) == at

    fetched = await client.get(created.headers["location"], headers=rep.headers)
    assert fetched.json() == body

    patched = await client.patch(
        created.headers["location"],
        json={"summary": "Toured plant 2", "kind": "meeting"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["summary"], patched.json()["kind"]) == ("Toured plant 2", "meeting")
    assert patched.json()["version"] == 2
    stale = await client.patch(
        created.headers["location"],
        json={"summary": "again"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 412


async def test_last_contact_never_moves_backwards(client, conn, rep, customer):
    recent = utcnow() - timedelta(hours=2)
    await log(client, rep, customer_id=str(customer), occurred_at=iso(recent))
    older = await log(
        client, rep, customer_id=str(customer), occurred_at=iso(recent - timedelta(days=30))
    )
    assert older.status_code == 201
    assert await last_contact(conn, customer) == recent


async def test_patch_cannot_change_when_or_what_it_is_about(client, conn, rep, customer):
    body = (await log(client, rep, customer_id=str(customer))).json()
    url = f"/api/v1/activities/{body['id']}"
    for change in ({"occurred_at": iso(utcnow())}, {"customer_id": None}, {"summary": None}):
        response = await client.patch(url, json=change, headers=rep.headers)
        assert response.status_code == 422, change


async def test_no_delete(client, rep, customer):
    body = (await log(client, rep, customer_id=str(customer))).json()
    response = await client.delete(f"/api/v1/activities/{body['id']}", headers=rep.headers)
    assert response.status_code == 405


async def test_must_be_about_a_customer_lead_or_deal(client, rep):
    response = await log(client, rep)
    assert response.status_code == 422


async def test_occurred_at_may_not_be_in_the_future(client, rep, customer):
    ahead = await log(
        client, rep, customer_id=str(customer), occurred_at=iso(utcnow() + timedelta(minutes=10))
    )
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["code"] == "occurred_in_future"
    skewed = await log(
        client, rep, customer_id=str(customer), occurred_at=iso(utcnow() + timedelta(minutes=2))
    )
    assert skewed.status_code == 201, skewed.text
    naive = await log(client, rep, customer_id=str(customer), occurred_at="2026-01-05T09:00:00")
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "occurred_at"


async def test_contact_must_belong_to_the_customer_and_implies_it(client, conn, rep, customer):
    elsewhere = await make_customer(conn, owner_id=rep.id)
    contact = await make_contact(conn, customer_id=elsewhere)
    wrong = await log(client, rep, customer_id=str(customer), contact_id=str(contact))
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["code"] == "contact_not_at_customer"

    implied = await log(client, rep, contact_id=str(contact))
    assert implied.status_code == 201, implied.text
    assert implied.json()["customer_id"] == str(elsewhere)
    assert await last_contact(conn, elsewhere) is not None


async def test_a_deal_activity_takes_the_deals_customer(client, conn, rep, customer):
    deal = await make_deal(conn, owner_id=rep.id, customer_id=customer)
    response = await log(client, rep, kind="demo", deal_id=str(deal))
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] == str(customer)
    listing = await client.get(f"/api/v1/activities?deal_id={deal}", headers=rep.headers)
    assert [i["id"] for i in listing.json()["items"]] == [response.json()["id"]]


async def test_references_must_be_visible(client, conn, settings, rep):
    other = await make_user(conn, settings)
    hidden_customer = await make_customer(conn, owner_id=other.id)
    hidden_lead = await make_lead(conn, owner_id=other.id)
    hidden_deal = await make_deal(conn, owner_id=other.id)
    hidden_contact = await make_contact(conn, customer_id=hidden_customer)
    for field, ident in (
        ("customer_id", hidden_customer),
        ("lead_id", hidden_lead),
        ("deal_id", hidden_deal),
        ("contact_id", hidden_contact),
        ("lead_id", uuid.uuid4()),
    ):
        response = await log(client, rep, **{field: str(ident)})
        assert response.status_code == 422, (field, response.text)
        error = response.json()["errors"][0]
        assert (error["code"], error["field"]) == ("reference_not_found", field)


async def test_lead_activity_without_customer(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id)
    response = await log(client, rep, kind="email", lead_id=str(lead))
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] is None


async def test_list_filters_and_newest_first(client, conn, settings, rep, customer):
    other_customer = await make_customer(conn, owner_id=rep.id)
    base = utcnow() - timedelta(days=10)
    for day, kind, cust in (
        (1, "call", customer),
        (3, "email", customer),
        (2, "call", other_customer),
    ):
        await log(
            client,
            rep,
            kind=kind,
            customer_id=str(cust),
            occurred_at=iso(base + timedelta(days=day)),
            summary=f"day {day}",
        )

    async def summaries(query: str) -> list[str]:
        response = await client.get(f"/api/v1/activities?{query}", headers=rep.headers)
        assert response.status_code == 200, response.text
        return [item["summary"] for item in response.json()["items"]]

    assert await summaries("") == ["day 3", "day 2", "day 1"]
    assert await summaries("sort=occurred_at") == ["day 1", "day 2", "day 3"]
    assert await summaries(f"customer_id={customer}") == ["day 3", "day 1"]
    assert await summaries("kind=call") == ["day 2", "day 1"]
    assert await summaries(f"owner_id={rep.id}&kind=email") == ["day 3"]
    after = (base + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert await summaries(f"occurred_after={after}") == ["day 3", "day 2"]
    assert await summaries(f"occurred_before={after}") == ["day 1"]
    assert (await client.get("/api/v1/activities?kind=fax", headers=rep.headers)).status_code == 422
    naive = await client.get(
        "/api/v1/activities?occurred_after=2026-01-01T00:00:00", headers=rep.headers
    )
    assert naive.status_code == 422


async def test_pages_cover_every_activity_once(client, rep, customer):
    moment = iso(utcnow() - timedelta(hours=3))
    for _ in range(7):
        await log(client, rep, customer_id=str(customer), occurred_at=moment)
    for sort in ("occurred_at", "-occurred_at", "created_at", "-created_at"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = (
                await client.get("/api/v1/activities", params=params, headers=rep.headers)
            ).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7, sort


async def test_visibility_and_who_may_edit(client, conn, settings):
    team = await make_team(conn)
    author = await make_user(conn, settings, team_id=team)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    outsider = await make_user(conn, settings)
    customer = await make_customer(conn, owner_id=author.id)
    body = (await log(client, author, customer_id=str(customer))).json()
    url = f"/api/v1/activities/{body['id']}"

    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    listing = (await client.get("/api/v1/activities", headers=outsider.headers)).json()
    assert listing["items"] == []
    outsider_patch = await client.patch(url, json={"summary": "x"}, headers=outsider.headers)
    assert outsider_patch.status_code == 404

    # A rep who covers one of the customer's contacts sees the log but cannot rewrite it.
    coverer = await make_user(conn, settings)
    await make_contact(conn, customer_id=customer, covering_rep_id=coverer.id)
    assert (await client.get(url, headers=coverer.headers)).status_code == 200
    refused = await client.patch(url, json={"summary": "mine now"}, headers=coverer.headers)
    assert refused.status_code == 403

    edited = await client.patch(url, json={"summary": "clarified"}, headers=manager.headers)
    assert edited.status_code == 200, edited.text


async def test_idempotent_replay_logs_once(client, conn, rep, customer):
    headers = {**rep.headers, "Idempotency-Key": "call-42"}
    body = {
        "kind": "call",
        "summary": "Intro call",
        "customer_id": str(customer),
        "occurred_at": iso(utcnow() - timedelta(minutes=30)),
    }
    first = await client.post("/api/v1/activities", json=body, headers=headers)
    again = await client.post("/api/v1/activities", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    listing = (await client.get("/api/v1/activities", headers=rep.headers)).json()
    assert len(listing["items"]) == 1


async def test_partner_key_without_scope_is_403(client, conn, customer):
    key = await make_api_key(conn, scopes=["leads:write"])
    response = await log(client, key, customer_id=str(customer))
    assert response.status_code == 403


async def test_bad_inputs_are_problems_not_500s(client, rep, customer):
    cases = [
        {"customer_id": str(customer), "kind": "fax"},
        {"customer_id": str(customer), "summary": "   "},
        {"customer_id": str(customer), "occurred_at": "0001-01-01T00:00:00+05:00"},
        {"customer_id": str(customer), "details": [1, 2]},
        {"customer_id": str(customer), "owner_id": str(rep.id)},
        {"customer_id": "nope"},
    ]
    for body in cases:
        response = await log(client, rep, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def nested(depth: int) -> dict:
    """A JSON object whose objects nest `depth` levels (`{}` is one)."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"more": value}
    return value


@pytest.mark.parametrize(
    ("details", "code"),
    [
        (nested(JSON_MAX_DEPTH + 1), "json_too_deep"),
        (nested(252), "json_too_deep"),
        (nested(254), "json_too_deep"),
        ({"notes": [["deep"] * 2] * 2, "list": nested(JSON_MAX_DEPTH)}, "json_too_deep"),
        ({"notes": "x" * JSON_MAX_BYTES}, "json_too_large"),
        ({"serial": 2**64}, "json_number_out_of_range"),
    ],
    ids=["just-too-deep", "deep-252", "deep-254", "deep-in-a-list", "too-large", "big-integer"],
)
async def test_details_beyond_the_bounds_are_refused_naming_the_field(
    client, rep, customer, details, code
):
    created = await log(client, rep, customer_id=str(customer), details=details)
    assert created.status_code == 422, created.text
    assert [(e["code"], e["field"]) for e in created.json()["errors"]] == [(code, "details")]

    kept = await log(client, rep, customer_id=str(customer))
    url = kept.headers["location"]
    patched = await client.patch(url, json={"details": details}, headers=rep.headers)
    assert patched.status_code == 422, patched.text
    assert [(e["code"], e["field"]) for e in patched.json()["errors"]] == [(code, "details")]
    listing = await client.get(f"/api/v1/activities?customer_id={customer}", headers=rep.headers)
    assert listing.status_code == 200, listing.text
    assert [item["details"] for item in listing.json()["items"]] == [{}]


async def test_details_at_the_bounds_are_kept_and_listed(client, rep, customer):
    details = {"deep": nested(JSON_MAX_DEPTH - 1), "serial": 2**63 - 1}
    details["notes"] = "x" * (JSON_MAX_BYTES - len(orjson.dumps(details)) - len(',"notes":""'))
    assert len(orjson.dumps(details)) == JSON_MAX_BYTES
    created = await log(client, rep, customer_id=str(customer), details=details)
    assert created.status_code == 201, created.text
    listing = await client.get(f"/api/v1/activities?customer_id={customer}", headers=rep.headers)
    assert listing.status_code == 200, listing.text
    assert [item["details"] for item in listing.json()["items"]] == [details]

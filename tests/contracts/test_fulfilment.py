"""Deliveries (several lots, notices, step times), change requests on paid plans, and the
status codes of the actions that create versus change."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.contracts.schemas import ChangeRequestRead, DeliveryRead
from app.core.clock import utcnow
from app.core.enums import Role
from app.models import Task
from tests.contracts.helpers import (
    act,
    add,
    backdate_signing,
    create_contract,
    read,
    signed,
    step,
)
from tests.factories import make_deal, make_quote, make_team, make_user
from tests.quotes.helpers import assert_shape, codes


def _progress(contract, index):
    return f"deliveries/{contract['deliveries'][index]['id']}/progress"


async def _install(client, rep, contract, index):
    for status in ("shipped", "arrived", "installed"):
        contract = await step(client, rep, contract, _progress(contract, index), {"status": status})
    return contract


async def test_the_contract_is_delivered_only_when_every_delivery_is_installed(
    client, rep, manager, quote
):
    contract = await signed(client, rep, manager, quote)
    contract, _ = await add(client, rep, contract, "deliveries", {"description": "Lot 1"})
    contract, _ = await add(client, rep, contract, "deliveries", {"description": "Lot 2"})

    contract = await _install(client, rep, contract, 0)
    assert (contract["status"], contract["delivered_at"]) == ("in_delivery", None)
    assert [d["status"] for d in contract["deliveries"]] == ["installed", "scheduled"]
    for action in ("accept", "deem-acceptance"):
        early = await act(client, rep, contract, action)
        assert early.status_code == 409, action
        assert codes(early) == ["contract.action_not_allowed"]

    contract = await _install(client, rep, contract, 1)
    assert contract["status"] == "delivered"
    assert contract["delivered_at"] == contract["deliveries"][1]["installed_at"]
    late = await act(client, rep, contract, "deliveries", {"description": "Lot 3"})
    assert late.status_code == 409
    assert codes(late) == ["delivery.contract_not_open"]

    contract = await step(client, rep, contract, "accept")
    assert contract["status"] == "accepted"
    assert [d["acceptance_kind"] for d in contract["deliveries"]] == ["explicit", "explicit"]


async def test_the_latest_installation_dates_the_delivery_not_the_last_recorded(
    client, conn, rep, manager, quote
):
    now = utcnow()
    contract = await signed(client, rep, manager, quote)
    await backdate_signing(conn, contract, now - timedelta(days=1))
    contract, _ = await add(client, rep, contract, "deliveries", {})
    contract, _ = await add(client, rep, contract, "deliveries", {})
    for status, hours_ago in (("shipped", 3), ("arrived", 2)):
        body = {"status": status, "at": (now - timedelta(hours=hours_ago)).isoformat()}
        contract = await step(client, rep, contract, _progress(contract, 0), body)
    contract = await _install(client, rep, contract, 1)
    # Lot 1's installation is reported last, but it happened an hour ago.
    body = {"status": "installed", "at": (now - timedelta(hours=1)).isoformat()}
    contract = await step(client, rep, contract, _progress(contract, 0), body)
    assert contract["status"] == "delivered"
    assert contract["delivered_at"] == contract["deliveries"][1]["installed_at"]


async def test_a_report_a_little_ahead_of_our_clock_is_recorded_as_now(client, rep, manager, quote):
    contract = await signed(client, rep, manager, quote)
    contract, _ = await add(client, rep, contract, "deliveries", {})
    ahead = utcnow() + timedelta(minutes=2)
    body = {"status": "shipped", "at": ahead.isoformat()}
    contract = await step(client, rep, contract, _progress(contract, 0), body)
    assert datetime.fromisoformat(contract["deliveries"][0]["shipped_at"]) < ahead


async def _notice_tasks(conn, contract):
    tasks = Task.__table__
    statement = (
        sa.select(
            tasks.c.assignee_id,
            tasks.c.due_at,
            tasks.c.dedupe_key,
            tasks.c.related_type,
            tasks.c.related_id,
        )
        .where(tasks.c.kind == "delivery_notice", tasks.c.related_id == uuid.UUID(contract["id"]))
        .order_by(tasks.c.due_at)
    )
    return (await conn.execute(statement)).all()


async def test_each_planned_delivery_gets_one_notice_task_two_days_ahead(
    client, conn, rep, manager, quote
):
    contract = await create_contract(client, rep, quote, planned_delivery_date="2027-03-01")
    contract, _ = await add(client, rep, contract, "deliveries", {})  # the contract's date
    contract, _ = await add(client, rep, contract, "deliveries", {"planned_date": "2027-03-10"})
    assert [(d["planned_date"], d["notice_date"]) for d in contract["deliveries"]] == [
        ("2027-03-01", "2027-02-27"),
        ("2027-03-10", "2027-03-08"),
    ]
    rows = await _notice_tasks(conn, contract)
    assert [r.due_at for r in rows] == [
        datetime(2027, 2, 27, tzinfo=UTC),
        datetime(2027, 3, 8, tzinfo=UTC),
    ]
    delivery_ids = [d["id"] for d in contract["deliveries"]]
    assert [r.dedupe_key for r in rows] == [f"delivery_notice:{d}" for d in delivery_ids]
    assert {(r.assignee_id, r.related_type) for r in rows} == {(rep.id, "contract")}

    fetched = await client.get(f"/api/v1/contracts/{contract['id']}", headers=rep.headers)
    assert fetched.json()["deliveries"][0]["notice_date"] == "2027-02-27"


async def test_a_delivery_without_a_planned_date_has_no_notice(client, conn, rep, quote):
    contract = await create_contract(client, rep, quote)
    contract, delivery = await add(client, rep, contract, "deliveries", {})
    assert delivery["notice_date"] is None
    assert await _notice_tasks(conn, contract) == []


async def test_creating_answers_201_and_changing_answers_200(client, rep, manager, quote):
    contract = await create_contract(client, rep, quote)
    review = await act(client, rep, contract, "submit-review")
    assert (review.status_code, review.headers.get("location")) == (200, None)
    contract = await step(client, manager, review.json(), "approve")
    contract = await step(client, rep, contract, "sign")

    scheduled = await act(client, rep, contract, "deliveries", {"planned_date": "2027-01-10"})
    assert scheduled.status_code == 201
    delivery = scheduled.json()
    assert (delivery["status"], delivery["planned_date"]) == ("scheduled", "2027-01-10")
    assert scheduled.headers["location"] == (
        f"/api/v1/contracts/{contract['id']}/deliveries/{delivery['id']}"
    )
    # The contract's ETag covers what hangs off it: the old one is now stale.
    assert scheduled.headers["etag"] == f'"{contract["version"] + 1}"'
    stale = await act(client, rep, contract, "deliveries", {"planned_date": "2027-01-11"})
    assert stale.status_code == 412
    progress = f"deliveries/{delivery['id']}/progress"
    next_version = {**contract, "version": int(scheduled.headers["etag"].strip('"'))}
    shipped = await act(client, rep, next_version, progress, {"status": "shipped"})
    assert (shipped.status_code, shipped.headers.get("location")) == (200, None)
    assert shipped.json()["deliveries"][0]["status"] == "shipped"
    change = {"description": "Extra sensor", "extra_fee": "500"}
    requested = await act(client, rep, shipped.json(), "change-requests", change)
    assert requested.status_code == 201
    assert (requested.json()["description"], requested.json()["status"]) == (
        "Extra sensor",
        "pending",
    )
    assert requested.headers["location"] == (
        f"/api/v1/contracts/{contract['id']}/change-requests/{requested.json()['id']}"
    )

    operations = (await client.get("/openapi.json")).json()["paths"]
    base = "/api/v1/contracts/{contract_id}"
    documented = {
        path: set(operations[base + path]["post"]["responses"]) & {"200", "201"}
        for path in (
            "/submit-review",
            "/deliveries",
            "/deliveries/{delivery_id}/progress",
            "/change-requests",
        )
    }
    assert documented == {
        "/submit-review": {"200"},
        "/deliveries": {"201"},
        "/deliveries/{delivery_id}/progress": {"200"},
        "/change-requests": {"201"},
    }


async def test_a_change_keeps_paid_milestones_and_spreads_over_the_unpaid(
    client, rep, manager, quote
):
    contract = await signed(client, rep, manager, quote)
    advance = contract["milestones"][0]
    contract = await step(client, rep, contract, f"milestones/{advance['id']}/pay")
    change = {"description": "Extra sensor", "extra_fee": "500"}
    contract, requested = await add(client, rep, contract, "change-requests", change)
    contract = await step(client, manager, contract, f"change-requests/{requested['id']}/approve")

    milestones = contract["milestones"]
    assert contract["amount"] == "10500.00"
    assert [(m["amount"], m["paid_amount"]) for m in milestones] == [
        ("3000.00", "3000.00"),
        ("6428.57", None),
        ("1071.43", None),
    ]
    assert sum(Decimal(m["amount"]) for m in milestones) == Decimal(contract["amount"])
    assert [m["percent"] for m in milestones] == ["30.00", "60.00", "10.00"]


async def test_a_change_on_a_fully_paid_plan_cannot_be_approved(client, rep, manager, quote):
    contract = await signed(client, rep, manager, quote)
    for milestone in contract["milestones"]:
        contract = await step(client, rep, contract, f"milestones/{milestone['id']}/pay")
    change = {"description": "Extra sensor", "extra_fee": "500"}
    contract, requested = await add(client, rep, contract, "change-requests", change)
    refused = await act(client, manager, contract, f"change-requests/{requested['id']}/approve")
    assert refused.status_code == 409
    assert codes(refused) == ["change_request.no_unpaid_milestone"]
    fetched = await client.get(f"/api/v1/contracts/{contract['id']}", headers=rep.headers)
    assert fetched.json()["amount"] == "10000.00"
    assert fetched.json()["change_requests"][0]["status"] == "pending"


async def test_a_new_delivery_is_readable_at_its_location_and_listed_in_pages(
    client, rep, manager, quote
):
    contract = await signed(client, rep, manager, quote)
    contract, first = await add(client, rep, contract, "deliveries", {"description": "Lot 1"})
    scheduled = await act(client, rep, contract, "deliveries", {"planned_date": "2027-03-10"})
    second = scheduled.json()
    assert_shape(DeliveryRead, second)
    assert second["notice_date"] == "2027-03-08"

    fetched = await client.get(scheduled.headers["location"], headers=rep.headers)
    assert fetched.status_code == 200
    assert fetched.json() == second
    assert fetched.headers["etag"] == scheduled.headers["etag"]

    base = f"/api/v1/contracts/{contract['id']}/deliveries"
    page = (await client.get(base, params={"limit": 1}, headers=rep.headers)).json()
    assert [d["id"] for d in page["items"]] == [first["id"]]
    rest = await client.get(
        base, params={"limit": 1, "cursor": page["next_cursor"]}, headers=rep.headers
    )
    assert rest.json() == {"items": [second], "next_cursor": None}


async def test_a_new_change_request_is_readable_at_its_location_and_listed(
    client, rep, manager, quote
):
    contract = await signed(client, rep, manager, quote)
    change = {"description": "Extra sensor", "extra_fee": "500"}
    requested = await act(client, rep, contract, "change-requests", change)
    created = requested.json()
    assert_shape(ChangeRequestRead, created)
    assert (created["extra_fee"], created["requested_by"]) == ("500.00", str(rep.id))

    fetched = await client.get(requested.headers["location"], headers=rep.headers)
    assert (fetched.status_code, fetched.json()) == (200, created)
    contract = await read(client, rep, contract)
    assert fetched.headers["etag"] == f'"{contract["version"]}"'
    listing = await client.get(
        f"/api/v1/contracts/{contract['id']}/change-requests", headers=rep.headers
    )
    assert listing.json() == {"items": [created], "next_cursor": None}

    decided = await step(client, manager, contract, f"change-requests/{created['id']}/approve")
    refetched = (await client.get(requested.headers["location"], headers=manager.headers)).json()
    assert refetched["status"] == "approved"
    assert refetched == decided["change_requests"][0]


async def test_deliveries_and_changes_are_seen_by_who_sees_the_contract(
    client, conn, settings, rep, manager, quote, customer_id
):
    contract = await signed(client, rep, manager, quote)
    contract, delivery = await add(client, rep, contract, "deliveries", {})
    contract, change = await add(
        client, rep, contract, "change-requests", {"description": "More", "extra_fee": "1"}
    )
    base = f"/api/v1/contracts/{contract['id']}"
    paths = [
        f"{base}/deliveries",
        f"{base}/deliveries/{delivery['id']}",
        f"{base}/change-requests",
        f"{base}/change-requests/{change['id']}",
    ]
    outsider = await make_user(conn, settings, role=Role.rep, team_id=await make_team(conn))
    for path in paths:
        assert (await client.get(path, headers=manager.headers)).status_code == 200, path
        hidden = await client.get(path, headers=outsider.headers)
        assert hidden.status_code == 404, path
        assert hidden.headers["content-type"] == "application/problem+json"

    other_quote = await _another_accepted_quote(conn, rep, customer_id)
    other = await create_contract(client, rep, other_quote)
    for path in (f"deliveries/{delivery['id']}", f"change-requests/{change['id']}"):
        response = await client.get(f"/api/v1/contracts/{other['id']}/{path}", headers=rep.headers)
        assert response.status_code == 404, path
    unknown = await client.get(f"{base}/deliveries/{uuid.uuid4()}", headers=rep.headers)
    assert unknown.status_code == 404


async def test_a_retried_delivery_replays_the_same_item_and_location(client, rep, manager, quote):
    contract = await signed(client, rep, manager, quote)
    headers = {**rep.headers, "If-Match": f'"{contract["version"]}"', "Idempotency-Key": "lot-1"}
    url = f"/api/v1/contracts/{contract['id']}/deliveries"
    first = await client.post(url, json={"description": "Lot 1"}, headers=headers)
    again = await client.post(url, json={"description": "Lot 1"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert len((await read(client, rep, contract))["deliveries"]) == 1


async def _another_accepted_quote(conn, rep, customer_id):
    deal_id = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="negotiation")
    return await make_quote(
        conn, deal_id=deal_id, owner_id=rep.id, customer_id=customer_id, status="accepted"
    )

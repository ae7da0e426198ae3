import uuid

import pytest

from app.contracts.schemas import ContractDetail, ContractRead
from app.core.enums import Role
from app.models import Deal
from tests.contracts.helpers import PLAN, contract_body, create_contract
from tests.factories import make_quote, make_user
from tests.quotes.helpers import assert_shape, codes


async def test_contract_from_an_accepted_quote_round_trips(client, rep, quote, deal_id):
    created = await client.post(
        "/api/v1/contracts",
        json=contract_body(quote, start_date="2026-01-01", end_date="2026-12-31"),
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    contract = created.json()
    assert contract["status"] == "draft"
    assert (contract["amount"], contract["currency"]) == ("10000.00", "CNY")
    assert contract["quote_version_id"] == str(quote["version_id"])
    assert (contract["deal_id"], contract["owner_id"]) == (str(deal_id), str(rep.id))
    milestones = contract["milestones"]
    assert [m["amount"] for m in milestones] == ["3000.00", "6000.00", "1000.00"]
    assert [m["percent"] for m in milestones] == ["30.00", "60.00", "10.00"]
    assert [m["position"] for m in milestones] == [1, 2, 3]
    assert all(m["due_date"] is None and m["overdue_days"] == 0 for m in milestones)
    assert contract["deliveries"] == contract["change_requests"] == []
    assert created.headers["location"] == f"/api/v1/contracts/{contract['id']}"
    assert created.headers["etag"] == '"1"'
    fetched = await client.get(created.headers["location"], headers=rep.headers)
    assert fetched.json() == contract
    assert_shape(ContractDetail, contract)
    listing = (await client.get("/api/v1/contracts", headers=rep.headers)).json()
    assert_shape(ContractRead, listing["items"][0])


async def test_milestones_must_add_up_to_exactly_100(client, rep, quote):
    short = [dict(PLAN[0], percent="29.99"), *PLAN[1:]]
    response = await client.post(
        "/api/v1/contracts", json=contract_body(quote, milestones=short), headers=rep.headers
    )
    assert response.status_code == 422
    assert codes(response) == ["milestone.percent_sum_not_100"]
    assert "99.99" in response.json()["detail"]

    every_problem = [
        {"kind": "advance", "percent": "0", "anchor": "signing", "days_after": -1},
        {"kind": "custom", "percent": "50", "anchor": "delivery"},
    ]
    response = await client.post(
        "/api/v1/contracts",
        json=contract_body(quote, milestones=every_problem),
        headers=rep.headers,
    )
    assert response.status_code == 422
    assert codes(response) == [
        "milestone.percent_not_positive",
        "milestone.days_negative",
        "milestone.percent_sum_not_100",
    ]
    assert (
        await client.post(
            "/api/v1/contracts", json=contract_body(quote, milestones=[]), headers=rep.headers
        )
    ).status_code == 422
    exact = await client.post("/api/v1/contracts", json=contract_body(quote), headers=rep.headers)
    assert exact.status_code == 201


async def test_odd_percentages_still_split_the_amount_to_the_cent(client, conn, rep, deal_id):
    made = await make_quote(
        conn, deal_id=deal_id, owner_id=rep.id, status="accepted", unit_list_price="100.00"
    )
    thirds = [
        {"kind": "custom", "percent": "33.33", "anchor": "signing"},
        {"kind": "custom", "percent": "33.33", "anchor": "delivery"},
        {"kind": "custom", "percent": "33.34", "anchor": "acceptance"},
    ]
    contract = await create_contract(client, rep, made, milestones=thirds)
    assert [m["amount"] for m in contract["milestones"]] == ["33.33", "33.33", "33.34"]


async def test_only_an_accepted_quote_makes_a_contract_and_only_one(
    client, backend, conn, rep, quote, deal_id
):
    sent = await make_quote(conn, deal_id=deal_id, owner_id=rep.id, status="sent")
    response = await client.post("/api/v1/contracts", json=contract_body(sent), headers=rep.headers)
    assert response.status_code == 409
    assert codes(response) == ["contract.quote_not_accepted"]

    missing = await client.post(
        "/api/v1/contracts",
        json=contract_body({"quote_id": uuid.uuid4()}),
        headers=rep.headers,
    )
    assert missing.status_code == 422
    assert codes(missing) == ["reference_not_found"]

    await create_contract(client, rep, quote)
    second = await client.post("/api/v1/contracts", json=contract_body(quote), headers=rep.headers)
    assert second.status_code == 409
    if backend == "postgresql":  # SQLite does not name the violated constraint
        assert codes(second) == ["uq_contracts_quote_version_id"]


@pytest.mark.parametrize("stage", ["won", "lost"])
async def test_a_closed_deal_takes_no_contract(client, conn, rep, quote, deal_id, stage):
    deals = Deal.__table__
    await conn.execute(deals.update().where(deals.c.id == deal_id).values(stage=stage))
    body = contract_body(quote)
    response = await client.post("/api/v1/contracts", json=body, headers=rep.headers)
    assert response.status_code == 409
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("contract.deal_closed", "quote_id")
    ]
    assert stage in response.json()["detail"]
    listing = await client.get(f"/api/v1/contracts?deal_id={deal_id}", headers=rep.headers)
    assert listing.json()["items"] == []


async def test_bad_inputs_are_problems_not_500s(client, rep, quote):
    cases = [
        contract_body(quote, amount="1.00"),
        contract_body(quote, title=""),
        contract_body(quote, start_date="2026-02-01", end_date="2026-01-31"),
        contract_body(quote, milestones=[dict(PLAN[0], anchor="payday", percent="100")]),
        contract_body(quote, milestones=[dict(PLAN[0], percent="100.001")]),
        contract_body(quote, milestones=[dict(PLAN[0], percent="101")]),
    ]
    for body in cases:
        response = await client.post("/api/v1/contracts", json=body, headers=rep.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for url in (
        "/api/v1/contracts?status=signedish",
        "/api/v1/contracts?ending_before=soon",
        "/api/v1/contracts?sort=amount",
        "/api/v1/contracts?page=2",
        "/api/v1/contracts/nope",
    ):
        assert (await client.get(url, headers=rep.headers)).status_code in (400, 422), url


async def test_patch_changes_dates_but_not_status_and_honours_if_match(client, rep, quote):
    contract = await create_contract(client, rep, quote)
    url = f"/api/v1/contracts/{contract['id']}"
    refused = await client.patch(url, json={"status": "signed"}, headers=rep.headers)
    assert refused.status_code == 422
    assert "sign" in refused.text
    assert (await client.patch(url, json={"amount": "1"}, headers=rep.headers)).status_code == 422

    patched = await client.patch(
        url,
        json={"planned_delivery_date": "2026-03-01", "end_date": "2026-12-31"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["planned_delivery_date"] == "2026-03-01"
    assert patched.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"title": "Other"}, headers={**rep.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    backwards = await client.patch(url, json={"start_date": "2027-01-01"}, headers=rep.headers)
    assert backwards.status_code == 422
    assert codes(backwards) == ["contract.end_before_start"]


async def test_idempotent_create_replays(client, rep, quote):
    headers = {**rep.headers, "Idempotency-Key": "contract-1"}
    first = await client.post("/api/v1/contracts", json=contract_body(quote), headers=headers)
    again = await client.post("/api/v1/contracts", json=contract_body(quote), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_hidden_contract_is_404(client, conn, settings, rep, manager, quote):
    contract = await create_contract(client, rep, quote)
    outsider = await make_user(conn, settings, role=Role.rep)
    url = f"/api/v1/contracts/{contract['id']}"
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    headers = {**outsider.headers, "If-Match": '"1"'}
    assert (await client.post(f"{url}/submit-review", headers=headers)).status_code == 404
    assert (await client.get(url, headers=manager.headers)).status_code == 200
    listing = (await client.get("/api/v1/contracts", headers=outsider.headers)).json()
    assert listing["items"] == []
    # Nor can they make a contract from a quote they cannot see.
    response = await client.post(
        "/api/v1/contracts", json=contract_body(quote), headers=outsider.headers
    )
    assert response.status_code == 422


async def test_list_filters_and_pages(client, conn, rep, deal_id, customer_id):
    contracts = []
    for end in ("2026-03-31", "2026-06-30", "2026-12-31"):
        made = await make_quote(
            conn, deal_id=deal_id, owner_id=rep.id, customer_id=customer_id, status="accepted"
        )
        contracts.append(await create_contract(client, rep, made, end_date=end))

    def ids(page):
        return [c["id"] for c in page["items"]]

    async def get(query):
        response = await client.get(f"/api/v1/contracts?{query}", headers=rep.headers)
        assert response.status_code == 200, response.text
        return response.json()

    assert ids(await get("ending_before=2026-07-01")) == [c["id"] for c in contracts[:2]]
    assert len(ids(await get(f"customer_id={customer_id}&status=draft"))) == 3
    assert ids(await get("status=signed")) == []
    assert len(ids(await get(f"deal_id={deal_id}&owner_id={rep.id}"))) == 3
    first = await get("limit=2&sort=-created_at")
    second = await get(f"limit=2&sort=-created_at&cursor={first['next_cursor']}")
    assert ids(first) + ids(second) == [c["id"] for c in reversed(contracts)]
    assert second["next_cursor"] is None

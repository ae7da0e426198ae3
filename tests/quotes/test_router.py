import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.enums import Role
from app.models import AuditEntry
from app.quotes.schemas import (
    QuoteDetail,
    QuoteLineRead,
    QuoteListItem,
    QuoteVersionDetail,
    QuoteVersionRead,
)
from tests.factories import make_api_key, make_deal, make_user
from tests.quotes.helpers import (
    act,
    advance,
    assert_shape,
    codes,
    create_quote,
    line,
    make_prior_contract,
    quote_body,
)


async def test_create_computes_totals_in_decimal_and_round_trips(client, rep, deal_id, customer_id):
    body = quote_body(
        deal_id,
        header="10",
        lines=[line("1000.00", "3", discount="10"), line("0.10", "3", sku="BOLT")],
        terms="FOB Shanghai",
    )
    created = await client.post("/api/v1/quotes", json=body, headers=rep.headers)
    assert created.status_code == 201, created.text
    quote = created.json()
    version = quote["current_version"]
    assert quote["status"] == "draft"
    assert quote["customer_id"] == str(customer_id)
    assert quote["owner_id"] == str(rep.id)
    assert version["number"] == 1
    # 0.10 x 3 is 0.30 exactly, not 0.30000000000000004.
    assert [ln["line_net_total"] for ln in version["lines"]] == ["2700.00", "0.30"]
    # Percentages read with two decimals, on every backend.
    assert [ln["line_discount_pct"] for ln in version["lines"]] == ["10.00", "0.00"]
    assert (version["header_discount_pct"], version["effective_discount_pct"]) == (
        "10.00",
        "19.00",
    )
    assert version["list_total"] == "3000.30"
    assert version["subtotal"] == "2700.30"
    assert version["total"] == "2430.27"
    assert version["valid_until"] == (utcnow().date() + timedelta(days=30)).isoformat()
    assert len(version["fingerprint"]) == 64
    assert created.headers["location"] == f"/api/v1/quotes/{quote['id']}"
    assert created.headers["etag"] == '"1"'

    fetched = await client.get(created.headers["location"], headers=rep.headers)
    assert fetched.status_code == 200
    assert fetched.json() == quote
    assert_shape(QuoteDetail, quote)
    assert_shape(QuoteVersionDetail, version)
    assert_shape(QuoteLineRead, version["lines"][0])
    listing = (await client.get("/api/v1/quotes", headers=rep.headers)).json()
    assert_shape(QuoteListItem, listing["items"][0])
    assert_shape(QuoteVersionRead, listing["items"][0]["current_version"])


async def test_client_totals_are_refused(client, rep, deal_id):
    response = await client.post(
        "/api/v1/quotes", json=quote_body(deal_id, total="1.00"), headers=rep.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "total"


async def test_renewal_years_set_a_policy_discount_that_needs_no_approval(
    client, conn, rep, deal_id, customer_id
):
    await make_prior_contract(conn, customer_id=customer_id, owner_id=rep.id, status="closed")
    quote = await create_quote(client, rep, deal_id, header="5", renewal_years=3)
    version = quote["current_version"]
    assert version["policy_discount_reason"] == "multi-year renewal 3y"
    assert (version["policy_discount_pct"], version["effective_discount_pct"]) == (
        "15.00",
        "5.00",
    )
    assert version["total"] == "807.50"  # 1000 x 0.95 x 0.85
    submitted = await advance(client, rep, quote, "submit")
    assert submitted["status"] == "approved"


async def test_a_new_customer_cannot_claim_a_renewal_discount(client, rep, deal_id):
    """The bypass: 5 % header plus a made-up 3-year renewal is 19.25 % off, auto-approved."""
    response = await client.post(
        "/api/v1/quotes", json=quote_body(deal_id, "5", renewal_years=3), headers=rep.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("quote.renewal_not_eligible", "renewal_years")
    ]
    listing = (await client.get(f"/api/v1/quotes?deal_id={deal_id}", headers=rep.headers)).json()
    assert listing["items"] == []


async def test_only_a_signed_standing_contract_on_another_deal_is_renewed(
    client, conn, rep, deal_id, customer_id
):
    await make_prior_contract(conn, customer_id=customer_id, owner_id=rep.id, status="terminated")
    await make_prior_contract(conn, customer_id=customer_id, owner_id=rep.id, status="approved")
    refused = await client.post(
        "/api/v1/quotes", json=quote_body(deal_id, renewal_years=2), headers=rep.headers
    )
    assert codes(refused) == ["quote.renewal_not_eligible"]

    await make_prior_contract(conn, customer_id=customer_id, owner_id=rep.id, status="in_delivery")
    quote = await create_quote(client, rep, deal_id, renewal_years=2)
    assert quote["current_version"]["total"] == "900.00"


async def test_editing_in_a_renewal_discount_is_checked_too(client, conn, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    url = f"/api/v1/quotes/{quote['id']}"
    headers = {**rep.headers, "If-Match": '"1"'}
    refused = await client.patch(url, json={"renewal_years": 3}, headers=headers)
    assert refused.status_code == 422
    assert codes(refused) == ["quote.renewal_not_eligible"]
    cleared = await client.patch(url, json={"renewal_years": None}, headers=headers)
    assert cleared.status_code == 200
    assert cleared.json()["current_version"]["total"] == "1000.00"


async def test_bad_inputs_are_problems_not_500s(client, rep, deal_id):
    too_many = [line() for _ in range(201)]
    cases = [
        quote_body(deal_id, lines=[]),
        quote_body(deal_id, lines=too_many),
        quote_body(deal_id, lines=[line(quantity="0")]),
        quote_body(deal_id, lines=[line(price="-1")]),
        quote_body(deal_id, lines=[line(price="1.001")]),
        quote_body(deal_id, lines=[line(discount="100.01")]),
        quote_body(deal_id, header="-1"),
        quote_body(deal_id, currency="yuan"),
        quote_body(deal_id, renewal_years=0),
        quote_body(deal_id, valid_until="2000-01-01"),
        quote_body(uuid.uuid4()),
        # Fits each field, but the total would not fit a money column.
        quote_body(deal_id, lines=[line("9999999999999.99", "99999999999.999")]),
    ]
    for body in cases:
        response = await client.post("/api/v1/quotes", json=body, headers=rep.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for url in ("/api/v1/quotes?status=open", "/api/v1/quotes?sort=total", "/api/v1/quotes?x=1"):
        assert (await client.get(url, headers=rep.headers)).status_code in (400, 422), url
    missing = await client.get(f"/api/v1/quotes/{uuid.uuid4()}", headers=rep.headers)
    assert missing.status_code == 404


async def test_a_closed_deal_takes_no_quotes(client, conn, rep, customer_id):
    won = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="won")
    response = await client.post("/api/v1/quotes", json=quote_body(won), headers=rep.headers)
    assert response.status_code == 409
    assert codes(response) == ["quote.deal_closed"]


async def test_draft_edit_is_in_place_and_status_is_not_patchable(client, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    url = f"/api/v1/quotes/{quote['id']}"
    refused = await client.patch(url, json={"status": "approved"}, headers=rep.headers)
    assert refused.status_code == 422
    assert "submit" in refused.text

    edited = await client.patch(
        url,
        json={"lines": [line("500.00", "2")], "title": "Retrofit v2"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["title"] == "Retrofit v2"
    assert body["current_version_no"] == 1
    assert body["current_version"]["total"] == "1000.00"
    assert body["current_version"]["lines"][0]["quantity"].startswith("2")
    assert body["current_version"]["fingerprint"] != quote["current_version"]["fingerprint"]
    assert edited.headers["etag"] == '"2"'


@pytest.mark.parametrize(
    ("left_out", "stored"),
    [("description", None), ("line_discount_pct", "0.00")],
)
async def test_edited_lines_may_leave_out_optional_fields_as_on_create(
    client, rep, deal_id, left_out, stored
):
    quote = await create_quote(client, rep, deal_id)
    edited_line = line("500.00", "2")
    del edited_line[left_out]
    edited = await client.patch(
        f"/api/v1/quotes/{quote['id']}",
        json={"lines": [edited_line]},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    (stored_line,) = edited.json()["current_version"]["lines"]
    assert stored_line[left_out] == stored
    assert stored_line["line_net_total"] == "1000.00"


async def test_stale_if_match_is_412_and_changes_nothing(client, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    url = f"/api/v1/quotes/{quote['id']}"
    await client.patch(url, json={"title": "A"}, headers={**rep.headers, "If-Match": '"1"'})
    stale = await client.patch(url, json={"title": "B"}, headers={**rep.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    stale_action = await act(client, rep, quote, "submit")
    assert stale_action.status_code == 412
    current = (await client.get(url, headers=rep.headers)).json()
    assert current["title"] == "A"
    assert current["status"] == "draft"


async def test_idempotent_create_replays(client, rep, deal_id):
    headers = {**rep.headers, "Idempotency-Key": "quote-1"}
    first = await client.post("/api/v1/quotes", json=quote_body(deal_id), headers=headers)
    again = await client.post("/api/v1/quotes", json=quote_body(deal_id), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listing = (await client.get(f"/api/v1/quotes?deal_id={deal_id}", headers=rep.headers)).json()
    assert len(listing["items"]) == 1


async def test_hidden_quote_is_404_for_another_rep_but_visible_to_their_manager(
    client, conn, settings, rep, manager, deal_id
):
    quote = await create_quote(client, rep, deal_id)
    outsider = await make_user(conn, settings, role=Role.rep)
    url = f"/api/v1/quotes/{quote['id']}"
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    assert (await act(client, outsider, quote, "submit")).status_code == 404
    assert (await client.get(url, headers=manager.headers)).status_code == 200
    listing = (await client.get("/api/v1/quotes", headers=outsider.headers)).json()
    assert listing["items"] == []
    # Nor can someone quote on a deal they cannot see.
    response = await client.post(
        "/api/v1/quotes", json=quote_body(deal_id), headers=outsider.headers
    )
    assert response.status_code == 422
    assert codes(response) == ["reference_not_found"]


async def test_list_filters_and_pages_without_repeats(client, conn, rep, deal_id, customer_id):
    other_deal = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="proposal")
    created = [await create_quote(client, rep, deal_id) for _ in range(4)]
    await create_quote(client, rep, other_deal)
    await advance(client, rep, created[0], "submit")

    by_deal = (await client.get(f"/api/v1/quotes?deal_id={deal_id}", headers=rep.headers)).json()
    assert {q["id"] for q in by_deal["items"]} == {q["id"] for q in created}
    assert all(q["current_version"]["total"] == "1000.00" for q in by_deal["items"])
    approved = (await client.get("/api/v1/quotes?status=approved", headers=rep.headers)).json()
    assert [q["id"] for q in approved["items"]] == [created[0]["id"]]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "sort": "-updated_at"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/quotes", params=params, headers=rep.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert seen[0] == created[0]["id"]  # the most recently changed


async def test_versions_are_listed_and_readable_by_number(client, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    quote = await advance(client, rep, quote, "submit")
    edited = await client.patch(
        f"/api/v1/quotes/{quote['id']}",
        json={"lines": [line("2000.00")]},
        headers={**rep.headers, "If-Match": f'"{quote["version"]}"'},
    )
    assert edited.status_code == 200, edited.text
    base = f"/api/v1/quotes/{quote['id']}/versions"
    versions = (await client.get(base, headers=rep.headers)).json()
    assert [(v["number"], v["status"]) for v in versions["items"]] == [
        (1, "superseded"),
        (2, "draft"),
    ]
    first = (await client.get(f"{base}/1", headers=rep.headers)).json()
    assert first["lines"][0]["unit_list_price"] == "1000.00"
    assert first["superseded_at"] is not None
    paged = (await client.get(f"{base}?limit=1", headers=rep.headers)).json()
    assert len(paged["items"]) == 1 and paged["next_cursor"]
    assert (await client.get(f"{base}/3", headers=rep.headers)).status_code == 404
    assert (await client.get(f"{base}/0", headers=rep.headers)).status_code == 422


async def test_every_change_is_in_the_audit_trail(client, conn, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    await advance(client, rep, quote, "submit")
    audit = AuditEntry.__table__
    rows = (
        await conn.execute(
            sa.select(audit.c.action, audit.c.actor_id, audit.c.before, audit.c.after)
            .where(audit.c.entity_id == uuid.UUID(quote["id"]))
            .order_by(audit.c.at)
        )
    ).all()
    assert [r.action for r in rows] == ["create", "submit"]
    assert rows[1].actor_id == rep.id
    assert rows[1].after["status"] == "approved"
    # The version's fields are on both sides: where they stood, and what the submit set.
    assert rows[1].before["submitted_by"] is None
    assert rows[1].after["submitted_by"] == str(rep.id)
    assert rows[1].before["status"] == "draft"


async def test_api_key_reads_with_scope_but_cannot_submit(client, conn, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    partner = await make_api_key(conn, scopes=["quotes:read", "quotes:write"])
    assert (await client.get(f"/api/v1/quotes/{quote['id']}", headers=partner.headers)).is_success
    refused = await act(client, partner, quote, "submit")
    assert refused.status_code == 403


async def test_an_action_retried_with_its_idempotency_key_replays(client, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    headers = {**rep.headers, "If-Match": '"1"', "Idempotency-Key": "submit-1"}
    url = f"/api/v1/quotes/{quote['id']}/submit"
    first = await client.post(url, headers=headers)
    again = await client.post(url, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    without_key = await client.post(url, headers={**rep.headers, "If-Match": '"2"'})
    assert without_key.status_code == 409

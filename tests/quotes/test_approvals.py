"""Discount authority, approvals bound to fingerprints, and the approver's queue, via HTTP."""

import uuid
from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.core.enums import Role
from app.models import Deal, QuoteLineItem, QuoteVersion, User
from app.quotes.schemas import ApprovalRead
from tests.factories import make_customer, make_deal, make_quote, make_user
from tests.quotes.helpers import act, advance, assert_shape, codes, create_quote, line


@pytest.mark.parametrize(
    ("role", "discount", "status", "approver"),
    [
        (Role.rep, "5.00", "approved", None),
        (Role.rep, "5.01", "pending_approval", "manager"),
        (Role.rep, "10.01", "pending_approval", "director"),
        (Role.manager, "10.00", "approved", None),
        (Role.manager, "10.01", "pending_approval", "director"),
        (Role.director, "15.00", "approved", None),
    ],
)
async def test_submit_approves_within_the_authors_authority(
    client, conn, settings, team, customer_id, role, discount, status, approver
):
    author = await make_user(conn, settings, role=role, team_id=team)
    deal = await make_deal(conn, owner_id=author.id, customer_id=customer_id, stage="proposal")
    quote = await create_quote(client, author, deal, header=discount)
    response = await act(client, author, quote, "submit")
    assert response.status_code == 200, response.text
    body = response.json()
    version = body["current_version"]
    assert (body["status"], version["required_approver_role"]) == (status, approver)
    assert version["submitted_by"] == str(author.id)
    assert version["approved_by"] is None
    if status == "approved":
        assert version["approved_at"] is not None
        assert version["approved_fingerprint"] == version["fingerprint"]
    else:
        assert version["approved_at"] is None


async def test_above_fifteen_percent_nobody_may_approve(client, director, customer_id, conn):
    deal = await make_deal(conn, owner_id=director.id, customer_id=customer_id, stage="proposal")
    quote = await create_quote(client, director, deal, header="15.01")
    response = await act(client, director, quote, "submit")
    assert response.status_code == 422
    assert codes(response) == ["discount.above_ceiling"]
    fetched = await client.get(f"/api/v1/quotes/{quote['id']}", headers=director.headers)
    assert fetched.json()["status"] == "draft"


async def test_line_and_header_discounts_compose_before_authority_is_judged(client, rep, deal_id):
    # 3 % on the line then 2.1 % on the header is 5.037 % off list: above the rep limit.
    quote = await create_quote(client, rep, deal_id, header="2.1", lines=[line(discount="3")])
    submitted = await advance(client, rep, quote, "submit")
    assert submitted["status"] == "pending_approval"
    assert submitted["current_version"]["effective_discount_pct"] == "5.04"


async def test_manager_approves_what_the_rep_may_not(client, rep, manager, deal_id):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "8"), "submit")
    by_rep = await act(client, rep, quote, "approve")
    assert by_rep.status_code == 403
    assert "approval.insufficient_authority" in codes(by_rep)

    approved = await act(client, manager, quote, "approve")
    assert approved.status_code == 200, approved.text
    version = approved.json()["current_version"]
    assert approved.json()["status"] == "approved"
    assert version["approved_by"] == str(manager.id)
    assert version["approved_fingerprint"] == version["fingerprint"]

    again = await act(client, manager, approved.json(), "approve")
    assert again.status_code == 409
    assert codes(again) == ["quote.action_not_allowed"]


async def test_no_one_approves_their_own_quote(client, conn, rep, deal_id):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "8"), "submit")
    # Promoted after submitting: the limit now covers it, but they are still the author.
    users = User.__table__
    await conn.execute(users.update().where(users.c.id == rep.id).values(role=Role.manager))
    response = await act(client, rep, quote, "approve")
    assert response.status_code == 403
    assert codes(response) == ["approval.self_approval"]


async def test_editing_an_approved_quote_voids_the_approval(client, rep, deal_id):
    """The classic bypass: get 5 % approved, then raise the discount to 12 %."""
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "5"), "submit")
    assert quote["status"] == "approved"
    edited = await client.patch(
        f"/api/v1/quotes/{quote['id']}",
        json={"header_discount_pct": "12"},
        headers={**rep.headers, "If-Match": f'"{quote["version"]}"'},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    version = body["current_version"]
    assert (body["status"], body["current_version_no"], version["number"]) == ("draft", 2, 2)
    assert version["approved_at"] is None and version["approved_fingerprint"] is None

    sending = await act(client, rep, body, "send")
    assert sending.status_code == 409
    resubmitted = await advance(client, rep, body, "submit")
    assert resubmitted["status"] == "pending_approval"
    assert resubmitted["current_version"]["required_approver_role"] == "director"
    first = await client.get(f"/api/v1/quotes/{quote['id']}/versions/1", headers=rep.headers)
    assert first.json()["status"] == "superseded"
    assert first.json()["header_discount_pct"] == "5.00"


async def test_a_title_change_keeps_the_approval(client, rep, deal_id):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "5"), "submit")
    edited = await client.patch(
        f"/api/v1/quotes/{quote['id']}",
        json={"title": "Renamed", "header_discount_pct": "5.000"},
        headers={**rep.headers, "If-Match": f'"{quote["version"]}"'},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["status"], edited.json()["current_version_no"]) == ("approved", 1)


async def test_approval_is_bound_to_the_content_it_covered(client, conn, rep, deal_id):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "5"), "submit")
    lines = QuoteLineItem.__table__
    version_id = uuid.UUID(quote["current_version"]["id"])
    await conn.execute(
        lines.update().where(lines.c.quote_version_id == version_id).values(unit_list_price=1)
    )
    response = await act(client, rep, quote, "send")
    assert response.status_code == 422
    assert codes(response) == ["quote.approval_void"]


async def test_a_copy_of_an_approved_quote_starts_unapproved(client, rep, deal_id):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "5"), "submit")
    response = await client.post(
        f"/api/v1/quotes/{quote['id']}/copy", json={"title": "Copy"}, headers=rep.headers
    )
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["id"] != quote["id"]
    assert (copy["status"], copy["copied_from_id"], copy["title"]) == ("draft", quote["id"], "Copy")
    assert copy["current_version"]["approved_at"] is None
    assert copy["current_version"]["total"] == quote["current_version"]["total"]
    assert response.headers["location"] == f"/api/v1/quotes/{copy['id']}"
    no_body = await client.post(f"/api/v1/quotes/{quote['id']}/copy", headers=rep.headers)
    assert no_body.status_code == 201
    assert no_body.json()["title"] == quote["title"]


async def test_reject_needs_approver_authority_while_pending(client, rep, manager, deal_id):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "8"), "submit")
    assert (await act(client, rep, quote, "reject", {"reason": "meh"})).status_code == 403
    assert (await act(client, manager, quote, "reject", {"reason": " "})).status_code == 422
    rejected = await act(client, manager, quote, "reject", {"reason": "Margin too thin"})
    assert rejected.status_code == 200, rejected.text
    version = rejected.json()["current_version"]
    assert rejected.json()["status"] == "rejected"
    assert (version["rejection_reason"], version["rejected_by"]) == (
        "Margin too thin",
        str(manager.id),
    )
    edit = await client.patch(
        f"/api/v1/quotes/{quote['id']}", json={"title": "x"}, headers=rep.headers
    )
    assert edit.status_code == 409


async def test_sent_quote_is_accepted_or_turned_down_by_the_customer(client, rep, deal_id):
    quote = await create_quote(client, rep, deal_id)
    accepted = await advance(client, rep, quote, "submit", "send", "accept")
    version = accepted["current_version"]
    assert accepted["status"] == "accepted"
    assert version["sent_at"] is not None and version["accepted_at"] is not None
    frozen = await client.patch(
        f"/api/v1/quotes/{quote['id']}", json={"header_discount_pct": "1"}, headers=rep.headers
    )
    assert frozen.status_code == 409

    other = await advance(client, rep, await create_quote(client, rep, deal_id), "submit", "send")
    declined = await act(client, rep, other, "reject", {"reason": "Chose a competitor"})
    assert declined.status_code == 200
    assert declined.json()["status"] == "rejected"


async def test_a_quote_past_its_validity_cannot_be_accepted(client, conn, rep, deal_id):
    today = utcnow().date()
    quote = await create_quote(client, rep, deal_id, valid_until=today.isoformat())
    quote = await advance(client, rep, quote, "submit", "send")
    early = await act(client, rep, quote, "expire")
    assert early.status_code == 422
    assert codes(early) == ["quote.not_yet_expired"]

    versions = QuoteVersion.__table__
    await conn.execute(
        versions.update()
        .where(versions.c.quote_id == uuid.UUID(quote["id"]))
        .values(valid_until=today - timedelta(days=1))
    )
    late = await act(client, rep, quote, "accept")
    assert late.status_code == 422
    assert codes(late) == ["quote.validity_passed"]
    expired = await advance(client, rep, quote, "expire")
    assert expired["status"] == "expired"
    assert expired["current_version"]["expired_at"] is not None
    after = await act(client, rep, expired, "accept")
    assert after.status_code == 409
    assert "quote.expired" in codes(after)


async def test_approval_queue_puts_strategic_customers_first_then_oldest(
    client, conn, settings, team, rep, manager, director
):
    now = utcnow()
    plain = await make_customer(conn, owner_id=rep.id)
    strategic = await make_customer(conn, owner_id=rep.id, tier="strategic")
    overridden = await make_customer(conn, owner_id=rep.id, tier_override="strategic")

    async def pending(customer, minutes_ago, role="manager", submitted_by=rep.id, **kw):
        deal = await make_deal(conn, owner_id=rep.id, customer_id=customer, stage="proposal")
        made = await make_quote(
            conn,
            deal_id=deal,
            owner_id=rep.id,
            customer_id=customer,
            status="pending_approval",
            header_discount_pct="8" if role == "manager" else "12",
            submitted_at=now - timedelta(minutes=minutes_ago),
            submitted_by=submitted_by,
            required_approver_role=role,
            **kw,
        )
        return str(made["quote_id"])

    old_plain = await pending(plain, 60)
    new_strategic = await pending(strategic, 5)
    old_strategic = await pending(overridden, 30)
    new_plain = await pending(plain, 1)
    for_director = await pending(plain, 90, role="director")
    own = await pending(plain, 120, submitted_by=manager.id)

    queue = (await client.get("/api/v1/approvals", headers=manager.headers)).json()
    order = [item["quote_id"] for item in queue["items"]]
    assert order == [old_strategic, new_strategic, old_plain, new_plain]
    assert [item["green_channel"] for item in queue["items"]] == [True, True, False, False]
    assert_shape(ApprovalRead, queue["items"][0])
    assert own not in order and for_director not in order

    director_queue = (await client.get("/api/v1/approvals", headers=director.headers)).json()
    assert {for_director, own} <= {item["quote_id"] for item in director_queue["items"]}

    paged: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get("/api/v1/approvals", params=params, headers=manager.headers)
        ).json()
        paged += [item["quote_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == order
    assert (await client.get("/api/v1/approvals", headers=rep.headers)).json()["items"] == []


async def test_approving_from_the_queue_uses_the_etag_it_shows(client, rep, manager, deal_id):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "8"), "submit")
    (item,) = (await client.get("/api/v1/approvals", headers=manager.headers)).json()["items"]
    assert (item["version"], item["etag"]) == (quote["version"], f'"{quote["version"]}"')
    approved = await client.post(
        f"/api/v1/quotes/{item['quote_id']}/approve",
        headers={**manager.headers, "If-Match": item["etag"]},
    )
    assert approved.status_code == 200
    assert (await client.get("/api/v1/approvals", headers=manager.headers)).json()["items"] == []


@pytest.mark.parametrize("if_match", [None, "*"])
async def test_approving_needs_if_match(client, rep, manager, deal_id, if_match):
    quote = await advance(client, rep, await create_quote(client, rep, deal_id, "8"), "submit")
    headers = manager.headers | ({"If-Match": if_match} if if_match else {})
    response = await client.post(f"/api/v1/quotes/{quote['id']}/approve", headers=headers)
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("if_match_required", "If-Match")
    ]
    fetched = await client.get(f"/api/v1/quotes/{quote['id']}", headers=manager.headers)
    assert fetched.json()["status"] == "pending_approval"


async def test_an_approval_is_of_the_version_the_approver_reviewed(client, rep, manager, deal_id):
    """The manager reviewed 6 %; the rep raised it to 10 % and resubmitted meanwhile."""
    await advance(client, rep, await create_quote(client, rep, deal_id, "6"), "submit")
    (reviewed,) = (await client.get("/api/v1/approvals", headers=manager.headers)).json()["items"]
    edited = await client.patch(
        f"/api/v1/quotes/{reviewed['quote_id']}",
        json={"header_discount_pct": "10"},
        headers={**rep.headers, "If-Match": reviewed["etag"]},
    )
    assert edited.status_code == 200, edited.text
    resubmitted = await advance(client, rep, edited.json(), "submit")
    assert resubmitted["current_version"]["number"] == 2

    stale = await client.post(
        f"/api/v1/quotes/{reviewed['quote_id']}/approve",
        headers={**manager.headers, "If-Match": reviewed["etag"]},
    )
    assert stale.status_code == 412
    current = await client.get(f"/api/v1/quotes/{reviewed['quote_id']}", headers=rep.headers)
    assert current.json()["status"] == "pending_approval"
    assert current.json()["current_version"]["approved_by"] is None


@pytest.mark.parametrize("stage", ["won", "lost"])
async def test_quotes_on_a_closed_deal_do_not_move_forward(
    client, conn, rep, manager, customer_id, stage
):
    deal = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="proposal")
    draft = await create_quote(client, rep, deal)
    pending = await advance(client, rep, await create_quote(client, rep, deal, "8"), "submit")
    approved = await advance(client, rep, await create_quote(client, rep, deal), "submit")
    sent = await advance(client, rep, await create_quote(client, rep, deal), "submit", "send")
    deals = Deal.__table__
    await conn.execute(deals.update().where(deals.c.id == deal).values(stage=stage))

    for actor, quote, action in (
        (rep, draft, "submit"),
        (manager, pending, "approve"),
        (rep, approved, "send"),
        (rep, sent, "accept"),
    ):
        response = await act(client, actor, quote, action)
        assert response.status_code == 409, (action, response.text)
        assert codes(response) == ["quote.deal_closed"]
        assert stage in response.json()["detail"]
    # Closing a quote stays possible: the customer's answer, the approver's refusal.
    declined = await act(client, rep, sent, "reject", {"reason": "Went elsewhere"})
    assert declined.status_code == 200
    refused = await act(client, manager, pending, "reject", {"reason": "Deal is over"})
    assert refused.status_code == 200

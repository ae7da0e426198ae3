import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.enums import Role
from app.models import Activity, Contract, Deal, DealStageChange, Quote, QuoteVersion
from tests.factories import insert, make_contact, make_customer, make_deal, make_team, make_user


@pytest.fixture
async def team(conn):
    return await make_team(conn)


@pytest.fixture
async def rep(conn, settings, team):
    return await make_user(conn, settings, role=Role.rep, team_id=team)


@pytest.fixture
async def manager(conn, settings, team):
    return await make_user(conn, settings, role=Role.manager, team_id=team)


@pytest.fixture
async def customer_id(conn, rep):
    return await make_customer(conn, owner_id=rep.id)


async def transition(client, actor, deal_id, **body):
    return await client.post(
        f"/api/v1/deals/{deal_id}/transition", json=body, headers=actor.headers
    )


def codes(response) -> list[str]:
    return [e["code"] for e in response.json().get("errors", [])]


async def log_meeting(conn, owner_id, contact_id, **about):
    await insert(
        conn,
        Activity,
        kind="meeting",
        occurred_at=utcnow(),
        owner_id=owner_id,
        contact_id=contact_id,
        summary="Discussed the solution",
        details={},
        **about,
    )


async def add_quote(conn, deal_id, *statuses: str) -> dict:
    """A quote with one version per status; the last one is current."""
    quote = await insert(
        conn,
        Quote,
        deal_id=deal_id,
        title="Q",
        status=statuses[-1],
        current_version_no=len(statuses),
    )
    version = None
    for number, status in enumerate(statuses, start=1):
        version = await insert(
            conn,
            QuoteVersion,
            quote_id=quote["id"],
            number=number,
            status=status,
            valid_until=utcnow().date(),
            fingerprint=f"{number}" * 64,
        )
    return {"quote_id": quote["id"], "quote_version_id": version["id"]}


async def set_contract(conn, contract_id, **values):
    table = Contract.__table__
    await conn.execute(table.update().where(table.c.id == contract_id).values(**values))


async def test_a_deal_walks_every_gate_from_development_to_won(
    client, conn, rep, manager, customer_id
):
    created = await client.post(
        "/api/v1/deals",
        json={"name": "Line retrofit", "customer_id": str(customer_id)},
        headers=rep.headers,
    )
    deal_id = created.json()["id"]

    refused = await transition(client, rep, deal_id, to_stage="initiation")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert codes(refused) == [
        "gate.need_described",
        "gate.amount_estimated",
        "gate.close_date_expected",
        "gate.contact_identified",
    ]
    fields = {e["code"]: e.get("field") for e in refused.json()["errors"]}
    assert fields["gate.amount_estimated"] == "amount"
    assert fields["gate.need_described"] == "need_description"

    await client.patch(
        f"/api/v1/deals/{deal_id}",
        json={
            "need_description": "3 lines",
            "amount": "500000.00",
            "expected_close_date": "2027-06-30",
        },
        headers=rep.headers,
    )
    await make_contact(conn, customer_id=customer_id, archived_at=utcnow())
    assert codes(await transition(client, rep, deal_id, to_stage="initiation")) == [
        "gate.contact_identified"
    ]
    buyer = await make_contact(conn, customer_id=customer_id, decision_role="influencer")
    moved = await transition(client, rep, deal_id, to_stage="initiation")
    assert moved.status_code == 200, moved.text
    assert moved.json()["stage"] == "initiation"
    assert moved.json()["weighted_amount"] == "100000.00"

    assert codes(await transition(client, rep, deal_id, to_stage="proposal")) == [
        "gate.presales_approved"
    ]
    approval = await client.post(
        f"/api/v1/deals/{deal_id}/presales-approval", headers=manager.headers
    )
    assert approval.status_code == 200, approval.text
    assert approval.json()["presales_approved_by"] == str(manager.id)
    assert (await transition(client, rep, deal_id, to_stage="proposal")).status_code == 200

    # Neither a meeting with a non-decision-maker nor an approval superseded by a draft
    # counts as evidence.
    await log_meeting(conn, rep.id, buyer, deal_id=uuid.UUID(deal_id))
    await add_quote(conn, uuid.UUID(deal_id), "approved", "draft")
    assert codes(await transition(client, rep, deal_id, to_stage="bidding")) == [
        "gate.decision_maker_engaged",
        "gate.quote_approved",
    ]
    boss = await make_contact(conn, customer_id=customer_id, decision_role="decision_maker")
    quote = await add_quote(conn, uuid.UUID(deal_id), "draft", "sent")
    blocked = await transition(client, rep, deal_id, to_stage="bidding")
    assert codes(blocked) == ["gate.decision_maker_engaged"]
    await log_meeting(conn, rep.id, boss, customer_id=customer_id)
    assert (await transition(client, rep, deal_id, to_stage="bidding")).status_code == 200

    assert codes(await transition(client, rep, deal_id, to_stage="negotiation")) == [
        "gate.bid_submitted",
        "gate.bid_amount_set",
    ]
    bid = await client.post(
        f"/api/v1/deals/{deal_id}/bid", json={"amount": "480000.00"}, headers=rep.headers
    )
    assert bid.status_code == 200, bid.text
    assert bid.json()["bid_amount"] == "480000.00"
    assert (await transition(client, rep, deal_id, to_stage="negotiation")).status_code == 200

    contract = await insert(
        conn, Contract, title="C", deal_id=uuid.UUID(deal_id), amount=Decimal("480000.00"), **quote
    )
    assert codes(await transition(client, rep, deal_id, to_stage="implementation")) == [
        "gate.contract_signed"
    ]
    await set_contract(conn, contract["id"], signed_at=utcnow())
    assert (await transition(client, rep, deal_id, to_stage="implementation")).status_code == 200

    assert codes(await transition(client, rep, deal_id, to_stage="won")) == [
        "gate.delivery_accepted"
    ]
    await set_contract(conn, contract["id"], accepted_at=utcnow())
    won = await transition(client, rep, deal_id, to_stage="won")
    assert won.status_code == 200
    assert won.json()["closed_at"] is not None
    assert won.json()["closed_from_stage"] == "implementation"
    assert won.json()["weighted_amount"] == "500000.00"
    customer = (await client.get(f"/api/v1/customers/{customer_id}", headers=rep.headers)).json()
    assert customer["last_purchase_at"] is not None  # winning re-tiers the customer at once
    assert customer["lifecycle_stage"] == "growth"
    assert customer["tier_reason"].endswith("R=5 F=1 M=4")

    history = (await client.get(f"/api/v1/deals/{deal_id}/history", headers=rep.headers)).json()
    assert [h["to_stage"] for h in history["items"]] == [
        "development",
        "initiation",
        "proposal",
        "bidding",
        "negotiation",
        "implementation",
        "won",
    ]
    assert history["items"][1]["from_stage"] == "development"
    assert history["items"][1]["amount"] == "500000.00"
    assert history["items"][1]["expected_close_date"] == "2027-06-30"


async def test_only_the_current_quote_version_counts_as_approved(client, conn, rep, customer_id):
    deal_id = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="proposal")
    boss = await make_contact(conn, customer_id=customer_id, decision_role="decision_maker")
    await log_meeting(conn, rep.id, boss, deal_id=deal_id)
    await add_quote(conn, deal_id, "approved", "draft")
    assert codes(await transition(client, rep, deal_id, to_stage="bidding")) == [
        "gate.quote_approved"
    ]
    await add_quote(conn, deal_id, "accepted")
    assert (await transition(client, rep, deal_id, to_stage="bidding")).status_code == 200


async def test_structural_refusals_are_409(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id, stage="initiation")
    skip = await transition(client, rep, deal_id, to_stage="bidding")
    assert skip.status_code == 409
    assert codes(skip) == ["transition.skip_not_allowed"]
    assert skip.json()["errors"][0]["field"] == "to_stage"
    same = await transition(client, rep, deal_id, to_stage="initiation")
    assert same.status_code == 409
    assert codes(same) == ["transition.same_stage"]


async def test_moving_back_needs_a_reason_and_records_it(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id, stage="proposal", amount=Decimal("10.00"))
    refused = await transition(client, rep, deal_id, to_stage="initiation")
    assert refused.status_code == 422
    assert codes(refused) == ["transition.reason_required"]
    assert refused.json()["errors"][0]["field"] == "reason"
    back = await transition(client, rep, deal_id, to_stage="initiation", reason="Budget re-opened")
    assert back.status_code == 200
    history = DealStageChange.__table__
    row = (
        (await conn.execute(sa.select(history).where(history.c.deal_id == deal_id)))
        .mappings()
        .one()
    )
    assert (row["from_stage"], row["to_stage"], row["reason"]) == (
        "proposal",
        "initiation",
        "Budget re-opened",
    )
    assert row["changed_by"] == rep.id
    assert row["amount"] == Decimal("10.00")


async def test_lost_needs_a_reason_and_reopening_needs_a_manager(client, conn, rep, manager):
    deal_id = await make_deal(conn, owner_id=rep.id, stage="bidding")
    assert codes(await transition(client, rep, deal_id, to_stage="lost")) == [
        "transition.lost_reason_required"
    ]
    assert codes(await transition(client, rep, deal_id, to_stage="lost", lost_reason="other")) == [
        "transition.lost_reason_text_required"
    ]
    lost = await transition(
        client, rep, deal_id, to_stage="lost", lost_reason="other", reason="Project cancelled"
    )
    assert lost.status_code == 200
    body = lost.json()
    assert (body["stage"], body["lost_reason"], body["lost_reason_text"]) == (
        "lost",
        "other",
        "Project cancelled",
    )
    assert body["closed_from_stage"] == "bidding"
    assert body["weighted_amount"] is None

    elsewhere = await transition(client, manager, deal_id, to_stage="development", reason="x")
    assert elsewhere.status_code == 409
    assert codes(elsewhere) == ["transition.deal_closed"]
    by_rep = await transition(client, rep, deal_id, to_stage="bidding", reason="Came back")
    assert by_rep.status_code == 403, by_rep.text
    assert by_rep.json()["type"].endswith("/forbidden")
    assert codes(by_rep) == ["transition.reopen_requires_manager"]
    without_reason = await transition(client, rep, deal_id, to_stage="bidding")
    assert without_reason.status_code == 403
    assert codes(without_reason) == [
        "transition.reopen_requires_manager",
        "transition.reason_required",
    ]
    reopened = await transition(
        client, manager, deal_id, to_stage="bidding", reason="Customer came back"
    )
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["stage"] == "bidding"
    assert [body[k] for k in ("closed_at", "closed_from_stage", "lost_reason")] == [None] * 3


async def test_a_lost_reason_on_a_move_that_is_not_to_lost_names_the_field(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id)
    response = await transition(client, rep, deal_id, to_stage="initiation", lost_reason="price")
    assert response.status_code == 422, response.text
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("lost_reason_not_lost", "lost_reason")
    ]
    assert "lost_reason" in response.json()["detail"]


async def test_transition_honours_if_match_and_idempotency_key(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id)
    url = f"/api/v1/deals/{deal_id}/transition"
    body = {"to_stage": "lost", "lost_reason": "price"}
    stale = await client.post(url, json=body, headers={**rep.headers, "If-Match": '"2"'})
    assert stale.status_code == 412
    headers = {**rep.headers, "If-Match": '"1"', "Idempotency-Key": "lose-1"}
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    history = DealStageChange.__table__
    count = await conn.scalar(sa.select(sa.func.count()).where(history.c.deal_id == deal_id))
    assert count == 1


async def test_dry_run_lists_each_reachable_stage_with_its_unmet_checks(
    client, conn, rep, manager, customer_id
):
    deal_id = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="initiation")
    response = await client.get(f"/api/v1/deals/{deal_id}/transitions", headers=rep.headers)
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    options = {o["to_stage"]: o for o in response.json()["items"]}
    assert set(options) == {"proposal", "development", "lost"}
    assert options["proposal"]["kind"] == "forward"
    assert options["proposal"]["allowed"] is False
    assert [c["code"] for c in options["proposal"]["unmet_checks"]] == ["gate.presales_approved"]
    assert options["development"]["reason_required"] is True
    assert options["development"]["allowed"] is True
    assert options["lost"]["lost_reason_required"] is True

    await client.post(f"/api/v1/deals/{deal_id}/presales-approval", headers=manager.headers)
    again = (await client.get(f"/api/v1/deals/{deal_id}/transitions", headers=rep.headers)).json()
    assert {o["to_stage"]: o["allowed"] for o in again["items"]}["proposal"] is True
    # A dry run changes nothing.
    deal = (await client.get(f"/api/v1/deals/{deal_id}", headers=rep.headers)).json()
    assert deal["stage"] == "initiation"


async def test_dry_run_of_a_lost_deal_offers_only_the_reopen(client, conn, rep, manager):
    deal_id = await make_deal(
        conn, owner_id=rep.id, stage="lost", closed_from_stage="proposal", closed_at=utcnow()
    )
    for actor, allowed in ((rep, False), (manager, True)):
        items = (
            await client.get(f"/api/v1/deals/{deal_id}/transitions", headers=actor.headers)
        ).json()["items"]
        assert [(o["to_stage"], o["kind"], o["allowed"]) for o in items] == [
            ("proposal", "reopen", allowed)
        ]


async def test_presales_approval_is_for_managers_and_never_self_approval(
    client, conn, settings, rep, manager
):
    deal_id = await make_deal(conn, owner_id=rep.id, stage="initiation")
    url = f"/api/v1/deals/{deal_id}/presales-approval"
    by_rep = await client.post(url, headers=rep.headers)
    assert by_rep.status_code == 403
    own = await make_deal(conn, owner_id=manager.id, stage="initiation")
    self_approval = await client.post(
        f"/api/v1/deals/{own}/presales-approval", headers=manager.headers
    )
    assert self_approval.status_code == 403
    assert codes(self_approval) == ["self_approval"]
    stale = await client.post(url, headers={**manager.headers, "If-Match": '"9"'})
    assert stale.status_code == 412
    approved = await client.post(url, headers={**manager.headers, "If-Match": '"1"'})
    assert approved.status_code == 200
    assert approved.json()["presales_approved_at"] is not None
    twice = await client.post(url, headers=manager.headers)
    assert twice.status_code == 409
    assert codes(twice) == ["already_approved"]
    director = await make_user(conn, settings, role=Role.director)
    hidden_from_outsider = await make_user(
        conn, settings, role=Role.manager, team_id=await make_team(conn)
    )
    assert (await client.post(url, headers=hidden_from_outsider.headers)).status_code == 404
    fresh = await make_deal(conn, owner_id=rep.id, stage="initiation")
    by_director = await client.post(
        f"/api/v1/deals/{fresh}/presales-approval", headers=director.headers
    )
    assert by_director.status_code == 200


async def test_bid_is_recorded_only_while_bidding(client, conn, rep):
    early = await make_deal(conn, owner_id=rep.id, stage="proposal")
    wrong_stage = await client.post(
        f"/api/v1/deals/{early}/bid", json={"amount": "100.00"}, headers=rep.headers
    )
    assert wrong_stage.status_code == 409
    assert codes(wrong_stage) == ["deal_not_bidding"]

    deal_id = await make_deal(conn, owner_id=rep.id, stage="bidding")
    url = f"/api/v1/deals/{deal_id}/bid"
    future = (utcnow() + timedelta(days=1)).isoformat()
    ahead = await client.post(
        url, json={"amount": "100.00", "submitted_at": future}, headers=rep.headers
    )
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["field"] == "submitted_at"
    recorded = await client.post(
        url,
        json={"amount": "98000.50", "submitted_at": "2026-11-20T08:00:00+08:00"},
        headers=rep.headers,
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["bid_amount"] == "98000.50"
    assert recorded.json()["bid_submitted_at"] == "2026-11-20T00:00:00Z"
    deals = Deal.__table__
    stored = await conn.scalar(sa.select(deals.c.bid_amount).where(deals.c.id == deal_id))
    assert stored == Decimal("98000.50")


async def test_a_terminated_contract_proves_neither_signature_nor_acceptance(
    client, conn, rep, customer_id
):
    deal_id = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="negotiation")
    quote = await add_quote(conn, deal_id, "accepted")
    now = utcnow()
    contract = await insert(
        conn,
        Contract,
        title="C",
        deal_id=deal_id,
        amount=Decimal("1000.00"),
        status="terminated",
        signed_at=now,
        accepted_at=now,
        terminated_at=now,
        **quote,
    )
    signed = await transition(client, rep, deal_id, to_stage="implementation")
    assert codes(signed) == ["gate.contract_signed"]
    await set_contract(conn, contract["id"], status="accepted", terminated_at=None)
    assert (await transition(client, rep, deal_id, to_stage="implementation")).status_code == 200

    await set_contract(conn, contract["id"], status="terminated", terminated_at=now)
    assert codes(await transition(client, rep, deal_id, to_stage="won")) == [
        "gate.delivery_accepted"
    ]

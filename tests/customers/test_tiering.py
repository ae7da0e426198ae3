"""The set-based recompute and the per-customer rules must agree on every customer."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.core.enums import ContractStatus, CustomerTier, DealStage, TicketType
from app.customers.tiering import (
    customers,
    decide,
    purchase_facts,
    recompute_all,
    recompute_customer,
)
from app.models import Contract, Deal, Quote, QuoteVersion, Ticket
from app.rules.customers import DEFAULT_CUSTOMER_POLICY as POLICY
from tests.factories import insert, make_customer, make_user

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


async def _won_deal(conn, customer_id, owner_id, closed_days_ago, amount):
    await insert(
        conn,
        Deal,
        name="won",
        customer_id=customer_id,
        owner_id=owner_id,
        stage=DealStage.won,
        amount=Decimal(amount),
        currency="CNY",
        closed_at=NOW - timedelta(days=closed_days_ago, seconds=1),
        stage_changed_at=NOW,
    )


async def _active_contract(conn, customer_id, owner_id):
    deal = await insert(
        conn,
        Deal,
        name="d",
        customer_id=customer_id,
        owner_id=owner_id,
        stage=DealStage.implementation,
        currency="CNY",
        stage_changed_at=NOW,
    )
    quote = await insert(conn, Quote, deal_id=deal["id"], title="q", status="accepted")
    version = await insert(
        conn,
        QuoteVersion,
        quote_id=quote["id"],
        number=1,
        status="accepted",
        valid_until=NOW.date(),
        fingerprint="x" * 64,
    )
    await insert(
        conn,
        Contract,
        title="c",
        quote_id=quote["id"],
        quote_version_id=version["id"],
        deal_id=deal["id"],
        customer_id=customer_id,
        owner_id=owner_id,
        status=ContractStatus.signed,
        amount=Decimal(1),
        currency="CNY",
    )


async def _complaint(conn, customer_id, days_ago):
    await insert(
        conn,
        Ticket,
        subject="c",
        type=TicketType.complaint,
        customer_id=customer_id,
        reported_at=NOW - timedelta(days=days_ago),
    )


async def _random_customers(conn, settings, count=60):
    rng = random.Random(20261125)
    rep = await make_user(conn, settings)
    ids = []
    for index in range(count):
        override = CustomerTier.strategic if index % 17 == 0 else None
        marked_lost = NOW - timedelta(days=3) if index % 23 == 0 else None
        customer_id = await make_customer(
            conn, owner_id=rep.id, tier_override=override, marked_lost_at=marked_lost
        )
        ids.append(customer_id)
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 9])):
            days = rng.choice(
                [0, 29, 30, 31, 89, 90, 91, 179, 180, 181, 269, 270, 364, 365, 400, 729, 800]
            )
            amount = rng.choice(
                ["0", "49999.99", "50000.00", "199999.99", "200000.00", "600000.00", "1000000.00"]
            )
            await _won_deal(conn, customer_id, rep.id, days, amount)
        if rng.random() < 0.2:
            await _active_contract(conn, customer_id, rep.id)
        for _ in range(rng.choice([0, 0, 1, 2])):
            await _complaint(conn, customer_id, rng.choice([5, 60, 100, 150]))
    return ids


async def test_batch_recompute_agrees_with_the_rules_for_every_customer(conn, settings):
    ids = await _random_customers(conn, settings)
    facts = (await conn.execute(purchase_facts(NOW, POLICY).where(customers.c.id.in_(ids)))).all()
    expected = {row.id: decide(row, NOW, POLICY) for row in facts}

    updated = await recompute_all(conn, NOW, POLICY)
    assert updated >= len(ids)
    rows = (await conn.execute(sa.select(customers).where(customers.c.id.in_(ids)))).mappings()
    seen_tiers = set()
    for row in rows:
        want = expected[row["id"]]
        seen_tiers.add(row["tier"])
        assert row["tier"] == want["tier"], (row["tier_reason"], want)
        assert row["tier_reason"] == want["tier_reason"]
        assert row["lifecycle_stage"] == want["lifecycle_stage"], want
        assert row["last_purchase_at"] == want["last_purchase_at"]
    assert len(seen_tiers) >= 3  # the data exercises more than one branch


async def test_single_customer_recompute_stores_rfm_reason(conn, settings):
    rep = await make_user(conn, settings)
    customer_id = await make_customer(conn, owner_id=rep.id)
    for days in (1, 10, 20, 40, 50, 60, 70, 80):
        await _won_deal(conn, customer_id, rep.id, days, "200000.00")
    await recompute_customer(conn, customer_id, NOW, POLICY)
    row = (
        (await conn.execute(sa.select(customers).where(customers.c.id == customer_id)))
        .mappings()
        .one()
    )
    assert row["tier"] == CustomerTier.strategic
    assert row["tier_reason"] == "strategic: R=5 F=5 M=5"
    assert row["lifecycle_stage"] == "mature"

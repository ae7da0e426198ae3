"""The set-based recompute and the per-customer rules must agree on every customer."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.core.access import SYSTEM
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


async def _won_deal(conn, customer_id, owner_id, closed_days_ago, amount, currency="CNY"):
    deal = await insert(
        conn,
        Deal,
        name="won",
        customer_id=customer_id,
        owner_id=owner_id,
        stage=DealStage.won,
        amount=Decimal(amount),
        currency=currency,
        closed_at=NOW - timedelta(days=closed_days_ago, seconds=1),
        stage_changed_at=NOW,
    )
    return deal["id"]


async def _contract(conn, customer_id, owner_id, deal_id, status, amount="1", currency="CNY"):
    quote = await insert(conn, Quote, deal_id=deal_id, title="q", status="accepted")
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
        deal_id=deal_id,
        customer_id=customer_id,
        owner_id=owner_id,
        status=status,
        amount=Decimal(amount),
        currency=currency,
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
    await _contract(conn, customer_id, owner_id, deal["id"], ContractStatus.signed)


async def _complaint(conn, customer_id, days_ago):
    await insert(
        conn,
        Ticket,
        subject="c",
        type=TicketType.complaint,
        customer_id=customer_id,
        reported_at=NOW - timedelta(days=days_ago),
    )


AMOUNTS = ["0", "49999.99", "50000.00", "199999.99", "200000.00", "600000.00", "1000000.00"]
LEVELS = [None, "high", "medium", "low"]


async def _random_customers(conn, settings, count=60):
    rng = random.Random(20261125)
    rep = await make_user(conn, settings)
    ids = []
    for index in range(count):
        override = CustomerTier.strategic if index % 11 == 0 else None
        marked_lost = NOW - timedelta(days=3) if index % 23 == 0 else None
        customer_id = await make_customer(
            conn,
            owner_id=rep.id,
            tier_override=override,
            tier_override_reason="x" * 500 if index == 22 else None,
            marked_lost_at=marked_lost,
            need_intensity=rng.choice(LEVELS),
            purchasing_power=rng.choice(LEVELS),
        )
        ids.append(customer_id)
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 9])):
            days = rng.choice(
                [0, 29, 30, 31, 89, 90, 91, 179, 180, 181, 269, 270, 364, 365, 400, 729, 800]
            )
            currency = rng.choice(["CNY", "CNY", "CNY", "USD", "EUR"])
            deal_id = await _won_deal(
                conn, customer_id, rep.id, days, rng.choice(AMOUNTS), currency
            )
            if rng.random() < 0.4:
                status = rng.choice(["accepted", "closed", "terminated", "signed"])
                amount, paid_in = rng.choice(AMOUNTS), rng.choice(["CNY", "CNY", "USD"])
                await _contract(conn, customer_id, rep.id, deal_id, status, amount, paid_in)
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
    seen_tiers, seen_grades, notes, overridden = set(), set(), set(), set()
    for row in rows:
        want = expected[row["id"]]
        seen_tiers.add(row["tier"])
        seen_grades.add(row["grade"])
        notes.add(row["computed_tier_reason"].partition(" (")[2])
        assert row["tier"] == want["tier"], (row["tier_reason"], want)
        assert row["tier_reason"] == want["tier_reason"]
        assert row["computed_tier"] == want["computed_tier"]
        assert row["computed_tier_reason"] == want["computed_tier_reason"]
        if row["tier_override"] is None:
            assert (row["tier"], row["tier_reason"]) == (
                row["computed_tier"],
                row["computed_tier_reason"],
            )
        else:
            overridden.add(row["computed_tier"])
            assert row["tier"] == row["tier_override"]
            assert row["tier_reason"].startswith(f"manual override {row['tier_override']}: ")
        assert len(row["tier_reason"]) <= 200  # what the column holds
        assert row["grade"] == want["grade"], want
        assert row["lifecycle_stage"] == want["lifecycle_stage"], want
        assert row["last_purchase_at"] == want["last_purchase_at"]
    # The data exercises every branch: tiers, grades and each form of the currency note,
    # and overrides both above and at what the data says.
    assert len(seen_tiers) >= 3
    assert len(overridden) >= 2 and CustomerTier.strategic in overridden
    assert seen_grades == {"A", "B", "C", None}
    assert {n.split(" ", 2)[-1] for n in notes if n} >= {
        "USD deal not counted)",
        "EUR deals not counted)",
        "deals in other currencies not counted)",
    }


async def test_single_customer_recompute_stores_rfm_reason(conn, settings):
    rep = await make_user(conn, settings)
    customer_id = await make_customer(conn, owner_id=rep.id)
    for days in (1, 10, 20, 40, 50, 60, 70, 80):
        await _won_deal(conn, customer_id, rep.id, days, "200000.00")
    await recompute_customer(conn, SYSTEM, customer_id, NOW, POLICY)
    row = (
        (await conn.execute(sa.select(customers).where(customers.c.id == customer_id)))
        .mappings()
        .one()
    )
    assert row["tier"] == CustomerTier.strategic
    assert row["tier_reason"] == "strategic: R=5 F=5 M=5"
    assert row["lifecycle_stage"] == "mature"


async def test_monetary_score_reads_contracts_in_the_base_currency_only(conn, settings):
    rep = await make_user(conn, settings)
    customer_id = await make_customer(conn, owner_id=rep.id)
    # Estimated at 10,000 CNY but sold for 250,000 CNY: M=3 (>= 200,000), not M=1.
    sold = await _won_deal(conn, customer_id, rep.id, 5, "10000.00")
    await _contract(conn, customer_id, rep.id, sold, "accepted", "250000.00")
    # A USD deal (however large) and a USD contract on a CNY estimate add nothing to M.
    await _won_deal(conn, customer_id, rep.id, 10, "900000.00", currency="USD")
    paid_in_usd = await _won_deal(conn, customer_id, rep.id, 15, "800000.00")
    await _contract(conn, customer_id, rep.id, paid_in_usd, "closed", "120000.00", "USD")
    # A terminated contract never earned: the deal counts at its estimate.
    voided = await _won_deal(conn, customer_id, rep.id, 20, "1000.00")
    await _contract(conn, customer_id, rep.id, voided, "terminated", "700000.00")
    await recompute_customer(conn, SYSTEM, customer_id, NOW, POLICY)
    row = (
        (await conn.execute(sa.select(customers).where(customers.c.id == customer_id)))
        .mappings()
        .one()
    )
    assert row["tier_reason"] == "growth: R=5 F=3 M=3 (CNY; 2 USD deals not counted)"
    await recompute_all(conn, NOW, POLICY)
    again = (
        await conn.execute(sa.select(customers.c.tier_reason).where(customers.c.id == customer_id))
    ).scalar()
    assert again == row["tier_reason"]


async def test_base_currency_is_policy(conn, settings):
    rep = await make_user(conn, settings)
    customer_id = await make_customer(conn, owner_id=rep.id)
    await _won_deal(conn, customer_id, rep.id, 5, "60000.00", currency="USD")
    await _won_deal(conn, customer_id, rep.id, 6, "60000.00")
    usd = POLICY.model_copy(update={"base_currency": "USD"})
    await recompute_all(conn, NOW, usd)
    reason = (
        await conn.execute(sa.select(customers.c.tier_reason).where(customers.c.id == customer_id))
    ).scalar()
    assert reason == "growth: R=5 F=2 M=2 (USD; 1 CNY deal not counted)"


async def test_a_recompute_that_finds_nothing_new_rewrites_nothing(conn, settings):
    rep = await make_user(conn, settings)
    customer_id = await make_customer(conn, owner_id=rep.id)
    await _won_deal(conn, customer_id, rep.id, 5, "60000.00")

    def version_of() -> sa.Select:
        return sa.select(customers.c.version, customers.c.tier_reason).where(
            customers.c.id == customer_id
        )

    before = (await conn.execute(version_of())).one()
    assert await recompute_all(conn, NOW, POLICY) >= 1
    after_first = (await conn.execute(version_of())).one()
    assert after_first.version == before.version + 1  # what clients see changed: new ETag
    assert await recompute_all(conn, NOW, POLICY) == 0
    await recompute_customer(conn, SYSTEM, customer_id, NOW, POLICY)
    assert (await conn.execute(version_of())).one() == after_first

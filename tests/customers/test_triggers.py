from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.enums import ContractStatus, DealStage
from app.customers.triggers import run_time_triggers, tasks
from app.models import Contract, Deal, Quote, QuoteVersion
from app.rules.tasks import DEFAULT_TASK_TRIGGER_POLICY as POLICY
from tests.factories import insert, make_customer, make_user


async def _contract(conn, customer_id, owner_id, ends_in_days):
    deal = await insert(
        conn,
        Deal,
        name="d",
        customer_id=customer_id,
        owner_id=owner_id,
        stage=DealStage.won,
        currency="CNY",
        stage_changed_at=utcnow(),
    )
    quote = await insert(conn, Quote, deal_id=deal["id"], title="q", status="accepted")
    version = await insert(
        conn,
        QuoteVersion,
        quote_id=quote["id"],
        number=1,
        status="accepted",
        valid_until=utcnow().date(),
        fingerprint="f" * 64,
    )
    contract = await insert(
        conn,
        Contract,
        title="c",
        quote_id=quote["id"],
        quote_version_id=version["id"],
        deal_id=deal["id"],
        customer_id=customer_id,
        owner_id=owner_id,
        status=ContractStatus.accepted,
        amount=Decimal(100),
        currency="CNY",
        end_date=utcnow().date() + timedelta(days=ends_in_days),
    )
    return contract["id"]


async def _task_keys(conn):
    return set((await conn.execute(sa.select(tasks.c.dedupe_key))).scalars())


async def test_renewal_task_opens_90_days_before_a_strategic_contract_ends_once(conn, settings):
    rep = await make_user(conn, settings)
    strategic = await make_customer(conn, owner_id=rep.id, tier="strategic")
    growth = await make_customer(conn, owner_id=rep.id, tier="growth")
    inside = await _contract(conn, strategic, rep.id, 90)
    outside = await _contract(conn, strategic, rep.id, 91)
    not_strategic = await _contract(conn, growth, rep.id, 30)

    first = await run_time_triggers(conn, utcnow(), POLICY)
    again = await run_time_triggers(conn, utcnow(), POLICY)
    keys = await _task_keys(conn)
    assert f"renewal:{inside}" in keys
    assert f"renewal:{outside}" not in keys and f"renewal:{not_strategic}" not in keys
    assert first.renewals == 1 and again.renewals == 0


async def test_dormant_customer_gets_one_reactivation_task(conn, settings):
    rep = await make_user(conn, settings)
    last = utcnow() - timedelta(days=200)
    customer = await make_customer(conn, owner_id=rep.id, tier="dormant", last_purchase_at=last)
    await run_time_triggers(conn, utcnow(), POLICY)
    await run_time_triggers(conn, utcnow(), POLICY)
    rows = (
        (await conn.execute(sa.select(tasks).where(tasks.c.related_id == customer)))
        .mappings()
        .all()
    )
    assert len(rows) == 1
    assert rows[0]["kind"] == "dormant_reactivation" and rows[0]["assignee_id"] == rep.id

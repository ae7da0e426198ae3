"""Deemed acceptances recorded in one pass, exactly as the deem-acceptance action does."""

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.contracts.deadlines import deem_due_acceptances
from app.core.clock import utcnow
from app.models import AuditEntry, Contract, Deal, Task
from tests.contracts.helpers import backdate_signing, delivered, signed
from tests.factories import make_deal, make_quote


async def _delivered_contract(client, conn, rep, manager, customer_id, arrived: datetime):
    deal = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="negotiation")
    quote = await make_quote(
        conn, deal_id=deal, owner_id=rep.id, customer_id=customer_id, status="accepted"
    )
    contract = await signed(client, rep, manager, quote)
    await backdate_signing(conn, contract, arrived - timedelta(days=1))
    times = {
        "shipped": (arrived - timedelta(hours=2)).isoformat(),
        "arrived": arrived.isoformat(),
        "installed": (arrived + timedelta(hours=1)).isoformat(),
    }
    contract = await delivered(client, rep, contract, **times)
    return uuid.UUID(contract["id"]), deal


async def _contract(conn, contract_id):
    table = Contract.__table__
    statement = sa.select(table.c.status, table.c.acceptance_kind, table.c.accepted_at)
    return (await conn.execute(statement.where(table.c.id == contract_id))).one()


async def test_silent_customers_past_the_window_are_deemed_to_accept(
    client, conn, rep, manager, customer_id
):
    now = utcnow()
    past = now - timedelta(days=3, minutes=1)
    due, due_deal = await _delivered_contract(client, conn, rep, manager, customer_id, past)
    open_window = now - timedelta(days=3) + timedelta(minutes=1)
    waiting, _ = await _delivered_contract(client, conn, rep, manager, customer_id, open_window)
    stuck, stuck_deal = await _delivered_contract(client, conn, rep, manager, customer_id, past)
    deals = Deal.__table__
    await conn.execute(deals.update().where(deals.c.id == stuck_deal).values(stage="lost"))

    run = await deem_due_acceptances(conn, now)
    assert (run.deemed, run.refused) == (1, (stuck,))
    accepted = await _contract(conn, due)
    assert (accepted.status, accepted.acceptance_kind) == ("accepted", "deemed")
    assert accepted.accepted_at == past + timedelta(days=3)
    deal = (await conn.execute(sa.select(deals.c.stage).where(deals.c.id == due_deal))).one()
    assert deal.stage == "won"
    assert (await _contract(conn, waiting)).status == "delivered"
    assert (await _contract(conn, stuck)).status == "delivered"  # left as it was

    tasks = Task.__table__
    kinds = await conn.execute(sa.select(tasks.c.kind).where(tasks.c.related_id == due))
    assert {"satisfaction_survey", "first_visit"} <= set(kinds.scalars())
    audit = AuditEntry.__table__
    entries = await conn.execute(
        sa.select(audit.c.action, audit.c.actor_type).where(audit.c.entity_id == due)
    )
    assert ("accept", "system") in set(entries.all())

    again = await deem_due_acceptances(conn, now)
    assert (again.deemed, again.refused) == (0, (stuck,))

"""Deemed acceptances, recorded in one pass for every contract whose window has closed
(`salesflow run-deadlines`).

One query finds the delivered contracts whose last arrival is older than the acceptance
window; each is then accepted exactly as `POST /contracts/{id}/deem-acceptance` does —
deal won, deliveries accepted, milestones dated, after-sales tasks, audit — by the system.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contracts import repository as repo
from app.contracts.fulfilment import deem
from app.contracts.service import CONTRACTS, POLICY
from app.core.access import SYSTEM
from app.core.enums import ContractStatus
from app.core.errors import ServiceError

JOB = "deemed_acceptance"


@dataclass(frozen=True)
class DeemedRun:
    deemed: int
    # Contracts the rules refused at the last moment (their deal moved on, say); each is
    # left as it was and reported, and the others still go through.
    refused: tuple[uuid.UUID, ...]


async def _due(conn: AsyncConnection, now: datetime) -> list[uuid.UUID]:
    deliveries = repo.deliveries_table
    closed_windows = (
        sa.select(deliveries.c.contract_id)
        .group_by(deliveries.c.contract_id)
        .having(
            sa.func.max(deliveries.c.arrived_at)
            < now - timedelta(days=POLICY.acceptance_window_days)
        )
    )
    contracts = repo.contracts_table
    statement = (
        sa.select(contracts.c.id)
        .where(contracts.c.status == ContractStatus.delivered, contracts.c.id.in_(closed_windows))
        .order_by(contracts.c.id)
    )
    return list((await conn.execute(statement)).scalars())


async def deem_due_acceptances(conn: AsyncConnection, now: datetime) -> DeemedRun:
    """Deem accepted every delivered contract whose customer stayed silent past the window."""
    deemed, refused = 0, []
    for contract_id in await _due(conn, now):
        try:
            async with conn.begin_nested():
                contract = await CONTRACTS.locked(conn, SYSTEM, contract_id, None)
                await deem(conn, SYSTEM, contract, now, job=JOB)
        except ServiceError:
            refused.append(contract_id)
        else:
            deemed += 1
    return DeemedRun(deemed, tuple(refused))

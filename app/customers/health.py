"""Health warnings and reminders: per customer from the rules, and as SQL list filters.

The list filter (`GET /customers?warning=…`) and the per-customer view
(`GET /customers/{id}/health`) read the same policy numbers; the filter states each
warning as a condition on indexed columns so it runs in the database.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.enums import ContractStatus
from app.customers.tiering import customers, purchase_facts
from app.models import Contract, PaymentMilestone
from app.rules.customers import (
    CustomerHealthFacts,
    CustomerPolicy,
    HealthWarningCode,
    health_warnings,
    reminders,
)

contracts: sa.Table = Contract.__table__  # type: ignore[attr-defined]
milestones: sa.Table = PaymentMilestone.__table__  # type: ignore[attr-defined]


def _still_owed() -> list[sa.ColumnElement[bool]]:
    """Unpaid milestones of contracts still in force: a terminated contract's are void."""
    return [milestones.c.paid_at.is_(None), contracts.c.status != ContractStatus.terminated]


def _overdue_milestones(now: datetime, policy: CustomerPolicy) -> sa.Select[Any]:
    """Customers with an unpaid milestone more than the policy's days overdue.

    Overdue days are whole days after the due date, so "> N days" is `due < today - N`.
    """
    cutoff = now.date() - timedelta(days=policy.payment_overdue_warning_days)
    return (
        sa.select(contracts.c.customer_id)
        .join(milestones, milestones.c.contract_id == contracts.c.id)
        .where(*_still_owed(), milestones.c.due_date < cutoff)
    )


def _churn_risk_customers(now: datetime, policy: CustomerPolicy) -> sa.Select[Any]:
    facts = purchase_facts(now, policy).subquery("facts")
    return sa.select(facts.c.id).where(
        facts.c.revenue_last_quarter < facts.c.revenue_prev_quarter,
        facts.c.complaints_last_quarter > facts.c.complaints_prev_quarter,
    )


def warning_condition(
    code: HealthWarningCode, now: datetime, policy: CustomerPolicy
) -> sa.ColumnElement[bool]:
    contact, purchase = customers.c.last_contact_at, customers.c.last_purchase_at
    conditions: dict[HealthWarningCode, Any] = {
        HealthWarningCode.never_contacted: lambda: contact.is_(None),
        HealthWarningCode.no_contact_60d: lambda: (
            contact <= now - timedelta(days=policy.no_contact_warning_days)
        ),
        HealthWarningCode.never_purchased: lambda: purchase.is_(None),
        HealthWarningCode.no_purchase_180d: lambda: (
            purchase <= now - timedelta(days=policy.no_purchase_warning_days)
        ),
        HealthWarningCode.payment_overdue_15d: lambda: customers.c.id.in_(
            _overdue_milestones(now, policy)
        ),
        HealthWarningCode.churn_risk: lambda: customers.c.id.in_(
            _churn_risk_customers(now, policy)
        ),
    }
    return conditions[code]()  # type: ignore[no-any-return]


async def customer_health(
    conn: AsyncConnection, customer: Any, now: datetime, policy: CustomerPolicy
) -> dict[str, Any]:
    facts = await _health_facts(conn, customer, now, policy)
    return {
        "customer_id": customer["id"],
        "computed_at": now,
        "warnings": [w.model_dump(mode="json") for w in health_warnings(facts, now, policy)],
        "reminders": [r.model_dump(mode="json") for r in reminders(facts, now)],
    }


async def _health_facts(
    conn: AsyncConnection, customer: Any, now: datetime, policy: CustomerPolicy
) -> CustomerHealthFacts:
    customer_id: uuid.UUID = customer["id"]
    aggregates = (
        await conn.execute(purchase_facts(now, policy).where(customers.c.id == customer_id))
    ).one()
    oldest_due = (
        await conn.execute(
            sa.select(sa.func.min(milestones.c.due_date))
            .join(contracts, milestones.c.contract_id == contracts.c.id)
            .where(contracts.c.customer_id == customer_id, *_still_owed())
        )
    ).scalar()
    return CustomerHealthFacts(
        last_contact_at=customer["last_contact_at"],
        last_purchase_at=aggregates.last_purchase_at,
        oldest_unpaid_due_at=_start_of_day(oldest_due, now) if oldest_due else None,
        revenue_last_quarter=aggregates.revenue_last_quarter,
        revenue_prev_quarter=aggregates.revenue_prev_quarter,
        complaints_last_quarter=aggregates.complaints_last_quarter,
        complaints_prev_quarter=aggregates.complaints_prev_quarter,
    )


def _start_of_day(day: Any, now: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)

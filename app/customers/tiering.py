"""Customer tier and lifecycle: one customer at a time, or every customer in one statement.

Both paths read the same aggregates (`purchase_facts`). The single-customer path hands
them to the pure rules in `app.rules.customers`; the batch path turns the same policy
tables into SQL `CASE` expressions and updates every customer in one set-based UPDATE.
A test recomputes random histories both ways and requires identical results.
"""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.enums import ContractStatus, CustomerTier, DealStage, LifecycleStage, TicketType
from app.models import Contract, Customer, Deal, Ticket
from app.rules.customers import (
    CustomerHealthFacts,
    CustomerPolicy,
    PurchaseHistory,
    churn_risk,
    compute_lifecycle,
    compute_tier,
)

customers: sa.Table = Customer.__table__  # type: ignore[attr-defined]
deals: sa.Table = Deal.__table__  # type: ignore[attr-defined]
contracts: sa.Table = Contract.__table__  # type: ignore[attr-defined]
tickets: sa.Table = Ticket.__table__  # type: ignore[attr-defined]

ACTIVE_CONTRACT = (
    ContractStatus.signed,
    ContractStatus.in_delivery,
    ContractStatus.delivered,
    ContractStatus.accepted,
)
ZERO = sa.literal(Decimal(0), sa.Numeric(18, 2))


def _won_aggregates(now: datetime, policy: CustomerPolicy) -> sa.Subquery:
    window = timedelta(days=policy.rfm_window_days)
    quarter = timedelta(days=policy.churn_risk_window_days)
    closed, amount = deals.c.closed_at, deals.c.amount

    def revenue(since: datetime, until: datetime | None = None) -> sa.ColumnElement[Any]:
        inside = closed > since if until is None else sa.and_(closed > since, closed <= until)
        return sa.func.coalesce(sa.func.sum(amount).filter(inside), ZERO)

    return (
        sa.select(
            deals.c.customer_id,
            sa.func.min(closed).label("first_won_at"),
            sa.func.max(closed).label("last_purchase_at"),
            sa.func.count().label("won_count_total"),
            sa.func.count().filter(closed > now - window).label("won_count_12m"),
            revenue(now - window).label("revenue_12m"),
            revenue(now - 2 * window, now - window).label("revenue_prev_12m"),
            revenue(now - quarter).label("revenue_last_quarter"),
            revenue(now - 2 * quarter, now - quarter).label("revenue_prev_quarter"),
        )
        .where(deals.c.stage == DealStage.won, deals.c.customer_id.is_not(None))
        .group_by(deals.c.customer_id)
        .subquery("won")
    )


def _complaints(now: datetime, policy: CustomerPolicy) -> sa.Subquery:
    quarter = timedelta(days=policy.churn_risk_window_days)
    at = tickets.c.reported_at
    return (
        sa.select(
            tickets.c.customer_id,
            sa.func.count().filter(at > now - quarter).label("complaints_last_quarter"),
            sa.func.count()
            .filter(sa.and_(at > now - 2 * quarter, at <= now - quarter))
            .label("complaints_prev_quarter"),
        )
        .where(tickets.c.type == TicketType.complaint, at > now - 2 * quarter)
        .group_by(tickets.c.customer_id)
        .subquery("complaints")
    )


def _has_active_contract(now: datetime) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        contracts.c.customer_id == customers.c.id,
        contracts.c.status.in_(ACTIVE_CONTRACT),
        sa.or_(contracts.c.end_date.is_(None), contracts.c.end_date >= now.date()),
    )


def purchase_facts(now: datetime, policy: CustomerPolicy) -> sa.Select[Any]:
    """Per customer: everything tier and lifecycle look at, aggregated in SQL."""
    won = _won_aggregates(now, policy)
    complaints = _complaints(now, policy)
    zero_count = sa.literal(0)
    return sa.select(
        customers.c.id,
        customers.c.tier_override,
        customers.c.marked_lost_at,
        won.c.first_won_at,
        won.c.last_purchase_at,
        sa.func.coalesce(won.c.won_count_total, zero_count).label("won_count_total"),
        sa.func.coalesce(won.c.won_count_12m, zero_count).label("won_count_12m"),
        sa.func.coalesce(won.c.revenue_12m, ZERO).label("revenue_12m"),
        sa.func.coalesce(won.c.revenue_prev_12m, ZERO).label("revenue_prev_12m"),
        sa.func.coalesce(won.c.revenue_last_quarter, ZERO).label("revenue_last_quarter"),
        sa.func.coalesce(won.c.revenue_prev_quarter, ZERO).label("revenue_prev_quarter"),
        sa.func.coalesce(complaints.c.complaints_last_quarter, zero_count).label(
            "complaints_last_quarter"
        ),
        sa.func.coalesce(complaints.c.complaints_prev_quarter, zero_count).label(
            "complaints_prev_quarter"
        ),
        _has_active_contract(now).label("has_active_contract"),
    ).select_from(
        customers.outerjoin(won, won.c.customer_id == customers.c.id).outerjoin(
            complaints, complaints.c.customer_id == customers.c.id
        )
    )


# --- one customer: the pure rules -------------------------------------------------------


def decide(facts: Any, now: datetime, policy: CustomerPolicy) -> dict[str, Any]:
    """The columns to store for one customer's aggregated facts."""
    history = PurchaseHistory(
        first_won_at=facts.first_won_at,
        last_purchase_at=facts.last_purchase_at,
        won_count_total=facts.won_count_total,
        won_count_12m=facts.won_count_12m,
        revenue_12m=Decimal(facts.revenue_12m),
        revenue_prev_12m=Decimal(facts.revenue_prev_12m),
    )
    tier = compute_tier(history, now, policy, manual_tier=facts.tier_override)
    churn = churn_risk(
        CustomerHealthFacts(
            revenue_last_quarter=Decimal(facts.revenue_last_quarter),
            revenue_prev_quarter=Decimal(facts.revenue_prev_quarter),
            complaints_last_quarter=facts.complaints_last_quarter,
            complaints_prev_quarter=facts.complaints_prev_quarter,
        )
    )
    lifecycle = compute_lifecycle(
        history,
        now,
        policy,
        has_active_contract=bool(facts.has_active_contract),
        marked_lost=facts.marked_lost_at is not None,
        open_churn_warning=churn,
    )
    return {
        "tier": tier.tier,
        "tier_reason": f"{tier.computed_tier}: {tier.rfm.reason_text}",
        "lifecycle_stage": lifecycle.stage,
        "last_purchase_at": facts.last_purchase_at,
        "tier_computed_at": now,
    }


async def recompute_customer(
    conn: AsyncConnection, customer_id: uuid.UUID, now: datetime, policy: CustomerPolicy
) -> None:
    """Re-tier one customer after a deal is won or lost or a contract is accepted."""
    statement = purchase_facts(now, policy).where(customers.c.id == customer_id)
    facts = (await conn.execute(statement)).first()
    if facts is not None:
        values = decide(facts, now, policy)
        await conn.execute(customers.update().where(customers.c.id == customer_id).values(values))


# --- every customer: the same rules as SQL ----------------------------------------------


def _older_than(instant: sa.ColumnElement[Any], now: datetime, days: int) -> sa.ColumnElement[bool]:
    """`days_since(instant) >= days` (whole days, floor) as a comparison the index can use."""
    return sa.and_(instant.is_not(None), instant <= now - timedelta(days=days))


def _count_true(conditions: list[sa.ColumnElement[bool]]) -> sa.ColumnElement[int]:
    terms = [sa.case((c, 1), else_=0) for c in conditions]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _rfm_columns(f: Any, now: datetime, policy: CustomerPolicy) -> tuple[Any, Any, Any]:
    last = f.c.last_purchase_at
    r = sa.case(
        (last.is_(None), 1),
        else_=5
        - _count_true([_older_than(last, now, t + 1) for t in policy.recency_thresholds_days]),
    )
    fr = 1 + _count_true([f.c.won_count_12m >= t for t in policy.frequency_thresholds])
    m = 1 + _count_true([f.c.revenue_12m >= t for t in policy.monetary_thresholds])
    return r, fr, m


def _tier_case(f: Any, total: Any, now: datetime, policy: CustomerPolicy) -> sa.Case[Any]:
    rising = sa.and_(
        f.c.revenue_prev_12m > 0,
        f.c.revenue_12m > f.c.revenue_prev_12m * policy.revenue_rising_min_ratio,
    )
    return sa.case(
        (
            _older_than(f.c.last_purchase_at, now, policy.dormant_after_days),
            CustomerTier.dormant.value,
        ),
        (total >= policy.strategic_min_rfm, CustomerTier.strategic.value),
        (total >= policy.growth_min_rfm, CustomerTier.growth.value),
        (rising, CustomerTier.growth.value),
        else_=CustomerTier.potential.value,
    )


def _lifecycle_case(f: Any, now: datetime, policy: CustomerPolicy) -> sa.Case[Any]:
    churned = sa.or_(
        f.c.marked_lost_at.is_not(None),
        sa.and_(
            sa.not_(f.c.has_active_contract),
            _older_than(f.c.last_purchase_at, now, policy.churned_after_days),
        ),
    )
    declined = sa.and_(
        f.c.revenue_prev_12m > 0,
        f.c.revenue_12m < f.c.revenue_prev_12m * policy.decline_revenue_ratio,
    )
    churn_warning = sa.and_(
        f.c.revenue_last_quarter < f.c.revenue_prev_quarter,
        f.c.complaints_last_quarter > f.c.complaints_prev_quarter,
    )
    mature = sa.or_(
        f.c.won_count_total >= policy.mature_min_won_deals,
        _older_than(f.c.first_won_at, now, policy.mature_after_days),
    )
    return sa.case(
        (churned, LifecycleStage.churned.value),
        (f.c.won_count_total == 0, LifecycleStage.prospect.value),
        (sa.or_(declined, churn_warning), LifecycleStage.decline.value),
        (mature, LifecycleStage.mature.value),
        else_=LifecycleStage.growth.value,
    )


def batch_update(now: datetime, policy: CustomerPolicy) -> sa.Update:
    facts = purchase_facts(now, policy).subquery("facts")
    r, f, m = _rfm_columns(facts, now, policy)
    rfm = sa.select(facts, r.label("r"), f.label("f"), m.label("m")).subquery("rfm")
    scored = sa.select(
        rfm.c.id,
        rfm.c.tier_override,
        rfm.c.last_purchase_at,
        rfm.c.r,
        rfm.c.f,
        rfm.c.m,
        _tier_case(rfm, rfm.c.r + rfm.c.f + rfm.c.m, now, policy).label("computed_tier"),
        _lifecycle_case(rfm, now, policy).label("lifecycle_stage"),
    ).subquery("scored")
    reason = (
        scored.c.computed_tier
        + sa.literal(": R=")
        + sa.cast(scored.c.r, sa.String)
        + sa.literal(" F=")
        + sa.cast(scored.c.f, sa.String)
        + sa.literal(" M=")
        + sa.cast(scored.c.m, sa.String)
    )
    return (
        customers.update()
        .where(customers.c.id == scored.c.id)
        .values(
            tier=sa.func.coalesce(scored.c.tier_override, scored.c.computed_tier),
            tier_reason=reason,
            lifecycle_stage=scored.c.lifecycle_stage,
            last_purchase_at=scored.c.last_purchase_at,
            tier_computed_at=now,
        )
    )


async def recompute_all(conn: AsyncConnection, now: datetime, policy: CustomerPolicy) -> int:
    """Re-tier every customer in one statement; returns how many rows it updated."""
    result = await conn.execute(batch_update(now, policy))
    return int(result.rowcount)

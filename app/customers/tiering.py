"""Customer tier and lifecycle: one customer at a time, or every customer in one statement.

Both paths read the same aggregates (`purchase_facts`). The single-customer path hands
them to the pure rules in `app.rules.customers`; the batch path turns the same policy
tables into SQL `CASE` expressions and updates every customer in one set-based UPDATE.
A test recomputes random histories both ways and requires identical results (tier,
computed tier, their reasons, grade, lifecycle).

Both store what the data says (`computed_tier`, `computed_tier_reason`) beside the tier
acted on: `tier` is a manager's override when there is one, and `tier_reason` then says
so and why; without one, `tier` and `tier_reason` are the computed ones.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.service import audit_values
from app.core.access import SYSTEM, Principal
from app.core.crud import Row, all_dicts
from app.core.enums import (
    ContractStatus,
    CustomerGrade,
    CustomerTier,
    LifecycleStage,
    RatingLevel,
    TicketType,
)
from app.core.records import record_changes
from app.customers.repository import CUSTOMERS
from app.customers.revenue import revenue_lines
from app.events.catalogue import EventType
from app.events.outbox import event_values
from app.models import Contract, Customer, Deal, Ticket
from app.rules.customers import (
    CustomerHealthFacts,
    CustomerPolicy,
    PurchaseHistory,
    churn_risk,
    compute_grade,
    compute_lifecycle,
    compute_tier,
    rfm_reason,
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
# The reasons are cut to what the column holds.
REASON_LENGTH = int(cast(sa.String, customers.c.tier_reason.type).length or 200)
NO_OVERRIDE_REASON = "no reason given"
# What partners segment customers by: a change of one is `customer.tier_changed`.
SEGMENT_FIELDS = ("tier", "computed_tier", "grade", "lifecycle_stage")


def _won_deals(policy: CustomerPolicy) -> sa.Subquery:
    """Each won deal with its revenue in the base currency and any other currency it earned
    in (a deal paid in USD adds nothing to a CNY base: there is no rate to convert at)."""
    lines = revenue_lines(
        [deals.c.id.label("deal_id"), deals.c.customer_id, deals.c.closed_at],
        [deals.c.customer_id.is_not(None)],
    ).subquery("revenue_lines")
    in_base = lines.c.currency == policy.base_currency
    elsewhere = sa.and_(lines.c.currency != policy.base_currency, lines.c.amount.is_not(None))
    return (
        sa.select(
            lines.c.deal_id,
            lines.c.customer_id,
            lines.c.closed_at,
            sa.func.sum(lines.c.amount).filter(in_base).label("amount"),
            sa.func.max(lines.c.currency).filter(elsewhere).label("other_currency"),
        )
        .group_by(lines.c.deal_id, lines.c.customer_id, lines.c.closed_at)
        .subquery("won_deals")
    )


def _won_aggregates(now: datetime, policy: CustomerPolicy) -> sa.Subquery:
    window = timedelta(days=policy.rfm_window_days)
    quarter = timedelta(days=policy.churn_risk_window_days)
    won = _won_deals(policy)
    closed, amount = won.c.closed_at, won.c.amount

    def revenue(since: datetime, until: datetime | None = None) -> sa.ColumnElement[Any]:
        inside = closed > since if until is None else sa.and_(closed > since, closed <= until)
        return sa.func.coalesce(sa.func.sum(amount).filter(inside), ZERO)

    elsewhere = sa.and_(closed > now - window, won.c.other_currency.is_not(None))
    lowest = sa.func.min(won.c.other_currency).filter(elsewhere)
    highest = sa.func.max(won.c.other_currency).filter(elsewhere)
    return (
        sa.select(
            won.c.customer_id,
            sa.func.min(closed).label("first_won_at"),
            sa.func.max(closed).label("last_purchase_at"),
            sa.func.count().label("won_count_total"),
            sa.func.count().filter(closed > now - window).label("won_count_12m"),
            revenue(now - window).label("revenue_12m"),
            revenue(now - 2 * window, now - window).label("revenue_prev_12m"),
            revenue(now - quarter).label("revenue_last_quarter"),
            revenue(now - 2 * quarter, now - quarter).label("revenue_prev_quarter"),
            sa.func.count().filter(elsewhere).label("other_currency_deals_12m"),
            sa.case((lowest == highest, lowest)).label("other_currency"),
        )
        .group_by(won.c.customer_id)
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
        customers.c.tier_override_reason,
        customers.c.marked_lost_at,
        customers.c.need_intensity,
        customers.c.purchasing_power,
        won.c.first_won_at,
        won.c.last_purchase_at,
        sa.func.coalesce(won.c.won_count_total, zero_count).label("won_count_total"),
        sa.func.coalesce(won.c.won_count_12m, zero_count).label("won_count_12m"),
        sa.func.coalesce(won.c.revenue_12m, ZERO).label("revenue_12m"),
        sa.func.coalesce(won.c.revenue_prev_12m, ZERO).label("revenue_prev_12m"),
        sa.func.coalesce(won.c.revenue_last_quarter, ZERO).label("revenue_last_quarter"),
        sa.func.coalesce(won.c.revenue_prev_quarter, ZERO).label("revenue_prev_quarter"),
        sa.func.coalesce(won.c.other_currency_deals_12m, zero_count).label(
            "other_currency_deals_12m"
        ),
        won.c.other_currency,
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
        other_currency_deals_12m=facts.other_currency_deals_12m,
        other_currency=facts.other_currency,
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
    computed_reason = f"{tier.computed_tier}: {rfm_reason(tier.rfm, history, policy)}"
    return {
        "tier": tier.tier,
        "tier_reason": computed_reason
        if facts.tier_override is None
        else override_reason(facts.tier_override, facts.tier_override_reason),
        "computed_tier": tier.computed_tier,
        "computed_tier_reason": computed_reason,
        "grade": grade_for(facts.need_intensity, facts.purchasing_power),
        "lifecycle_stage": lifecycle.stage,
        "last_purchase_at": facts.last_purchase_at,
        "tier_computed_at": now,
    }


def override_reason(tier: CustomerTier, reason: str | None) -> str:
    """`tier_reason` under an override: whose call it is and why, cut to fit the column."""
    text = f"manual override {tier}: {reason or NO_OVERRIDE_REASON}"
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def new_customer_tier(now: datetime, policy: CustomerPolicy) -> dict[str, Any]:
    """The tier of a customer that has bought nothing yet, as a re-tiering would store it."""
    history = PurchaseHistory()
    tier = compute_tier(history, now, policy)
    reason = f"{tier.computed_tier}: {rfm_reason(tier.rfm, history, policy)}"
    return {
        "tier": tier.tier,
        "tier_reason": reason,
        "computed_tier": tier.computed_tier,
        "computed_tier_reason": reason,
        "tier_computed_at": now,
    }


def grade_for(need_intensity: str | None, purchasing_power: str | None) -> CustomerGrade | None:
    """The grade of a customer's stored judgements (None until both are made)."""
    return compute_grade(
        RatingLevel(need_intensity) if need_intensity else None,
        RatingLevel(purchasing_power) if purchasing_power else None,
    )


async def retier_values(
    conn: AsyncConnection,
    customer_id: uuid.UUID,
    now: datetime,
    policy: CustomerPolicy,
    decision: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What re-tiering stores for one customer, with a decision about to be written
    (an override, a lost mark, a rating) already taken into account."""
    statement = purchase_facts(now, policy).where(customers.c.id == customer_id)
    row = (await conn.execute(statement)).one()
    facts = SimpleNamespace(**{**row._mapping, **(decision or {})})
    return decide(facts, now, policy)


def retier_event(current: Mapping[str, Any], changes: Mapping[str, Any]) -> EventType:
    """`customer.tier_changed` when what partners segment by moved; a reworded reason or a
    later purchase date alone is an update."""
    moved = any(current[name] != changes[name] for name in SEGMENT_FIELDS if name in changes)
    return EventType.customer_tier_changed if moved else EventType.customer_updated


async def recompute_customer(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    now: datetime,
    policy: CustomerPolicy,
    *,
    job: str | None = None,
) -> Row | None:
    """Re-tier one customer after a deal is won or lost or a contract is accepted: a new
    version with its audit entry and event when anything changed, by whoever caused it.

    The customer is read whoever the caller may see: the cause (a deal) was checked."""
    current = await CUSTOMERS.locked(conn, SYSTEM, customer_id, None)
    values = await retier_values(conn, customer_id, now, policy)
    changes = {k: v for k, v in values.items() if k != "tier_computed_at" and current[k] != v}
    if not changes:
        return None
    changes["tier_computed_at"] = now
    event = retier_event(current, changes)
    return await CUSTOMERS.save(
        conn, principal, current, changes, event, action="retier", at=now, job=job
    )


# --- every customer: the same rules as SQL ----------------------------------------------


def _older_than(instant: sa.ColumnElement[Any], now: datetime, days: int) -> sa.ColumnElement[bool]:
    """`days_since(instant) >= days` (whole days, floor) as a comparison the index can use."""
    return sa.and_(instant.is_not(None), instant <= now - timedelta(days=days))


def _count_true(conditions: list[sa.ColumnElement[bool]]) -> sa.ColumnElement[int]:
    terms = [sa.case((c, 1), else_=0) for c in conditions]
    total: sa.ColumnElement[int] = terms[0]
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


def _grade_case(need: sa.ColumnElement[Any], power: sa.ColumnElement[Any]) -> sa.Case[Any]:
    """`compute_grade` as SQL."""
    high, low = RatingLevel.high.value, RatingLevel.low.value
    return sa.case(
        (sa.or_(need.is_(None), power.is_(None)), sa.null()),
        (sa.and_(need == high, power == high), CustomerGrade.A.value),
        (sa.or_(need == low, power == low), CustomerGrade.C.value),
        else_=CustomerGrade.B.value,
    )


def _text(value: Any) -> sa.ColumnElement[str]:
    return sa.cast(value, sa.String) if isinstance(value, sa.ColumnElement) else sa.literal(value)


def _concat(*parts: Any) -> sa.ColumnElement[str]:
    joined = _text(parts[0])
    for part in parts[1:]:
        joined = joined + _text(part)
    return joined


def _monetary_note_case(f: Any, policy: CustomerPolicy) -> sa.Case[Any]:
    """`monetary_note` as SQL."""
    count, currency = f.c.other_currency_deals_12m, f.c.other_currency
    deals_word = sa.case((count == 1, "deal"), else_="deals")
    opening = _concat(f" ({policy.base_currency}; ", count, " ")
    return sa.case(
        (count == 0, ""),
        (currency.is_not(None), _concat(opening, currency, " ", deals_word, " not counted)")),
        else_=_concat(opening, deals_word, " in other currencies not counted)"),
    )


def _override_reason_sql(tier: Any, reason: Any) -> sa.Case[Any]:
    """`override_reason` as SQL."""
    text = _concat("manual override ", tier, ": ", sa.func.coalesce(reason, NO_OVERRIDE_REASON))
    return sa.case(
        (sa.func.length(text) <= REASON_LENGTH, text),
        else_=sa.func.substr(text, 1, REASON_LENGTH - 1) + "…",
    )


def _batch_computed(now: datetime, policy: CustomerPolicy) -> tuple[sa.Subquery, dict[str, Any]]:
    """Every customer's re-tiering values as SQL, beside the `scored` rows they read."""
    facts = purchase_facts(now, policy).subquery("facts")
    r, f, m = _rfm_columns(facts, now, policy)
    rfm = sa.select(facts, r.label("r"), f.label("f"), m.label("m")).subquery("rfm")
    scored = sa.select(
        rfm.c.id,
        rfm.c.tier_override,
        rfm.c.tier_override_reason,
        rfm.c.last_purchase_at,
        rfm.c.r,
        rfm.c.f,
        rfm.c.m,
        _monetary_note_case(rfm, policy).label("monetary_note"),
        _tier_case(rfm, rfm.c.r + rfm.c.f + rfm.c.m, now, policy).label("computed_tier"),
        _lifecycle_case(rfm, now, policy).label("lifecycle_stage"),
    ).subquery("scored")
    reason = _concat(
        scored.c.computed_tier,
        ": R=",
        scored.c.r,
        " F=",
        scored.c.f,
        " M=",
        scored.c.m,
        scored.c.monetary_note,
    )
    override = scored.c.tier_override
    computed = {
        "tier": sa.func.coalesce(override, scored.c.computed_tier),
        "tier_reason": sa.case(
            (override.is_(None), reason),
            else_=_override_reason_sql(override, scored.c.tier_override_reason),
        ),
        "computed_tier": scored.c.computed_tier,
        "computed_tier_reason": reason,
        "grade": _grade_case(customers.c.need_intensity, customers.c.purchasing_power),
        "lifecycle_stage": scored.c.lifecycle_stage,
        "last_purchase_at": scored.c.last_purchase_at,
    }
    return scored, computed


def batch_update(now: datetime, policy: CustomerPolicy) -> sa.Update:
    scored, computed = _batch_computed(now, policy)
    return _store_if_changed(customers.update().where(customers.c.id == scored.c.id), computed, now)


def _store_if_changed(update: sa.Update, computed: Mapping[str, Any], now: datetime) -> sa.Update:
    """Write only rows whose computed values differ, as a new version: clients holding the
    ETag learn of the change, and a recompute that finds nothing new rewrites nothing."""
    values = {name: value for name, value in computed.items() if name != "tier_computed_at"}
    stamp = {"tier_computed_at": now, "version": customers.c.version + 1, "updated_at": now}
    return update.where(_differs(values)).values(**values, **stamp)


def _differs(values: Mapping[str, Any]) -> sa.ColumnElement[bool]:
    return sa.or_(*(customers.c[name].is_distinct_from(v) for name, v in values.items()))


async def recompute_all(
    conn: AsyncConnection,
    now: datetime,
    policy: CustomerPolicy,
    principal: Principal = SYSTEM,
    job: str = "recompute_tiers",
) -> int:
    """Re-tier every customer, set-based; returns how many changed. Each changed customer
    gets its audit entry and event (written in batches): the customers about to change
    are locked and read first, so each entry holds what the customer was."""
    scored, computed = _batch_computed(now, policy)
    changing = (
        CUSTOMERS.repository.select()
        .join(scored, scored.c.id == customers.c.id)
        .where(_differs({k: v for k, v in computed.items() if k != "tier_computed_at"}))
    )
    if conn.dialect.name == "postgresql":
        changing = changing.with_for_update(of=customers)
    before = {row["id"]: row for row in all_dicts(await conn.execute(changing))}
    if not before:
        return 0
    update = batch_update(now, policy)
    if conn.dialect.name == "postgresql":  # only the rows read (and locked) above
        ids = sa.bindparam("ids", list(before), type_=postgresql.ARRAY(sa.Uuid))
        update = update.where(customers.c.id == sa.any_(ids))
    changed = all_dicts(await conn.execute(update.returning(*CUSTOMERS.repository.columns)))
    audits, events = [], []
    for row in changed:
        old = before.get(row["id"])
        audits.append(
            audit_values(principal, "retier", "customer", row["id"], before=old, after=row, at=now)
        )
        event = retier_event(old, row) if old is not None else EventType.customer_updated
        events.append(event_values(conn, principal, event, row, before=old, at=now, job=job))
    await record_changes(conn, audits, events)
    return len(audits)

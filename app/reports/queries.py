"""Every query the reports run: set-based SQL over the tables, visibility in the WHERE.

Each function returns a subquery of one row per counted record (a lead, a deal's arrival
at a stage, a won deal's revenue in one currency, a ticket...), with its period bucket,
its keys and 0/1 flags; `sql.Rollup` turns it into grouped rows and period totals.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal, visible
from app.core.enums import (
    OPEN_DEAL_STAGES,
    ActivityKind,
    CustomerTier,
    DealStage,
    LeadSource,
    LeadStatus,
    TicketType,
)
from app.core.sqltime import seconds_between
from app.customers.revenue import revenue_lines
from app.models import (
    Activity,
    Campaign,
    Customer,
    Deal,
    DealStageStay,
    Lead,
    Team,
    Ticket,
    TicketSlaEvent,
    User,
)
from app.reports.periods import Period
from app.reports.schemas import SalesBy
from app.reports.sql import (
    Expr,
    bucket,
    cents,
    flag,
    weighted_cents,
)
from app.rules.policy import DEFAULT_POLICY

leads: sa.Table = Lead.__table__  # type: ignore[attr-defined]
deals: sa.Table = Deal.__table__  # type: ignore[attr-defined]
stays: sa.Table = DealStageStay.__table__  # type: ignore[attr-defined]
customers: sa.Table = Customer.__table__  # type: ignore[attr-defined]
activities: sa.Table = Activity.__table__  # type: ignore[attr-defined]
campaigns: sa.Table = Campaign.__table__  # type: ignore[attr-defined]
tickets: sa.Table = Ticket.__table__  # type: ignore[attr-defined]
sla_events: sa.Table = TicketSlaEvent.__table__  # type: ignore[attr-defined]
users: sa.Table = User.__table__  # type: ignore[attr-defined]
teams: sa.Table = Team.__table__  # type: ignore[attr-defined]

_ONE: sa.ColumnClause[int] = sa.literal_column("1")
_ZERO: sa.ColumnClause[int] = sa.literal_column("0")


@dataclass(frozen=True)
class Filters:
    """The allow-listed filters a report was asked for; None means not filtered."""

    owner_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    channel: LeadSource | None = None
    product: str | None = None
    tier: CustomerTier | None = None
    ticket_type: TicketType | None = None
    activity_kind: ActivityKind | None = None


def team_members(team_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(users.c.id).where(users.c.team_id == team_id)


def effective_tier(table: sa.FromClause) -> Expr:
    """A manager's override wins over the computed tier (docs/domain.md §2)."""
    return sa.func.coalesce(table.c.tier_override, table.c.tier)


def customers_of_tier(tier: CustomerTier) -> sa.Select[Any]:
    return sa.select(customers.c.id).where(effective_tier(customers) == tier)


def owner_filters(owner: Expr, f: Filters) -> list[sa.ColumnElement[bool]]:
    where = []
    if f.owner_id is not None:
        where.append(owner == f.owner_id)
    if f.team_id is not None:
        where.append(owner.in_(team_members(f.team_id)))
    return where


def deal_filters(principal: Principal, f: Filters) -> list[sa.ColumnElement[bool]]:
    """Visibility and the deal-level filters, on `deals`."""
    return [
        visible(principal, Kind.deals, deals),
        *owner_filters(deals.c.owner_id, f),
        *_deal_attribute_filters(f),
    ]


def _deal_attribute_filters(f: Filters) -> list[sa.ColumnElement[bool]]:
    """The filters on what a deal is rather than who owns it, on `deals`."""
    where: list[sa.ColumnElement[bool]] = []
    if f.channel is not None:
        where.append(deals.c.lead_id.in_(sa.select(leads.c.id).where(leads.c.source == f.channel)))
    if f.product is not None:
        where.append(deals.c.product == f.product)
    if f.tier is not None:
        where.append(deals.c.customer_id.in_(customers_of_tier(f.tier)))
    return where


def in_period(column: Expr, period: Period) -> list[sa.ColumnElement[bool]]:
    return [column >= period.start_at, column < period.end_at]


# ------------------------------------------------------------------ won revenue


def won_revenue(dialect: str, where: Sequence[sa.ColumnElement[bool]]) -> sa.Subquery:
    """Won deals (stage `won` now) matching `where`, one row per deal and currency.

    Revenue is what was sold (`revenue_lines`): the deal's accepted contracts, in their
    currency; a deal won without one counts at its estimated amount, flagged `estimated`;
    with no amount at all, `priced` is 0.
    """
    columns = (
        deals.c.id.label("deal_id"),
        deals.c.lead_id,
        deals.c.customer_id,
        deals.c.owner_id,
        deals.c.product,
        deals.c.created_at,
        deals.c.closed_at,
    )
    lines = revenue_lines(columns, where).subquery("revenue_lines")
    per_deal = [lines.c[c.key] for c in columns] + [lines.c.currency]
    amount = sa.func.sum(cents(lines.c.amount, dialect))
    return (
        sa.select(
            *per_deal,
            amount.label("cents"),
            flag(amount.is_not(None)).label("priced"),
            sa.func.max(lines.c.estimated).label("estimated"),
        )
        .group_by(*per_deal)
        .subquery("won_revenue")
    )


# ------------------------------------------------------------------ funnel


FUNNEL_STAGES = (*OPEN_DEAL_STAGES, DealStage.won)
# The funnel's steps in order: the lead's three, then each deal stage (`FunnelStep`).
LEAD_STEP_RANKS = {"leads": 0, "qualified": 1, "converted": 2}
STAGE_RANKS = {stage: len(LEAD_STEP_RANKS) + i for i, stage in enumerate(FUNNEL_STAGES)}


def _lead_filters(principal: Principal, f: Filters) -> list[sa.ColumnElement[bool]]:
    """The leads the caller may see and asked for."""
    where = [visible(principal, Kind.leads, leads), *owner_filters(leads.c.owner_id, f)]
    if f.channel is not None:
        where.append(leads.c.source == f.channel)
    return where


def _lead_progress() -> list[Expr]:
    """Whether a lead ever reached qualified (`qualified_at`, kept when it slipped back to
    nurturing or was disqualified later) and whether it converted."""
    converted = sa.or_(leads.c.status == LeadStatus.converted, leads.c.converted_at.is_not(None))
    return [
        flag(sa.or_(leads.c.qualified_at.is_not(None), converted)).label("qualified"),
        flag(converted).label("converted"),
    ]


def _cohort_leads(principal: Principal, period: Period, f: Filters) -> list[sa.ColumnElement[bool]]:
    """The leads created in the period that the caller may see and asked for."""
    return [*_lead_filters(principal, f), *in_period(leads.c.created_at, period)]


def _lead_steps(principal: Principal, period: Period, f: Filters) -> list[sa.Select[Any]]:
    """A lead's steps as (record, at, rank): created, first qualified, converted."""
    # Each instant bare, so the period selects it by its index; a lead that never reached
    # the step has none and falls outside every period.
    reached = [
        (leads.c.created_at, sa.true()),
        (leads.c.qualified_at, leads.c.qualified_at.is_not(None)),
        (leads.c.converted_at, leads.c.converted_at.is_not(None)),
    ]
    return [
        sa.select(
            leads.c.id.label("record"), at.label("at"), sa.literal(rank, sa.Integer).label("rank")
        ).where(happened, *in_period(at, period), *_lead_filters(principal, f))
        for (at, happened), rank in zip(reached, LEAD_STEP_RANKS.values(), strict=True)
    ]


def _stage_where(principal: Principal, period: Period, f: Filters) -> list[sa.ColumnElement[bool]]:
    where = [
        stays.c.stage.in_(FUNNEL_STAGES),
        *in_period(stays.c.first_arrived_at, period),
        visible(principal, Kind.deals, stays),
        *owner_filters(stays.c.owner_id, f),
    ]
    attributes = _deal_attribute_filters(f)
    if attributes:
        where.append(stays.c.deal_id.in_(sa.select(deals.c.id).where(*attributes)))
    return where


def _stage_steps(principal: Principal, period: Period, f: Filters) -> sa.Select[Any]:
    """A deal's first arrival at each stage as (record, at, rank); a deal converted from a
    lead is the lead's record, so the two count once."""
    # Looked up per arrival by the deal's key: a join would hash every deal of the company.
    record = (
        sa.select(sa.func.coalesce(deals.c.lead_id, deals.c.id))
        .where(deals.c.id == stays.c.deal_id)
        .scalar_subquery()
    )
    return sa.select(
        record.label("record"),
        stays.c.first_arrived_at.label("at"),
        sa.case(STAGE_RANKS, value=stays.c.stage).label("rank"),
    ).where(*_stage_where(principal, period, f))


def funnel_furthest(
    dialect: str, principal: Principal, period: Period, f: Filters, *, per_bucket: bool
) -> sa.Select[Any]:
    """How many records got furthest to each step: `(period_start,) furthest, records`.

    A record is a lead with the deal converted from it, or a deal opened without a lead;
    its furthest step is the latest step it reached within the bucket (or, for the totals,
    the whole period). A record counts at every step up to its furthest, so the steps it
    skipped, or passed before the period, count too and no step exceeds the one before.
    """
    steps = sa.union_all(*_lead_steps(principal, period, f), _stage_steps(principal, period, f))
    events = steps.subquery("funnel_steps")
    keys: list[Expr] = [events.c.record]
    if per_bucket:
        keys.insert(0, bucket(events.c.at, period.grouping, dialect).label("period_start"))
    furthest = (
        sa.select(*keys, sa.func.max(events.c.rank).label("furthest"))
        .group_by(*keys)
        .subquery("funnel_furthest")
    )
    grouped = [furthest.c.period_start] if per_bucket else []
    return sa.select(*grouped, furthest.c.furthest, sa.func.count().label("records")).group_by(
        *grouped, furthest.c.furthest
    )


def funnel_stage_times(
    dialect: str, principal: Principal, period: Period, f: Filters
) -> sa.Subquery:
    """Each deal's first arrival at each open stage in the period, with its total time in
    the stage (for the median): read from `deal_stage_stays`, one row per deal and stage
    it ever reached, its owner mirrored there. A deal still in the stage has no final time
    yet and is left out of the median (NULL), as is time spent won."""
    finished = sa.and_(stays.c.arrived_at.is_(None), stays.c.stage != DealStage.won)
    return (
        sa.select(
            bucket(stays.c.first_arrived_at, period.grouping, dialect).label("period_start"),
            stays.c.stage.label("step"),
            sa.case((finished, stays.c.seconds_in_stage)).label("stage_seconds"),
        )
        .where(*_stage_where(principal, period, f))
        .subquery("funnel_stage_times")
    )


# ------------------------------------------------------------------ sales and forecast


def _sales_keys(source: sa.FromClause, by: SalesBy | None) -> tuple[sa.FromClause, list[Expr]]:
    """The FROM clause and key columns that put a row under its owner, team or product."""
    if by is SalesBy.owner:
        return source, [source.c.owner_id.label("owner_id")]
    if by is SalesBy.product:
        return source, [source.c.product.label("product")]
    if by is SalesBy.team:
        owner = users.alias("owner")
        joined = source.outerjoin(owner, owner.c.id == source.c.owner_id)
        return joined, [owner.c.team_id.label("team_id")]
    return source, []


SALES_KEY = {SalesBy.owner: "owner_id", SalesBy.team: "team_id", SalesBy.product: "product"}


def sales_outcomes(
    dialect: str, principal: Principal, period: Period, f: Filters, by: SalesBy | None
) -> sa.Subquery:
    """Won and lost deals by closing time, won ones with their revenue and cycle."""
    closed = [*in_period(deals.c.closed_at, period), *deal_filters(principal, f)]
    revenue = won_revenue(dialect, closed)
    won_from, won_keys = _sales_keys(revenue, by)
    won = sa.select(
        bucket(revenue.c.closed_at, period.grouping, dialect).label("period_start"),
        *won_keys,
        revenue.c.currency,
        _ONE.label("won"),
        _ZERO.label("lost"),
        revenue.c.cents,
        revenue.c.priced,
        revenue.c.estimated,
        seconds_between(revenue.c.created_at, revenue.c.closed_at, dialect).label("cycle"),
    ).select_from(won_from)
    lost_from, lost_keys = _sales_keys(deals, by)
    lost = (
        sa.select(
            bucket(deals.c.closed_at, period.grouping, dialect).label("period_start"),
            *lost_keys,
            deals.c.currency,
            _ZERO.label("won"),
            _ONE.label("lost"),
            sa.null().label("cents"),
            _ZERO.label("priced"),
            _ZERO.label("estimated"),
            sa.null().label("cycle"),
        )
        .select_from(lost_from)
        .where(deals.c.stage == DealStage.lost, *closed)
    )
    return sa.union_all(won, lost).subquery("sales_outcomes")


def _win_basis_points() -> Expr:
    probabilities = DEFAULT_POLICY.deals.win_probability_pct
    whens = []
    for stage in OPEN_DEAL_STAGES:
        points = probabilities[stage] * 100
        if points != points.to_integral_value():
            raise ValueError(f"win probability {probabilities[stage]} has more than 2 decimals")
        whens.append((deals.c.stage == stage, int(points)))
    return sa.case(*whens, else_=0)


def forecast_deals(
    dialect: str, principal: Principal, period: Period, f: Filters, by: SalesBy | None
) -> sa.Subquery:
    """Open deals by expected close date, each weighted by its stage's win probability."""
    source, keys = _sales_keys(deals, by)
    return (
        sa.select(
            bucket(deals.c.expected_close_date, period.grouping, dialect, is_date=True).label(
                "period_start"
            ),
            *keys,
            deals.c.currency,
            _ONE.label("open_count"),
            flag(deals.c.amount.is_(None)).label("unpriced_count"),
            cents(deals.c.amount, dialect).label("pipeline"),
            weighted_cents(deals.c.amount, _win_basis_points(), dialect).label("weighted"),
        )
        .select_from(source)
        .where(
            deals.c.stage.in_(OPEN_DEAL_STAGES),
            deals.c.expected_close_date >= period.start,
            deals.c.expected_close_date < period.end,
            *deal_filters(principal, f),
        )
        .subquery("forecast_deals")
    )


# ------------------------------------------------------------------ channels


def _with_campaign(source: sa.FromClause) -> tuple[sa.FromClause, Expr]:
    """`source` (holding `leads`) joined to the campaign each lead names, and the campaign
    to report it under: the campaign's own name, else the lead's text, trimmed.

    Leads name campaigns in free text; names are unique ignoring case, so that is how they
    match (and surrounding spaces never count).
    """
    named = sa.func.nullif(sa.func.trim(leads.c.campaign), "")
    joined = source.outerjoin(campaigns, sa.func.lower(campaigns.c.name) == sa.func.lower(named))
    return joined, sa.func.coalesce(campaigns.c.name, named).label("campaign")


def channel_leads(dialect: str, principal: Principal, period: Period, f: Filters) -> sa.Subquery:
    """Leads by creation, per source channel, campaign and the lead's currency."""
    source, campaign = _with_campaign(leads)
    return (
        sa.select(
            bucket(leads.c.created_at, period.grouping, dialect).label("period_start"),
            leads.c.source.label("channel"),
            campaign,
            leads.c.currency,
            _ONE.label("leads"),
            *_lead_progress(),
        )
        .select_from(source)
        .where(*_cohort_leads(principal, period, f))
        .subquery("channel_leads")
    )


def channel_wins(dialect: str, principal: Principal, period: Period, f: Filters) -> sa.Subquery:
    """Deals won from the period's leads (whenever they closed), with their revenue."""
    cohort = sa.select(leads.c.id).where(*_cohort_leads(principal, period, f))
    revenue = won_revenue(
        dialect, [visible(principal, Kind.deals, deals), deals.c.lead_id.in_(cohort)]
    )
    source, campaign = _with_campaign(revenue.join(leads, leads.c.id == revenue.c.lead_id))
    return (
        sa.select(
            bucket(leads.c.created_at, period.grouping, dialect).label("period_start"),
            leads.c.source.label("channel"),
            campaign,
            revenue.c.currency,
            _ONE.label("won"),
            revenue.c.cents.label("revenue"),
        )
        .select_from(source)
        .subquery("channel_wins")
    )


def campaign_costs(dialect: str, period: Period, f: Filters) -> sa.Subquery:
    """Each campaign's whole recorded cost, in the period bucket where it starts."""
    where = [campaigns.c.starts_on >= period.start, campaigns.c.starts_on < period.end]
    if f.channel is not None:
        where.append(campaigns.c.channel == f.channel)
    return (
        sa.select(
            bucket(campaigns.c.starts_on, period.grouping, dialect, is_date=True).label(
                "period_start"
            ),
            campaigns.c.channel,
            campaigns.c.name.label("campaign"),
            campaigns.c.currency,
            cents(campaigns.c.cost, dialect).label("cost"),
            flag(campaigns.c.cost.is_not(None)).label("costed"),
        )
        .where(*where)
        .subquery("campaign_costs")
    )


# ------------------------------------------------------------------ customer mix


def mix_revenue(dialect: str, principal: Principal, period: Period, f: Filters) -> sa.Subquery:
    """Won revenue by closing time, under the customer's current tier and grade."""
    closed = [
        *in_period(deals.c.closed_at, period),
        visible(principal, Kind.deals, deals),
        *owner_filters(deals.c.owner_id, f),
    ]
    revenue = won_revenue(dialect, closed)
    return (
        sa.select(
            bucket(revenue.c.closed_at, period.grouping, dialect).label("period_start"),
            effective_tier(customers).label("tier"),
            customers.c.grade,
            revenue.c.currency,
            revenue.c.cents.label("revenue"),
        )
        .select_from(revenue.outerjoin(customers, customers.c.id == revenue.c.customer_id))
        .subquery("mix_revenue")
    )


def mix_activities(dialect: str, principal: Principal, period: Period, f: Filters) -> sa.Subquery:
    """Activities with a customer, by when they happened, in the customer's currency."""
    where = [
        visible(principal, Kind.activities, activities),
        *in_period(activities.c.occurred_at, period),
        *owner_filters(activities.c.owner_id, f),
    ]
    if f.activity_kind is not None:
        where.append(activities.c.kind == f.activity_kind)
    return (
        sa.select(
            bucket(activities.c.occurred_at, period.grouping, dialect).label("period_start"),
            effective_tier(customers).label("tier"),
            customers.c.grade,
            customers.c.currency,
            _ONE.label("activities"),
        )
        .select_from(activities.join(customers, customers.c.id == activities.c.customer_id))
        .where(*where)
        .subquery("mix_activities")
    )


# ------------------------------------------------------------------ names


async def user_names(conn: AsyncConnection, ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    statement = sa.select(users.c.id, users.c.name, users.c.team_id).where(users.c.id.in_(ids))
    return {row["id"]: row for row in (await conn.execute(statement)).mappings()}


async def team_names(conn: AsyncConnection, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    statement = sa.select(teams.c.id, teams.c.name).where(teams.c.id.in_(ids))
    return {row.id: row.name for row in await conn.execute(statement)}

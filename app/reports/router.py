"""Reports for managers: funnel, sales and forecast, channel ROI, customer mix, service levels.

Shared by every report: `from` and `to` are dates; the period is `[from 00:00 UTC,
to 00:00 UTC)` (`to` exclusive), at most three years. `grouping` cuts it into UTC buckets
(`day`, ISO `week` from Monday, `month`, `quarter`, `year`; default `month`), each row
labelled by its bucket's first day, and every bucket is present, with zeros when nothing
happened. `totals` holds the same figures over the whole period, per row key. A report
covers what the caller may see: a rep's own records, a manager's team, everything for
directors and admins. Amounts are decimal strings, summed exactly per currency and never
across currencies: each record counts once, in the row of its own currency.
`Accept: text/csv` answers the rows as CSV (UTF-8 with a byte-order mark, header line).
"""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from app.core.clock import utcnow
from app.core.deps import Conn, CurrentPrincipal
from app.core.enums import ActivityKind, CustomerTier, LeadSource, TicketType
from app.core.routing import ReadsInTransactionRoute, api_router, problems
from app.reports import service
from app.reports.export import CSV_RESPONSE, accept_csv, report_response
from app.reports.periods import Grouping, Period
from app.reports.queries import Filters
from app.reports.schemas import (
    ChannelReport,
    ChannelRow,
    CustomerMixReport,
    ForecastReport,
    ForecastRow,
    FunnelReport,
    FunnelRow,
    MixRow,
    OpenTicketsReport,
    OpenTicketsRow,
    SalesBy,
    SalesReport,
    SalesRow,
    ServiceBy,
    ServiceReport,
    ServiceRow,
)

# Reports tune the planner for their own transaction (`tune_for_reports`).
router = api_router("/api/v1/reports", "reports", route_class=ReadsInTransactionRoute)

REPORT_PROBLEMS = {**problems(403), **CSV_RESPONSE}


async def report_period(
    from_: Annotated[date, Query(alias="from", description="First day (UTC), inclusive.")],
    to: Annotated[date, Query(description="Last day (UTC), exclusive; at most 3 years on.")],
    grouping: Annotated[Grouping, Query(description="Bucket size for the rows.")] = Grouping.month,
) -> Period:
    return Period.checked(from_, to, grouping)


ReportPeriod = Annotated[Period, Depends(report_period)]
AsCsv = Annotated[bool, Depends(accept_csv)]
OwnerId = Annotated[uuid.UUID | None, Query(description="Only this owner's records.")]
TeamId = Annotated[
    uuid.UUID | None, Query(description="Only records owned by this team's members.")
]
Channel = Annotated[LeadSource | None, Query(description="Only this lead source channel.")]
Product = Annotated[str | None, Query(min_length=1, max_length=200, description="Exact product.")]
Tier = Annotated[
    CustomerTier | None, Query(description="Only customers of this tier (override wins).")
]
SalesGroup = Annotated[
    SalesBy | None, Query(description="Break rows down by owner, team or product.")
]
ServiceGroup = Annotated[ServiceBy | None, Query(description="Break rows down by type or agent.")]
AgentId = Annotated[uuid.UUID | None, Query(description="Only tickets assigned to this agent.")]
Type = Annotated[TicketType | None, Query(alias="type", description="Only this ticket type.")]


async def deal_filters(
    owner_id: OwnerId = None,
    team_id: TeamId = None,
    channel: Channel = None,
    product: Product = None,
    tier: Tier = None,
) -> Filters:
    return Filters(owner_id=owner_id, team_id=team_id, channel=channel, product=product, tier=tier)


async def ticket_filters(
    team_id: TeamId = None, ticket_type: Type = None, tier: Tier = None
) -> Filters:
    return Filters(team_id=team_id, ticket_type=ticket_type, tier=tier)


DealFilters = Annotated[Filters, Depends(deal_filters)]
TicketFilters = Annotated[Filters, Depends(ticket_filters)]


@router.get("/funnel", response_model=FunnelReport, responses=REPORT_PROBLEMS)
async def get_funnel_report(
    conn: Conn,
    principal: CurrentPrincipal,
    period: ReportPeriod,
    as_csv: AsCsv,
    filters: DealFilters,
) -> Response:
    """The funnel: leads → qualified → converted → each deal stage → won.

    One row per bucket and step, with `count`, `conversion_pct` (count / the previous
    step's count in the same bucket), `drop_off` (previous - count) and, for deal stages,
    `median_days_in_stage`. No step ever counts more than the one before it: conversion
    is at most 100 % and a drop-off never negative.

    What is counted: **records**. A lead and the deal converted from it are one record; a
    deal opened without a lead is one too. A record counts at a step in a bucket if, in
    that bucket, it reached that step **or any later one** — so a deal that arrived at
    development last month and at proposal in this one counts at development, initiation
    and proposal here (and, like a deal opened without a lead, at the lead steps it
    skipped). What "reached" means, step by step:
    - `leads`: the lead was created; `qualified`: it first became qualified
      (`qualified_at`, kept when it later slipped back to nurturing or was disqualified);
      `converted`: it was converted (`converted_at`).
    - each deal stage and `won`: the deal's **first** arrival at the stage in its stage
      history. A deal that moved back and forth arrives once per stage; a deal won,
      reopened and won again was won once, where it was first won.
    The totals count each record once, at the furthest step it reached in the whole
    period, so a record active in several buckets is in several rows but once in the
    totals.

    `median_days_in_stage` is the median, over the deals that first arrived at the stage
    in the bucket, of the total time each spent in the stage across all its visits (from
    the history rows arriving at and leaving the stage); deals still in the stage are left
    out.

    Filters: `owner_id`, `team_id` (the owner's team) and `channel` (the lead's source;
    for deals, the source of the lead they were converted from) apply to every step.
    `product` and `tier` (the customer's, override winning) describe deals, so they narrow
    the deal steps only; the leads' own steps stay whole.
    """
    report = await service.funnel(conn, principal, period, filters)
    return report_response(report, FunnelRow, as_csv, "funnel")


@router.get("/sales", response_model=SalesReport, responses=REPORT_PROBLEMS)
async def get_sales_report(
    conn: Conn,
    principal: CurrentPrincipal,
    period: ReportPeriod,
    as_csv: AsCsv,
    filters: DealFilters,
    by: SalesGroup = None,
) -> Response:
    """Won and lost deals by closing date (`closed_at`), per bucket x (owner, team or
    product with `by`) x currency.

    - `won_count`, `won_amount`: deals whose stage is `won` now, closed in the bucket. A won
      deal's amount is its accepted contract's amount (the accepted quote version's total,
      so superseded versions never count), in the contract's currency; a deal won without
      an accepted contract counts at its estimated `amount` (`estimated_count`), and one
      with no amount at all adds to `unpriced_count` but not to the amount.
    - `average_deal_size` = `won_amount` / won deals with an amount, rounded half up.
    - `lost_count`: deals lost now, closed in the bucket; `win_rate_pct` = won / (won + lost).
    - `median_sales_cycle_days`: median of `closed_at - created_at` over the won deals.

    `by=owner` rows also carry the owner's current team; `by=team` groups by the owner's
    current team. A reopened deal drops out of the bucket where it had closed.
    """
    report = await service.sales(conn, principal, period, filters, by)
    return report_response(report, SalesRow, as_csv, "sales")


@router.get("/sales/forecast", response_model=ForecastReport, responses=REPORT_PROBLEMS)
async def get_forecast_report(
    conn: Conn,
    principal: CurrentPrincipal,
    period: ReportPeriod,
    as_csv: AsCsv,
    filters: DealFilters,
    by: SalesGroup = None,
) -> Response:
    """The weighted pipeline: open deals by `expected_close_date` in the period, per
    close bucket x (owner, team or product with `by`) x currency.

    `pipeline_amount` sums their estimated amounts; `weighted_amount` sums each deal's
    amount x its stage's win probability (`GET /api/v1/policy`: 10 % in development up to
    95 % in implementation), rounded per deal exactly as the deals API shows `weighted_amount`.
    Deals without an amount count in `open_count` and `unpriced_count` only. Overdue open
    deals appear under their (past) expected close date.
    """
    report = await service.forecast(conn, principal, period, filters, by)
    return report_response(report, ForecastRow, as_csv, "forecast")


@router.get("/channels", response_model=ChannelReport, responses=REPORT_PROBLEMS)
async def get_channel_report(
    conn: Conn,
    principal: CurrentPrincipal,
    period: ReportPeriod,
    as_csv: AsCsv,
    owner_id: OwnerId = None,
    team_id: TeamId = None,
    channel: Channel = None,
) -> Response:
    """Channel and campaign ROI, per bucket x source channel x campaign x currency.

    A cohort by the lead's `created_at`: of the leads created in the bucket, how many
    reached qualified and converted, how many of the deals converted from them are won (at
    any time up to now) and their revenue (as in the sales report). A lead's free-text
    `campaign` names a recorded campaign (`/api/v1/campaigns`) ignoring letter case and
    surrounding spaces, and is reported under that campaign's name; other texts are
    reported trimmed. Leads count under their own currency, revenue under its own. Every
    channel (or the one asked for) has rows, zeros included, even with no leads.

    `cost` is the recorded cost of campaigns whose `starts_on` falls in the bucket — the
    campaign's whole cost, counted once, under the campaign's own channel; null where no
    cost is recorded. `roi_pct` = (revenue - cost) / cost where both are in the row's
    currency and cost > 0. A campaign's cost is a company figure that only makes sense
    against all of its leads, so `cost` and `roi_pct` are shown only to callers who see
    every lead (directors, admins and API keys) and only without `owner_id` or `team_id`;
    they are null for everyone else. Owner and team filters apply to leads and deals.
    """
    filters = Filters(owner_id=owner_id, team_id=team_id, channel=channel)
    report = await service.channels(conn, principal, period, filters)
    return report_response(report, ChannelRow, as_csv, "channels")


@router.get("/customer-mix", response_model=CustomerMixReport, responses=REPORT_PROBLEMS)
async def get_customer_mix_report(
    conn: Conn,
    principal: CurrentPrincipal,
    period: ReportPeriod,
    as_csv: AsCsv,
    owner_id: OwnerId = None,
    team_id: TeamId = None,
    activity_kind: Annotated[
        ActivityKind | None, Query(description="Count only this kind, e.g. `visit`.")
    ] = None,
) -> Response:
    """Share of revenue and of activities by customer tier and by grade ("A customers are
    70 % of revenue but 30 % of visits").

    Rows per bucket x dimension (`tier`, `grade`) x value x currency. Revenue is the won
    revenue closed in the bucket (as in the sales report), under the customer's current
    tier (a manager's override wins) and grade; `revenue_share_pct` is of the bucket's
    revenue in the row's currency. Activities are the activities with a customer that
    `occurred_at` in the bucket, each counted once, in the row of its customer's currency;
    `activity_share_pct` is of all the bucket's activities whatever the currency, so a
    tier's share of visits is the sum of its rows. Per bucket, each dimension's revenue
    shares add up to 100 within a currency, and its activity shares to 100 across them.
    Every tier and grade (and `null` for ungraded customers) is listed.
    """
    filters = Filters(owner_id=owner_id, team_id=team_id, activity_kind=activity_kind)
    report = await service.customer_mix(conn, principal, period, filters)
    return report_response(report, MixRow, as_csv, "customer-mix")


@router.get("/service", response_model=ServiceReport, responses=REPORT_PROBLEMS)
async def get_service_report(
    conn: Conn,
    principal: CurrentPrincipal,
    period: ReportPeriod,
    as_csv: AsCsv,
    filters: TicketFilters,
    by: ServiceGroup = None,
    agent_id: AgentId = None,
) -> Response:
    """SLA attainment for first response and resolution, per bucket (x type or agent).

    A cohort by the ticket's `reported_at`, each clock's outcome as of now:
    - **met**: stopped (first public response; resolution) at or before its due time;
    - **breached**: a breach on the ticket's SLA log (final, whatever happened after), a
      stop after the due time, or still running past it; waiting on the customer pauses
      the resolution clock, so a paused ticket is not breached by its old due time;
    - **pending**: neither yet (running and not due, paused, or no target). A reopened
      ticket's resolution clock runs again: its earlier resolution no longer counts.

    `*_attainment_pct` = met / (met + breached); `breaches` adds both clocks' breaches.
    `team_id` is the assignee's team; `tier` the customer's.
    """
    report = await service.service(
        conn, principal, period, filters, by=by, agent_id=agent_id, now=utcnow()
    )
    return report_response(report, ServiceRow, as_csv, "service")


@router.get("/service/open-tickets", response_model=OpenTicketsReport, responses=REPORT_PROBLEMS)
async def get_open_tickets_report(
    conn: Conn,
    principal: CurrentPrincipal,
    as_csv: AsCsv,
    filters: TicketFilters,
    by: ServiceGroup = None,
    agent_id: AgentId = None,
) -> Response:
    """Unresolved tickets now (any status but `resolved` and `closed`) by SLA status.

    `breached` when a clock is breached on record or is overdue this instant (the SLA
    sweeper may not have recorded it yet); otherwise the ticket's stored `at_risk` or
    `on_track`. No period: this is a snapshot `as_of` the response time.
    """
    report = await service.open_tickets(
        conn, principal, filters, by=by, agent_id=agent_id, now=utcnow()
    )
    return report_response(report, OpenTicketsRow, as_csv, "open-tickets")

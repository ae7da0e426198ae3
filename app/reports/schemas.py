"""Report responses: `{"period": {...}, "rows": [...], "totals": [...]}`.

Each report's rows are one per period bucket and key (step, owner, currency...), and its
totals are the same figures over the whole period, one per key without `period_start`.
Amounts and percentages are decimal strings; amounts always come with their currency.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from app.core.enums import DealStage, LeadSource, TicketType
from app.core.schemas import Money, Percentage
from app.reports.periods import Grouping

Decimal2 = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]
Days = Annotated[Decimal2, Field(description="Days, two decimals.", examples=["3.50"])]


class FunnelStep(StrEnum):
    leads = "leads"
    qualified = "qualified"
    converted = "converted"
    development = DealStage.development.value
    initiation = DealStage.initiation.value
    proposal = DealStage.proposal.value
    bidding = DealStage.bidding.value
    negotiation = DealStage.negotiation.value
    implementation = DealStage.implementation.value
    won = DealStage.won.value


class SalesBy(StrEnum):
    owner = "owner"
    team = "team"
    product = "product"


class ServiceBy(StrEnum):
    type = "type"
    agent = "agent"


class Dated(BaseModel):
    period_start: date = Field(description="The first day of the row's period bucket (UTC).")


class ReportPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", description="First day, from 00:00 UTC.")
    to: date = Field(description="Exclusive: the period ends at 00:00 UTC of this day.")
    grouping: Grouping


# ------------------------------------------------------------------ funnel


class FunnelFigures(BaseModel):
    count: int = Field(
        description="Records (a lead with the deal converted from it, or a deal opened "
        "without a lead) that reached this step or a later one in the period."
    )
    conversion_pct: Percentage | None = Field(
        description="count / the previous step's count in the same period, 0.00 to 100.00; "
        "null for the first step or when the previous step is 0."
    )
    drop_off: int | None = Field(
        description="The previous step's count minus this one; never negative."
    )
    median_days_in_stage: Days | None = Field(
        description="Deal stages only: median total time spent in the stage by the deals "
        "that first arrived at it in the period, over those that have since left it."
    )


class FunnelKey(BaseModel):
    step: FunnelStep


class FunnelTotal(FunnelFigures, FunnelKey):
    pass


class FunnelRow(FunnelFigures, FunnelKey, Dated):
    pass


class FunnelReport(BaseModel):
    period: ReportPeriod
    rows: list[FunnelRow]
    totals: list[FunnelTotal]


# ------------------------------------------------------------------ sales


class SalesFigures(BaseModel):
    won_count: int
    won_amount: Money = Field(description="Revenue of the deals won, in `currency`.")
    average_deal_size: Money | None = Field(description="won_amount / won deals with an amount.")
    estimated_count: int = Field(
        description="Won deals counted at their estimated amount (no accepted contract)."
    )
    unpriced_count: int = Field(description="Won deals with no amount at all.")
    lost_count: int
    win_rate_pct: Percentage | None = Field(description="won / (won + lost), by closing date.")
    median_sales_cycle_days: Days | None = Field(
        description="Median days from a won deal's creation to its close."
    )


class SalesKey(BaseModel):
    owner_id: uuid.UUID | None = Field(description="With `by=owner`.")
    owner_name: str | None
    team_id: uuid.UUID | None = Field(description="With `by=owner` or `by=team`.")
    team_name: str | None
    product: str | None = Field(description="With `by=product`.")
    currency: str


class SalesTotal(SalesFigures, SalesKey):
    pass


class SalesRow(SalesFigures, SalesKey, Dated):
    pass


class SalesReport(BaseModel):
    period: ReportPeriod
    rows: list[SalesRow]
    totals: list[SalesTotal]


class ForecastFigures(BaseModel):
    open_count: int = Field(description="Open deals expected to close in the period.")
    unpriced_count: int = Field(description="Of them, deals with no amount.")
    pipeline_amount: Money
    weighted_amount: Money = Field(
        description="Sum of each deal's amount x its stage's win probability (the deals "
        "API's `weighted_amount`, rounded per deal)."
    )


class ForecastTotal(ForecastFigures, SalesKey):
    pass


class ForecastRow(ForecastFigures, SalesKey, Dated):
    """`period_start` is the expected-close period."""


class ForecastReport(BaseModel):
    period: ReportPeriod
    rows: list[ForecastRow]
    totals: list[ForecastTotal]


# ------------------------------------------------------------------ channels


class ChannelFigures(BaseModel):
    leads: int
    qualified: int
    converted: int
    won: int = Field(description="Deals converted from these leads and won (so far).")
    revenue: Money
    cost: Money | None = Field(
        description="Recorded cost of campaigns starting in the period; null where none is "
        "recorded, and for callers who do not see every lead (see the report's description)."
    )
    roi_pct: Percentage | None = Field(
        description="(revenue - cost) / cost, where `cost` is shown."
    )


class ChannelKey(BaseModel):
    channel: LeadSource
    campaign: str | None
    currency: str


class ChannelTotal(ChannelFigures, ChannelKey):
    pass


class ChannelRow(ChannelFigures, ChannelKey, Dated):
    pass


class ChannelReport(BaseModel):
    period: ReportPeriod
    rows: list[ChannelRow]
    totals: list[ChannelTotal]


# ------------------------------------------------------------------ customer mix


class MixFigures(BaseModel):
    revenue: Money
    revenue_share_pct: Percentage | None = Field(
        description="Share of the period's revenue in this currency."
    )
    activities: int
    activity_share_pct: Percentage | None = Field(
        description="Share of all the period's activities, whatever their currency."
    )


class MixKey(BaseModel):
    dimension: Literal["tier", "grade"]
    value: str | None = Field(description="The tier or grade; null for customers without one.")
    currency: str


class MixTotal(MixFigures, MixKey):
    pass


class MixRow(MixFigures, MixKey, Dated):
    pass


class CustomerMixReport(BaseModel):
    period: ReportPeriod
    rows: list[MixRow]
    totals: list[MixTotal]


# ------------------------------------------------------------------ service


class ServiceFigures(BaseModel):
    tickets: int = Field(description="Tickets reported in the period.")
    response_met: int
    response_breached: int
    response_pending: int = Field(description="No outcome yet: clock running or no target.")
    response_attainment_pct: Percentage | None = Field(description="met / (met + breached).")
    resolution_met: int
    resolution_breached: int
    resolution_pending: int
    resolution_attainment_pct: Percentage | None
    breaches: int = Field(description="response_breached + resolution_breached.")


class ServiceKey(BaseModel):
    type: TicketType | None = Field(description="With `by=type`.")
    agent_id: uuid.UUID | None = Field(description="With `by=agent`: the assignee.")
    agent_name: str | None


class ServiceTotal(ServiceFigures, ServiceKey):
    pass


class ServiceRow(ServiceFigures, ServiceKey, Dated):
    pass


class ServiceReport(BaseModel):
    period: ReportPeriod
    rows: list[ServiceRow]
    totals: list[ServiceTotal]


class OpenTicketsRow(ServiceKey):
    open: int
    on_track: int
    at_risk: int
    breached: int


class OpenTicketsReport(BaseModel):
    as_of: datetime
    rows: list[OpenTicketsRow]
    totals: list[OpenTicketsRow]

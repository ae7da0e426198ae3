from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field

from app.core.enums import LeadSource
from app.core.types import Enum, Money
from app.models.base import Versioned, pk, uuid


class Campaign(Versioned, table=True):
    """A marketing campaign: what leads name in `campaign`, with what it cost (channel ROI)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        sa.Index("ix_campaigns_created_at_id", "created_at", "id"),
        sa.Index("ix_campaigns_starts_on_id", "starts_on", "id"),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period_ordered"),
    )

    id: uuid.UUID = pk()
    # Leads name their campaign in free text of this length; the names must match.
    name: str = Field(max_length=120, unique=True)
    channel: LeadSource = Field(sa_type=Enum(LeadSource, "campaign_channel"), nullable=False)
    cost: Decimal | None = Field(default=None, sa_type=Money())
    currency: str = Field(default="CNY", max_length=3)
    starts_on: date
    ends_on: date | None = None
    description: str | None = Field(default=None, max_length=2000)

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.enums import DealStage, LostReason
from app.core.types import Enum, Money, UtcDateTime
from app.models.base import Versioned, fk, instant, pk


class Deal(Versioned, table=True):
    __tablename__ = "deals"
    __table_args__ = (
        sa.Index("ix_deals_created_at_id", "created_at", "id"),
        sa.Index("ix_deals_updated_at_id", "updated_at", "id"),
        sa.Index("ix_deals_owner_id_created_at_id", "owner_id", "created_at", "id"),
        sa.Index("ix_deals_customer_id_created_at_id", "customer_id", "created_at", "id"),
        sa.Index("ix_deals_stage_created_at_id", "stage", "created_at", "id"),
        sa.Index("ix_deals_expected_close_date", "expected_close_date"),
        sa.Index("ix_deals_stage_changed_at_id", "stage_changed_at", "id"),
        # Reports: won and lost deals by closing time.
        sa.Index("ix_deals_stage_closed_at", "stage", "closed_at"),
        # A team's won deals in a period: one range per member (funnel, sales).
        sa.Index("ix_deals_owner_id_closed_at", "owner_id", "closed_at"),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="amount_not_negative"),
    )

    id: uuid.UUID = pk()
    name: str = Field(max_length=200)
    customer_id: uuid.UUID | None = fk("customers.id", nullable=True)
    owner_id: uuid.UUID | None = fk("users.id", nullable=True)
    # Visible to (and changeable by) the owner's whole team, not only the owner and managers.
    shared_with_team: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    lead_id: uuid.UUID | None = fk("leads.id", nullable=True, index=True)
    stage: DealStage = Field(
        default=DealStage.development, sa_type=Enum(DealStage, "deal_stage"), nullable=False
    )
    amount: Decimal | None = Field(default=None, sa_type=Money())
    currency: str = Field(default="CNY", max_length=3)
    expected_close_date: date | None = None
    need_description: str | None = Field(default=None, max_length=4000)
    product: str | None = Field(default=None, max_length=200)
    presales_approved_at: datetime | None = instant()
    presales_approved_by: uuid.UUID | None = fk("users.id", nullable=True)
    bid_submitted_at: datetime | None = instant()
    bid_amount: Decimal | None = Field(default=None, sa_type=Money())
    lost_reason: LostReason | None = Field(
        default=None, sa_type=Enum(LostReason, "deal_lost_reason")
    )
    lost_reason_text: str | None = Field(default=None, max_length=2000)
    closed_at: datetime | None = instant()
    closed_from_stage: DealStage | None = Field(
        default=None, sa_type=Enum(DealStage, "deal_closed_from_stage")
    )
    stage_changed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


class DealStageChange(SQLModel, table=True):
    """One row per stage transition: the funnel, time-in-stage and slippage source."""

    __tablename__ = "deal_stage_history"
    __table_args__ = (
        sa.Index("ix_deal_stage_history_deal_id_changed_at", "deal_id", "changed_at"),
        sa.Index("ix_deal_stage_history_to_stage_changed_at", "to_stage", "changed_at"),
    )

    id: uuid.UUID = pk()
    deal_id: uuid.UUID = fk("deals.id", ondelete="CASCADE")
    from_stage: DealStage | None = Field(
        default=None, sa_type=Enum(DealStage, "deal_history_from_stage")
    )
    to_stage: DealStage = Field(sa_type=Enum(DealStage, "deal_history_to_stage"), nullable=False)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    changed_by: uuid.UUID | None = fk("users.id", nullable=True)
    reason: str | None = Field(default=None, max_length=2000)
    amount: Decimal | None = Field(default=None, sa_type=Money())
    currency: str = Field(default="CNY", max_length=3)
    expected_close_date: date | None = None


class DealStageStay(SQLModel, table=True):
    """One row per deal and stage it ever reached: when it first arrived, the time spent
    in the stage over its finished visits, and the start of the visit under way.

    Kept in step with `deal_stage_history` by every stage move (`app.deals.stays`), so the
    funnel reads one row per step a deal really reached, found by owner and arrival time,
    instead of re-deriving first arrivals and visit spans from the whole history.
    """

    __tablename__ = "deal_stage_stays"
    __table_args__ = (
        # Covering: a team's funnel is an index-only range per member.
        sa.Index(
            "ix_deal_stage_stays_owner_id_first_arrived_at",
            "owner_id",
            "first_arrived_at",
            postgresql_include=["stage", "arrived_at", "seconds_in_stage"],
        ),
        sa.Index("ix_deal_stage_stays_first_arrived_at", "first_arrived_at"),
        sa.CheckConstraint("visits >= 1", name="visits_positive"),
        sa.CheckConstraint("seconds_in_stage >= 0", name="seconds_not_negative"),
    )

    deal_id: uuid.UUID = Field(foreign_key="deals.id", primary_key=True, ondelete="CASCADE")
    stage: DealStage = Field(sa_type=Enum(DealStage, "deal_stay_stage"), primary_key=True)
    # The deal's owner, mirrored so a team's funnel is an index range per member.
    owner_id: uuid.UUID | None = fk("users.id", nullable=True)
    first_arrived_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    # Start of the current visit; NULL once the deal has left the stage.
    arrived_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    seconds_in_stage: float = Field(default=0.0, sa_type=sa.Float, nullable=False)
    visits: int = Field(default=1, nullable=False)

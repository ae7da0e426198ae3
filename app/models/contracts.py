import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field

from app.core.enums import (
    AcceptanceKind,
    ChangeRequestStatus,
    ContractStatus,
    DeliveryStatus,
    MilestoneAnchor,
    MilestoneKind,
)
from app.core.types import Enum, Money, Percent
from app.models.base import Timestamps, Versioned, fk, instant, pk


class Contract(Versioned, table=True):
    __tablename__ = "contracts"
    __table_args__ = (
        sa.Index("ix_contracts_created_at_id", "created_at", "id"),
        sa.Index("ix_contracts_updated_at_id", "updated_at", "id"),
        sa.Index("ix_contracts_owner_id_created_at_id", "owner_id", "created_at", "id"),
        sa.Index("ix_contracts_customer_id_created_at_id", "customer_id", "created_at", "id"),
        sa.Index("ix_contracts_status_created_at_id", "status", "created_at", "id"),
        sa.Index("ix_contracts_end_date", "end_date"),
        sa.UniqueConstraint("quote_version_id", name="uq_contracts_quote_version_id"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: uuid.UUID = pk()
    title: str = Field(max_length=200)
    quote_id: uuid.UUID = fk("quotes.id")
    quote_version_id: uuid.UUID = fk("quote_versions.id")
    deal_id: uuid.UUID = fk("deals.id", index=True)
    customer_id: uuid.UUID | None = fk("customers.id", nullable=True)
    owner_id: uuid.UUID | None = fk("users.id", nullable=True)
    status: ContractStatus = Field(
        default=ContractStatus.draft,
        sa_type=Enum(ContractStatus, "contract_status"),
        nullable=False,
    )
    amount: Decimal = Field(sa_type=Money(), nullable=False)
    currency: str = Field(default="CNY", max_length=3)
    start_date: date | None = None
    end_date: date | None = None
    planned_delivery_date: date | None = None
    submitted_for_review_at: datetime | None = instant()
    approved_at: datetime | None = instant()
    approved_by: uuid.UUID | None = fk("users.id", nullable=True)
    signed_at: datetime | None = instant()
    delivered_at: datetime | None = instant()
    accepted_at: datetime | None = instant()
    acceptance_kind: AcceptanceKind | None = Field(
        default=None, sa_type=Enum(AcceptanceKind, "contract_acceptance_kind")
    )
    closed_at: datetime | None = instant()
    terminated_at: datetime | None = instant()
    termination_reason: str | None = Field(default=None, max_length=2000)


class PaymentMilestone(Versioned, table=True):
    __tablename__ = "payment_milestones"
    __table_args__ = (
        sa.UniqueConstraint(
            "contract_id", "position", name="uq_payment_milestones_contract_position"
        ),
        sa.Index("ix_payment_milestones_due_date_unpaid", "due_date", "paid_at"),
        sa.CheckConstraint("percent > 0 AND percent <= 100", name="percent_in_range"),
        sa.CheckConstraint("days_after >= 0", name="days_after_not_negative"),
    )

    id: uuid.UUID = pk()
    contract_id: uuid.UUID = fk("contracts.id", ondelete="CASCADE", index=True)
    position: int = Field(ge=1)
    kind: MilestoneKind = Field(sa_type=Enum(MilestoneKind, "milestone_kind"), nullable=False)
    label: str | None = Field(default=None, max_length=200)
    percent: Decimal = Field(sa_type=Percent(), nullable=False)
    amount: Decimal = Field(sa_type=Money(), nullable=False)
    anchor: MilestoneAnchor = Field(
        sa_type=Enum(MilestoneAnchor, "milestone_anchor"), nullable=False
    )
    days_after: int = Field(default=0)
    due_date: date | None = None
    paid_at: datetime | None = instant()
    paid_amount: Decimal | None = Field(default=None, sa_type=Money())


class Delivery(Versioned, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_status_arrived_at", "status", "arrived_at"),)

    id: uuid.UUID = pk()
    contract_id: uuid.UUID = fk("contracts.id", ondelete="CASCADE", index=True)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.scheduled,
        sa_type=Enum(DeliveryStatus, "delivery_status"),
        nullable=False,
    )
    planned_date: date | None = None
    description: str | None = Field(default=None, max_length=2000)
    shipped_at: datetime | None = instant()
    arrived_at: datetime | None = instant()
    installed_at: datetime | None = instant()
    accepted_at: datetime | None = instant()
    acceptance_kind: AcceptanceKind | None = Field(
        default=None, sa_type=Enum(AcceptanceKind, "delivery_acceptance_kind")
    )


class ContractChangeRequest(Timestamps, table=True):
    __tablename__ = "contract_change_requests"
    __table_args__ = (sa.CheckConstraint("extra_fee >= 0", name="extra_fee_not_negative"),)

    id: uuid.UUID = pk()
    contract_id: uuid.UUID = fk("contracts.id", ondelete="CASCADE", index=True)
    description: str = Field(max_length=4000)
    extra_fee: Decimal = Field(sa_type=Money(), nullable=False)
    status: ChangeRequestStatus = Field(
        default=ChangeRequestStatus.pending,
        sa_type=Enum(ChangeRequestStatus, "change_request_status"),
        nullable=False,
    )
    requested_by: uuid.UUID | None = fk("users.id", nullable=True)
    decided_by: uuid.UUID | None = fk("users.id", nullable=True)
    decided_at: datetime | None = instant()

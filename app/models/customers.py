import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.core.enums import (
    ActivityKind,
    CustomerGrade,
    CustomerTier,
    DecisionRole,
    LifecycleStage,
)
from app.core.types import Enum, Json, Money
from app.models.base import Versioned, fk, instant, pk


class Customer(Versioned, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        sa.Index("ix_customers_created_at_id", "created_at", "id"),
        sa.Index("ix_customers_updated_at_id", "updated_at", "id"),
        sa.Index("ix_customers_name_id", "name", "id"),
        sa.Index("ix_customers_owner_id_created_at_id", "owner_id", "created_at", "id"),
        sa.Index("ix_customers_tier_created_at_id", "tier", "created_at", "id"),
        # Name-prefix search (`q`); PostgreSQL gets text_pattern_ops in the migration so
        # LIKE 'abc%' uses it under any collation.
        sa.Index("ix_customers_name_lower", sa.text("lower(name)")),
        sa.Index("ix_customers_last_contact_at", "last_contact_at"),
        sa.Index("ix_customers_last_purchase_at", "last_purchase_at"),
    )

    id: uuid.UUID = pk()
    name: str = Field(max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    company_size: str | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=100)
    annual_revenue: Decimal | None = Field(default=None, sa_type=Money())
    currency: str = Field(default="CNY", max_length=3)
    tags: list[str] = Field(default_factory=list, sa_type=Json(), nullable=False)
    owner_id: uuid.UUID | None = fk("users.id", nullable=True)
    # Visible to (and changeable by) the owner's whole team, not only the owner and managers.
    shared_with_team: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    tier: CustomerTier = Field(
        default=CustomerTier.potential, sa_type=Enum(CustomerTier, "customer_tier"), nullable=False
    )
    tier_reason: str | None = Field(default=None, max_length=200)
    # What the data alone says, kept beside a manager's override (`tier` is the one acted on).
    computed_tier: CustomerTier | None = Field(
        default=None, sa_type=Enum(CustomerTier, "customer_computed_tier")
    )
    computed_tier_reason: str | None = Field(default=None, max_length=200)
    tier_computed_at: datetime | None = instant()
    tier_override: CustomerTier | None = Field(
        default=None, sa_type=Enum(CustomerTier, "customer_tier_override")
    )
    tier_override_reason: str | None = Field(default=None, max_length=500)
    tier_override_by: uuid.UUID | None = fk("users.id", nullable=True)
    tier_override_at: datetime | None = instant()
    grade: CustomerGrade | None = Field(
        default=None, sa_type=Enum(CustomerGrade, "customer_grade"), index=True
    )
    need_intensity: str | None = Field(default=None, max_length=10)
    purchasing_power: str | None = Field(default=None, max_length=10)
    lifecycle_stage: LifecycleStage = Field(
        default=LifecycleStage.prospect,
        sa_type=Enum(LifecycleStage, "customer_lifecycle_stage"),
        nullable=False,
        index=True,
    )
    marked_lost_at: datetime | None = instant()
    marked_lost_reason: str | None = Field(default=None, max_length=500)
    marked_lost_by: uuid.UUID | None = fk("users.id", nullable=True)
    last_contact_at: datetime | None = instant()
    last_purchase_at: datetime | None = instant()
    archived_at: datetime | None = instant()


class Contact(Versioned, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        sa.Index("ix_contacts_customer_id_created_at_id", "customer_id", "created_at", "id"),
        sa.Index("ix_contacts_customer_id_name_id", "customer_id", "name", "id"),
        sa.Index("ix_contacts_covering_rep_id", "covering_rep_id"),
        sa.Index("ix_contacts_email_normalized", "email_normalized"),
        sa.Index("ix_contacts_phone_normalized", "phone_normalized"),
    )

    id: uuid.UUID = pk()
    customer_id: uuid.UUID = fk("customers.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    title: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    email_normalized: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=50)
    phone_normalized: str | None = Field(default=None, max_length=50)
    decision_role: DecisionRole = Field(
        default=DecisionRole.user,
        sa_type=Enum(DecisionRole, "contact_decision_role"),
        nullable=False,
    )
    covering_rep_id: uuid.UUID | None = fk("users.id", nullable=True)
    preferences: str | None = Field(default=None, max_length=2000)
    birthday: date | None = None
    archived_at: datetime | None = instant()


class Activity(Versioned, table=True):
    __tablename__ = "activities"
    __table_args__ = (
        sa.Index("ix_activities_created_at_id", "created_at", "id"),
        sa.Index("ix_activities_kind_occurred_at_id", "kind", "occurred_at", "id"),
        sa.Index("ix_activities_customer_id_occurred_at_id", "customer_id", "occurred_at", "id"),
        sa.Index("ix_activities_owner_id_occurred_at_id", "owner_id", "occurred_at", "id"),
        sa.Index("ix_activities_deal_id_occurred_at", "deal_id", "occurred_at"),
        sa.Index("ix_activities_lead_id_occurred_at", "lead_id", "occurred_at"),
        sa.Index("ix_activities_contact_id", "contact_id"),
        # Reports: activities by when they happened.
        sa.Index("ix_activities_occurred_at_id", "occurred_at", "id"),
    )

    id: uuid.UUID = pk()
    kind: ActivityKind = Field(sa_type=Enum(ActivityKind, "activity_kind"), nullable=False)
    occurred_at: datetime = instant(nullable=False)
    owner_id: uuid.UUID | None = fk("users.id", nullable=True)
    customer_id: uuid.UUID | None = fk("customers.id", nullable=True)
    contact_id: uuid.UUID | None = fk("contacts.id", nullable=True)
    deal_id: uuid.UUID | None = fk("deals.id", nullable=True)
    lead_id: uuid.UUID | None = fk("leads.id", nullable=True)
    summary: str = Field(max_length=4000)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=Json(), nullable=False)

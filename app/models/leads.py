import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.core.enums import LeadGrade, LeadSource, LeadStatus
from app.core.types import Enum, Json, Money
from app.models.base import Versioned, fk, instant, pk


class Lead(Versioned, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        sa.Index("ix_leads_created_at_id", "created_at", "id"),
        sa.Index("ix_leads_updated_at_id", "updated_at", "id"),
        sa.Index("ix_leads_owner_id_created_at_id", "owner_id", "created_at", "id"),
        sa.Index("ix_leads_status_created_at_id", "status", "created_at", "id"),
        sa.Index("ix_leads_source_created_at", "source", "created_at"),
        sa.Index("ix_leads_campaign", "campaign"),
        sa.Index("ix_leads_email_normalized", "email_normalized"),
        sa.Index("ix_leads_phone_normalized", "phone_normalized"),
        sa.Index("ix_leads_next_touch_at", "next_touch_at"),
        # The funnel finds a period's qualifications and conversions by these instants.
        sa.Index("ix_leads_qualified_at", "qualified_at"),
        sa.Index("ix_leads_converted_at", "converted_at"),
    )

    id: uuid.UUID = pk()
    status: LeadStatus = Field(
        default=LeadStatus.new, sa_type=Enum(LeadStatus, "lead_status"), nullable=False
    )
    source: LeadSource = Field(sa_type=Enum(LeadSource, "lead_source"), nullable=False)
    source_detail: str | None = Field(default=None, max_length=500)
    campaign: str | None = Field(default=None, max_length=120)
    referrer_customer_id: uuid.UUID | None = fk("customers.id", nullable=True, index=True)
    owner_id: uuid.UUID | None = fk("users.id", nullable=True)
    # The user who captured it: they keep read access when routing gives it to someone else.
    created_by: uuid.UUID | None = fk("users.id", nullable=True)
    # Visible to (and changeable by) the owner's whole team, not only the owner and managers.
    shared_with_team: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    company_name: str = Field(max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_title: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    email_normalized: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=50)
    phone_normalized: str | None = Field(default=None, max_length=50)
    industry: str | None = Field(default=None, max_length=100)
    budget_confirmed: bool = Field(default=False, nullable=False)
    budget_amount: Decimal | None = Field(default=None, sa_type=Money())
    currency: str = Field(default="CNY", max_length=3)
    authority_confirmed: bool = Field(default=False, nullable=False)
    need_confirmed: bool = Field(default=False, nullable=False)
    need_description: str | None = Field(default=None, max_length=4000)
    expected_purchase_date: date | None = None
    decision_maker_count: int | None = Field(default=None, ge=0)
    qualification_evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=Json(), nullable=False
    )
    score: int | None = None
    grade: LeadGrade | None = Field(default=None, sa_type=Enum(LeadGrade, "lead_grade"), index=True)
    next_touch_at: datetime | None = instant()
    # When the lead first reached qualified (the funnel counts it even if it later slipped).
    qualified_at: datetime | None = instant()
    disqualified_reason: str | None = Field(default=None, max_length=500)
    duplicate_of: list[dict[str, Any]] = Field(default_factory=list, sa_type=Json(), nullable=False)
    converted_at: datetime | None = instant()
    converted_customer_id: uuid.UUID | None = fk("customers.id", nullable=True)
    converted_contact_id: uuid.UUID | None = fk("contacts.id", nullable=True)
    # use_alter: deals also point back at their lead, so one side of the cycle is added last.
    converted_deal_id: uuid.UUID | None = Field(
        default=None,
        sa_column_args=[
            sa.ForeignKey("deals.id", use_alter=True, name="fk_leads_converted_deal_id_deals")
        ],
    )

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.enums import QuoteStatus
from app.core.types import Enum, Money, Percent
from app.models.base import Timestamps, Versioned, fk, instant, pk


class Quote(Versioned, table=True):
    """A deal's quote. Its content lives in immutable-once-submitted versions."""

    __tablename__ = "quotes"
    __table_args__ = (
        sa.Index("ix_quotes_created_at_id", "created_at", "id"),
        sa.Index("ix_quotes_updated_at_id", "updated_at", "id"),
        sa.Index("ix_quotes_owner_id_created_at_id", "owner_id", "created_at", "id"),
        sa.Index("ix_quotes_deal_id_created_at_id", "deal_id", "created_at", "id"),
        sa.Index("ix_quotes_status_created_at_id", "status", "created_at", "id"),
    )

    id: uuid.UUID = pk()
    deal_id: uuid.UUID = fk("deals.id")
    customer_id: uuid.UUID | None = fk("customers.id", nullable=True, index=True)
    owner_id: uuid.UUID | None = fk("users.id", nullable=True)
    title: str = Field(max_length=200)
    status: QuoteStatus = Field(
        default=QuoteStatus.draft, sa_type=Enum(QuoteStatus, "quote_status"), nullable=False
    )
    current_version_no: int = Field(default=1, nullable=False)
    copied_from_id: uuid.UUID | None = fk("quotes.id", nullable=True)


class QuoteVersion(Timestamps, table=True):
    """One version of a quote: lines, terms and service-computed totals.

    Editable only while `draft`; once submitted it never changes again — an edit makes
    the next version and this one becomes `superseded`.
    """

    __tablename__ = "quote_versions"
    __table_args__ = (
        sa.UniqueConstraint("quote_id", "number", name="uq_quote_versions_quote_id_number"),
        sa.Index("ix_quote_versions_status_submitted_at", "status", "submitted_at"),
    )

    id: uuid.UUID = pk()
    quote_id: uuid.UUID = fk("quotes.id", ondelete="CASCADE")
    number: int = Field(ge=1)
    status: QuoteStatus = Field(
        default=QuoteStatus.draft, sa_type=Enum(QuoteStatus, "quote_version_status"), nullable=False
    )
    currency: str = Field(default="CNY", max_length=3)
    valid_until: date
    terms: str | None = Field(default=None, max_length=8000)
    header_discount_pct: Decimal = Field(default=Decimal(0), sa_type=Percent(), nullable=False)
    policy_discount_pct: Decimal = Field(default=Decimal(0), sa_type=Percent(), nullable=False)
    policy_discount_reason: str | None = Field(default=None, max_length=200)
    list_total: Decimal = Field(default=Decimal(0), sa_type=Money(), nullable=False)
    subtotal: Decimal = Field(default=Decimal(0), sa_type=Money(), nullable=False)
    total: Decimal = Field(default=Decimal(0), sa_type=Money(), nullable=False)
    effective_discount_pct: Decimal = Field(default=Decimal(0), sa_type=Percent(), nullable=False)
    fingerprint: str = Field(max_length=64)
    submitted_at: datetime | None = instant()
    submitted_by: uuid.UUID | None = fk("users.id", nullable=True)
    required_approver_role: str | None = Field(default=None, max_length=32)
    approved_at: datetime | None = instant()
    approved_by: uuid.UUID | None = fk("users.id", nullable=True)
    approved_fingerprint: str | None = Field(default=None, max_length=64)
    rejected_at: datetime | None = instant()
    rejected_by: uuid.UUID | None = fk("users.id", nullable=True)
    rejection_reason: str | None = Field(default=None, max_length=2000)
    sent_at: datetime | None = instant()
    accepted_at: datetime | None = instant()
    expired_at: datetime | None = instant()
    superseded_at: datetime | None = instant()


class QuoteLineItem(SQLModel, table=True):
    __tablename__ = "quote_line_items"
    __table_args__ = (
        sa.UniqueConstraint(
            "quote_version_id", "position", name="uq_quote_line_items_version_position"
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_list_price >= 0", name="unit_list_price_not_negative"),
        sa.CheckConstraint(
            "line_discount_pct >= 0 AND line_discount_pct <= 100", name="line_discount_in_range"
        ),
    )

    id: uuid.UUID = pk()
    quote_version_id: uuid.UUID = fk("quote_versions.id", ondelete="CASCADE", index=True)
    position: int = Field(ge=1)
    sku: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    quantity: Decimal = Field(sa_type=sa.Numeric(14, 3, asdecimal=True), nullable=False)
    unit_list_price: Decimal = Field(sa_type=Money(), nullable=False)
    line_discount_pct: Decimal = Field(default=Decimal(0), sa_type=Percent(), nullable=False)
    line_list_total: Decimal = Field(sa_type=Money(), nullable=False)
    line_net_total: Decimal = Field(sa_type=Money(), nullable=False)

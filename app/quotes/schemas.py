import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from app.core.enums import QuoteStatus
from app.core.schemas import (
    Currency,
    InputModel,
    Money,
    Name,
    PatchModel,
    Percent,
    Percentage,
    ReadModel,
)

Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Terms = Annotated[str, StringConstraints(max_length=8000)]
Quantity = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=3, examples=["12"]),
]
RenewalYears = Annotated[
    int,
    Field(
        ge=1,
        le=10,
        description="Contract length of a multi-year renewal; sets the policy discount "
        "(2 years 10 %, 3 years 15 %), which needs no approval. Only for a renewal: the "
        "customer must hold a signed, not terminated contract from another deal (422 "
        "`quote.renewal_not_eligible` otherwise).",
    ),
]

_STATE_ACTIONS = "POST /api/v1/quotes/{id}/submit|approve|reject|send|accept|expire"


class QuoteLineInput(InputModel):
    """One line: what is sold and at what list price and line discount. Totals are computed."""

    sku: Sku
    description: str | None = Field(default=None, max_length=2000)
    quantity: Quantity
    unit_list_price: Money
    line_discount_pct: Percent = Decimal(0)


Lines = Annotated[list[QuoteLineInput], Field(min_length=1, max_length=200)]


class QuoteCreate(InputModel):
    deal_id: uuid.UUID = Field(description="An open deal you can see; the quote belongs to it.")
    title: Name
    currency: Currency | None = Field(default=None, description="Defaults to the deal's currency.")
    valid_until: date | None = Field(
        default=None, description="Last day the offer holds; defaults to 30 days from today."
    )
    terms: Terms | None = None
    header_discount_pct: Percent = Decimal(0)
    renewal_years: RenewalYears | None = None
    lines: Lines


class QuoteUpdate(PatchModel):
    """Edit a quote. A draft is edited in place; a submitted version is never changed —
    the edit becomes the next version, in draft, and any approval must be sought again."""

    state_actions: ClassVar[dict[str, str]] = {
        "status": _STATE_ACTIONS,
        "current_version_no": "PATCH with new content (it makes the next version)",
    }
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"title", "currency", "valid_until", "header_discount_pct", "lines"}
    )

    title: Name | None = None
    terms: Terms | None = None
    valid_until: date | None = None
    header_discount_pct: Percent | None = None
    renewal_years: RenewalYears | None = Field(
        default=None, description="null removes the renewal policy discount."
    )
    currency: Currency | None = None
    lines: Lines | None = Field(default=None, description="Replaces every line.")


class QuoteRejection(InputModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class QuoteCopy(InputModel):
    title: Name | None = Field(default=None, description="Defaults to the original's title.")


class QuoteLineRead(ReadModel):
    id: uuid.UUID
    position: int
    sku: str
    description: str | None
    quantity: Decimal
    unit_list_price: Decimal
    line_discount_pct: Percentage
    line_list_total: Decimal
    line_net_total: Decimal


class QuoteVersionRead(ReadModel):
    id: uuid.UUID
    quote_id: uuid.UUID
    number: int
    status: QuoteStatus
    currency: str
    valid_until: date
    terms: str | None
    header_discount_pct: Percentage
    policy_discount_pct: Percentage = Field(
        description="Outside discount authority; never approved."
    )
    policy_discount_reason: str | None
    list_total: Decimal
    subtotal: Decimal = Field(description="After line discounts.")
    total: Decimal = Field(description="After line, header and policy discounts.")
    effective_discount_pct: Percentage = Field(
        description="Line and header discounts against list price: what authority is judged on."
    )
    fingerprint: str = Field(description="SHA-256 of the priced content an approval covers.")
    submitted_at: datetime | None
    submitted_by: uuid.UUID | None
    required_approver_role: str | None
    approved_at: datetime | None
    approved_by: uuid.UUID | None = Field(
        description="null on an approved version means it was within its author's authority."
    )
    approved_fingerprint: str | None
    rejected_at: datetime | None
    rejected_by: uuid.UUID | None
    rejection_reason: str | None
    sent_at: datetime | None
    accepted_at: datetime | None
    expired_at: datetime | None
    superseded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class QuoteVersionDetail(QuoteVersionRead):
    lines: list[QuoteLineRead]


class QuoteRead(ReadModel):
    id: uuid.UUID
    deal_id: uuid.UUID
    customer_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    title: str
    status: QuoteStatus = Field(description="The current version's status.")
    current_version_no: int
    copied_from_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class QuoteListItem(QuoteRead):
    current_version: QuoteVersionRead


class QuoteDetail(QuoteRead):
    current_version: QuoteVersionDetail


class ApprovalRead(ReadModel):
    """A quote version waiting for an approver whose authority covers its discount."""

    quote_id: uuid.UUID
    quote_version_id: uuid.UUID
    version_number: int
    title: str
    deal_id: uuid.UUID
    customer_id: uuid.UUID | None
    customer_name: str | None
    green_channel: bool = Field(description="A strategic customer's quote: it goes first.")
    owner_id: uuid.UUID | None
    submitted_by: uuid.UUID | None
    submitted_at: datetime
    required_approver_role: str
    effective_discount_pct: Percentage
    total: Decimal
    currency: str
    valid_until: date
    version: int = Field(description="The quote's version as you see it in this queue.")
    etag: str = Field(
        description="Send it as `If-Match` to approve or reject: the approval is then of "
        "exactly this version (412 if the quote changed since).",
        examples=['"3"'],
    )

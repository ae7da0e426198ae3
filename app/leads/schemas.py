import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from app.core.enums import DecisionRole, LeadGrade, LeadSource, LeadStatus, Seniority
from app.core.schemas import (
    AwareDatetime,
    Currency,
    Email,
    InputModel,
    Money,
    Name,
    PatchModel,
    Phone,
    ReadModel,
    Text,
)
from app.customers.schemas import SHARE_DESCRIPTION, ContactRead, CustomerRead
from app.deals.schemas import DealRead

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
DecisionMakerCount = Annotated[int, Field(ge=0, le=1000)]

_QUALIFY = "POST /api/v1/leads/{id}/qualify"
_STATUS = "POST /api/v1/leads/{id}/status"
_CONVERT = "POST /api/v1/leads/{id}/convert"


class LeadCreate(InputModel):
    source: LeadSource
    source_detail: str | None = Field(default=None, max_length=500)
    campaign: str | None = Field(default=None, max_length=120)
    referrer_customer_id: uuid.UUID | None = Field(
        default=None, description="The referring customer; required when `source` is `referral`."
    )
    owner_id: uuid.UUID | None = Field(
        default=None, description="Who works the lead; omit it to route the lead automatically."
    )
    shared_with_team: bool = Field(default=False, description=SHARE_DESCRIPTION)
    company_name: Name
    contact_name: Name | None = None
    contact_title: str | None = Field(default=None, max_length=200)
    email: Email | None = None
    phone: Phone | None = None
    industry: str | None = Field(default=None, max_length=100)
    budget_confirmed: bool = False
    budget_amount: Money | None = None
    currency: Currency = "CNY"
    authority_confirmed: bool = False
    need_confirmed: bool = False
    need_description: Text | None = None
    expected_purchase_date: date | None = None
    decision_maker_count: DecisionMakerCount | None = None
    allow_duplicate: bool = Field(
        default=False,
        description="Create the lead even if its email or phone matches an open lead or a "
        "contact; the matches are kept in `duplicate_of`.",
    )


class LeadUpdate(PatchModel):
    state_actions: ClassVar[dict[str, str]] = {
        "status": f"{_STATUS} (or {_CONVERT})",
        "disqualified_reason": _STATUS,
        "next_touch_at": _STATUS,
        "qualified_at": _STATUS,
        **{
            name: _QUALIFY
            for name in (
                "score",
                "grade",
                "budget_confirmed",
                "budget_amount",
                "authority_confirmed",
                "need_confirmed",
                "need_description",
                "expected_purchase_date",
                "industry",
                "decision_maker_count",
                "qualification_evidence",
            )
        },
        **{
            name: _CONVERT
            for name in (
                "converted_at",
                "converted_customer_id",
                "converted_contact_id",
                "converted_deal_id",
            )
        },
    }
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"source", "company_name", "currency", "shared_with_team"}
    )

    source: LeadSource | None = None
    source_detail: str | None = Field(default=None, max_length=500)
    campaign: str | None = Field(default=None, max_length=120)
    referrer_customer_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    shared_with_team: bool | None = Field(default=None, description=SHARE_DESCRIPTION)
    company_name: Name | None = None
    contact_name: Name | None = None
    contact_title: str | None = Field(default=None, max_length=200)
    email: Email | None = None
    phone: Phone | None = None
    currency: Currency | None = None
    allow_duplicate: bool = Field(
        default=False,
        description="Save a new email or phone even if it matches an open lead or a contact; "
        "the matches are kept in `duplicate_of`.",
    )


class EvidenceCreate(InputModel):
    who: Name = Field(description="Who confirmed it, e.g. the customer's CFO.")
    what: Text = Field(min_length=1, description="What was confirmed.")
    when: AwareDatetime = Field(description="When it was confirmed.")


class LeadQualify(PatchModel):
    """BANT facts learnt about the lead; fields left out keep their current value."""

    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"budget_confirmed", "authority_confirmed", "need_confirmed"}
    )

    budget_confirmed: bool | None = None
    budget_amount: Money | None = None
    authority_confirmed: bool | None = None
    need_confirmed: bool | None = None
    need_description: Text | None = None
    expected_purchase_date: date | None = None
    industry: str | None = Field(default=None, max_length=100)
    decision_maker_count: DecisionMakerCount | None = None
    evidence: list[EvidenceCreate] = Field(default_factory=list, max_length=50)


class LeadStatusChange(InputModel):
    status: LeadStatus = Field(
        description="The status to move to; `converted` is the convert action."
    )
    reason: ShortText | None = Field(
        default=None,
        description="Required for `disqualified`; kept in the audit trail for every move.",
    )


class LeadConvert(InputModel):
    customer_id: uuid.UUID | None = Field(
        default=None,
        description="Attach to this existing customer instead of creating one from the lead.",
    )
    decision_role: DecisionRole = Field(
        default=DecisionRole.user, description="The lead's contact's role in the decision chain."
    )
    deal_name: Name | None = Field(default=None, description="Defaults to the company name.")


class Evidence(ReadModel):
    who: str
    what: str
    when: datetime
    recorded_by: uuid.UUID
    recorded_at: datetime


class DuplicateMatch(ReadModel):
    type: Literal["lead", "contact"]
    id: uuid.UUID
    field: Literal["email", "phone"]


class LeadRead(ReadModel):
    id: uuid.UUID
    status: LeadStatus
    source: LeadSource
    source_detail: str | None
    campaign: str | None
    referrer_customer_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    created_by: uuid.UUID | None = Field(
        description="The user who captured the lead (null when a partner system's API key "
        "did). They may read it even when routing gave it to someone else."
    )
    shared_with_team: bool
    company_name: str
    contact_name: str | None
    contact_title: str | None
    email: str | None
    phone: str | None
    industry: str | None
    budget_confirmed: bool
    budget_amount: Decimal | None
    currency: str
    authority_confirmed: bool
    need_confirmed: bool
    need_description: str | None
    expected_purchase_date: date | None
    decision_maker_count: int | None
    qualification_evidence: list[Evidence]
    score: int | None
    grade: LeadGrade | None
    next_touch_at: datetime | None
    qualified_at: datetime | None = Field(
        description="When the lead first became qualified; kept if it later slipped back."
    )
    disqualified_reason: str | None
    duplicate_of: list[DuplicateMatch]
    converted_at: datetime | None
    converted_customer_id: uuid.UUID | None
    converted_contact_id: uuid.UUID | None
    converted_deal_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int
    inbound: bool = Field(description="True when the buyer came to us (derived from `source`).")


class LeadRouting(ReadModel):
    pool: Seniority = Field(
        description="The pool the lead's grade routes to: `senior` for grade A, else `standard`."
    )
    owner_id: uuid.UUID | None = Field(
        description="Who was given the lead; null when there is no active rep at all."
    )
    owner_name: str | None
    owner_seniority: Seniority | None = Field(
        description="The owner's pool: the other pool's rep is chosen when this one is empty."
    )


class LeadCreated(LeadRead):
    routing: LeadRouting | None = Field(
        description="How the owner was chosen, when the request named no `owner_id`; null "
        "when it did."
    )


class LeadConversion(ReadModel):
    lead: LeadRead
    customer: CustomerRead
    contact: ContactRead
    deal: DealRead

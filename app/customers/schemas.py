import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, StringConstraints

from app.core.enums import CustomerGrade, CustomerTier, DecisionRole, LifecycleStage, RatingLevel
from app.core.schemas import (
    Currency,
    Email,
    InputModel,
    Money,
    Name,
    PatchModel,
    Phone,
    ReadModel,
)

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
NEED = "How strongly the customer needs what we sell; with `purchasing_power` it sets `grade`."
POWER = "How well the customer can pay; with `need_intensity` it sets `grade`."


SHARE_DESCRIPTION = (
    "Whether the owner's whole team may see and change it (not reassign, share or archive "
    "it: that stays with the owner and their manager). Set by the owner or their manager."
)


class CustomerCreate(InputModel):
    name: Name
    industry: str | None = Field(default=None, max_length=100)
    company_size: str | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=100)
    annual_revenue: Money | None = None
    currency: Currency = "CNY"
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    owner_id: uuid.UUID | None = Field(
        default=None, description="Account manager; defaults to the caller when a rep creates it."
    )
    shared_with_team: bool = Field(default=False, description=SHARE_DESCRIPTION)
    need_intensity: RatingLevel | None = Field(default=None, description=NEED)
    purchasing_power: RatingLevel | None = Field(default=None, description=POWER)


_MARK_LOST = "POST /api/v1/customers/{id}/mark-lost"
_OVERRIDE = "POST /api/v1/customers/{id}/tier-override"


class CustomerUpdate(PatchModel):
    state_actions: ClassVar[dict[str, str]] = {
        "tier": _OVERRIDE,
        "tier_override": _OVERRIDE,
        "tier_override_reason": _OVERRIDE,
        "lifecycle_stage": "the lifecycle rules (it is computed)",
        "grade": "the grading rules (set need_intensity and purchasing_power)",
        "marked_lost_at": _MARK_LOST,
        "marked_lost_reason": _MARK_LOST,
    }
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"name", "currency", "tags", "shared_with_team"}
    )

    name: Name | None = None
    industry: str | None = Field(default=None, max_length=100)
    company_size: str | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=100)
    annual_revenue: Money | None = None
    currency: Currency | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    owner_id: uuid.UUID | None = None
    shared_with_team: bool | None = Field(default=None, description=SHARE_DESCRIPTION)
    need_intensity: RatingLevel | None = Field(default=None, description=NEED)
    purchasing_power: RatingLevel | None = Field(default=None, description=POWER)


class CustomerRead(ReadModel):
    id: uuid.UUID
    name: str
    industry: str | None
    company_size: str | None
    region: str | None
    annual_revenue: Decimal | None
    currency: str
    tags: list[str]
    owner_id: uuid.UUID | None
    shared_with_team: bool
    tier: CustomerTier = Field(description="The tier acted on: the override if set, else computed.")
    tier_reason: str | None = Field(
        description="Why `tier` is what it is: the computed tier's RFM scores, e.g. "
        "`growth: R=5 F=3 M=3`, or the manager's override and its reason."
    )
    computed_tier: CustomerTier | None = Field(
        description="What the customer's purchases say (RFM and revenue trend), shown beside "
        "a manager's override; equal to `tier` when there is none."
    )
    computed_tier_reason: str | None = Field(
        description="The computed tier's RFM scores, e.g. `strategic: R=5 F=4 M=5`."
    )
    tier_override: CustomerTier | None
    tier_override_reason: str | None
    tier_override_by: uuid.UUID | None = Field(
        description="Who last set or cleared the override (the audit trail keeps each one)."
    )
    tier_override_at: datetime | None = Field(description="When the override was last changed.")
    grade: CustomerGrade | None = Field(
        description="A/B/C from need_intensity x purchasing_power; null until both are set."
    )
    need_intensity: RatingLevel | None
    purchasing_power: RatingLevel | None
    lifecycle_stage: LifecycleStage
    marked_lost_at: datetime | None = Field(
        description=f"Set by {_MARK_LOST}: the customer counts as churned."
    )
    marked_lost_reason: str | None
    marked_lost_by: uuid.UUID | None
    last_contact_at: datetime | None
    last_purchase_at: datetime | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class TierOverride(InputModel):
    tier: CustomerTier = Field(description="The tier to act on regardless of the computed one.")
    reason: str = Field(min_length=3, max_length=500)


class MarkLost(InputModel):
    reason: Reason = Field(description="Why the customer is lost, e.g. moved to a competitor.")


class HealthItem(BaseModel):
    code: str
    message: str


class ReminderItem(BaseModel):
    code: str
    days: int | None
    message: str


class CustomerHealth(BaseModel):
    customer_id: uuid.UUID
    computed_at: datetime
    warnings: list[HealthItem]
    reminders: list[ReminderItem]


class ContactCreate(InputModel):
    name: Name
    title: str | None = Field(default=None, max_length=200)
    email: Email | None = None
    phone: Phone | None = None
    decision_role: DecisionRole = DecisionRole.user
    covering_rep_id: uuid.UUID | None = None
    preferences: str | None = Field(default=None, max_length=2000)
    birthday: date | None = None


class ContactUpdate(PatchModel):
    required_fields: ClassVar[frozenset[str]] = frozenset({"name", "decision_role"})

    name: Name | None = None
    title: str | None = Field(default=None, max_length=200)
    email: Email | None = None
    phone: Phone | None = None
    decision_role: DecisionRole | None = None
    covering_rep_id: uuid.UUID | None = None
    preferences: str | None = Field(default=None, max_length=2000)
    birthday: date | None = None


class ContactRead(ReadModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    title: str | None
    email: str | None
    phone: str | None
    decision_role: DecisionRole
    covering_rep_id: uuid.UUID | None
    preferences: str | None
    birthday: date | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from app.core.enums import (
    AcceptanceKind,
    ChangeRequestStatus,
    ContractStatus,
    DeliveryStatus,
    MilestoneAnchor,
    MilestoneKind,
)
from app.core.schemas import (
    AwareDatetime,
    InputModel,
    Money,
    Name,
    PatchModel,
    Percentage,
    ReadModel,
)

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
]

_STATE_ACTIONS = "POST /api/v1/contracts/{id}/submit-review|approve|sign|accept|close|terminate"


class MilestoneInput(InputModel):
    """A payment milestone: a share of the amount, due N days after an event."""

    kind: MilestoneKind
    label: str | None = Field(default=None, max_length=200)
    # Sign and range are the payment-plan rules' to judge, so every problem is listed at once.
    percent: Decimal = Field(le=100, max_digits=6, decimal_places=2, examples=["30.00"])
    anchor: MilestoneAnchor = Field(description="The event the due date counts from.")
    days_after: int = Field(default=0, ge=-3650, le=3650)


class ContractCreate(InputModel):
    quote_id: uuid.UUID = Field(description="A quote whose current version the customer accepted.")
    title: Name
    start_date: date | None = None
    end_date: date | None = None
    planned_delivery_date: date | None = None
    milestones: list[MilestoneInput] = Field(
        max_length=50, description="Percentages must add up to exactly 100."
    )


class ContractUpdate(PatchModel):
    state_actions: ClassVar[dict[str, str]] = {
        "status": _STATE_ACTIONS,
        "amount": "POST /api/v1/contracts/{id}/change-requests (the amount is the quote's total)",
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"title"})

    title: Name | None = None
    start_date: date | None = None
    end_date: date | None = None
    planned_delivery_date: date | None = None


class ContractTermination(InputModel):
    reason: Reason


class ContractAcceptance(InputModel):
    kind: Literal[AcceptanceKind.explicit] = Field(
        default=AcceptanceKind.explicit,
        description="The customer's explicit acceptance; a deemed one has its own action.",
    )


class DeliveryCreate(InputModel):
    planned_date: date | None = Field(
        default=None,
        description="Defaults to the contract's planned delivery date. With a planned date, "
        "the contract's owner gets a task to tell the customer, due on its `notice_date`.",
    )
    description: str | None = Field(default=None, max_length=2000)


class DeliveryProgress(InputModel):
    status: Literal[DeliveryStatus.shipped, DeliveryStatus.arrived, DeliveryStatus.installed]
    at: AwareDatetime | None = Field(
        default=None,
        description="When it happened; defaults to now. Never in the future, before the "
        "contract was signed or before the delivery's previous step (422 naming `at`).",
    )


class MilestonePayment(InputModel):
    paid_at: AwareDatetime | None = Field(default=None, description="Defaults to now.")
    amount: Money | None = Field(default=None, description="Defaults to the milestone's amount.")


class ChangeRequestCreate(InputModel):
    description: Description
    extra_fee: Money


class ContractRead(ReadModel):
    id: uuid.UUID
    title: str
    quote_id: uuid.UUID
    quote_version_id: uuid.UUID = Field(description="The exact quote version accepted.")
    deal_id: uuid.UUID
    customer_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    status: ContractStatus
    amount: Decimal = Field(description="The quote total plus approved change requests.")
    currency: str
    start_date: date | None
    end_date: date | None
    planned_delivery_date: date | None
    submitted_for_review_at: datetime | None
    approved_at: datetime | None
    approved_by: uuid.UUID | None
    signed_at: datetime | None
    delivered_at: datetime | None
    accepted_at: datetime | None
    acceptance_kind: AcceptanceKind | None
    closed_at: datetime | None
    terminated_at: datetime | None
    termination_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class MilestoneRecord(ReadModel):
    id: uuid.UUID
    position: int
    kind: MilestoneKind
    label: str | None
    percent: Percentage = Field(description="The milestone's share of the contract as agreed.")
    amount: Decimal = Field(
        description="What is billed. The amounts always add up to the contract amount: an "
        "approved change keeps paid milestones' amounts and spreads over the unpaid ones "
        "in proportion to their percentages."
    )
    anchor: MilestoneAnchor
    days_after: int
    due_date: date | None = Field(description="Set once the anchoring event has happened.")
    paid_at: datetime | None
    paid_amount: Decimal | None
    version: int


class MilestoneRead(MilestoneRecord):
    overdue_days: int = Field(description="Whole days an unpaid milestone is past its due date.")


class DeliveryRecord(ReadModel):
    id: uuid.UUID
    status: DeliveryStatus
    planned_date: date | None
    description: str | None
    shipped_at: datetime | None
    arrived_at: datetime | None
    installed_at: datetime | None
    accepted_at: datetime | None
    acceptance_kind: AcceptanceKind | None
    created_at: datetime
    version: int


class DeliveryRead(DeliveryRecord):
    notice_date: date | None = Field(
        description="The day the customer must have been told the delivery is coming "
        "(2 days before `planned_date`); null without a planned date."
    )


class ChangeRequestRead(ReadModel):
    id: uuid.UUID
    description: str
    extra_fee: Decimal
    status: ChangeRequestStatus
    requested_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    created_at: datetime


class ContractDetail(ContractRead):
    milestones: list[MilestoneRead]
    deliveries: list[DeliveryRead] = Field(description="In the order they were scheduled.")
    change_requests: list[ChangeRequestRead] = Field(description="Oldest first.")

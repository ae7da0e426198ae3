import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.core.enums import DealStage, LostReason
from app.core.schemas import (
    AwareDatetime,
    Currency,
    InputModel,
    Money,
    Name,
    PatchModel,
    Percentage,
    ReadModel,
    Text,
)
from app.customers.schemas import SHARE_DESCRIPTION
from app.rules.deals import TransitionKind

Product = Annotated[str, Field(max_length=200)]
Reason = Annotated[str, Field(max_length=2000)]
_TRANSITION = "POST /api/v1/deals/{id}/transition"


class DealCreate(InputModel):
    name: Name
    customer_id: uuid.UUID | None = Field(
        default=None, description="A customer you can see; required before leaving development."
    )
    owner_id: uuid.UUID | None = Field(
        default=None, description="The deal's rep; defaults to the caller when a rep creates it."
    )
    shared_with_team: bool = Field(default=False, description=SHARE_DESCRIPTION)
    amount: Money | None = Field(default=None, description="Estimated amount.")
    currency: Currency = "CNY"
    expected_close_date: date | None = None
    need_description: Text | None = None
    product: Product | None = None


class DealUpdate(PatchModel):
    state_actions: ClassVar[dict[str, str]] = {
        "stage": _TRANSITION,
        "lost_reason": _TRANSITION,
        "closed_at": _TRANSITION,
        "presales_approved_at": "POST /api/v1/deals/{id}/presales-approval",
        "bid_submitted_at": "POST /api/v1/deals/{id}/bid",
        "bid_amount": "POST /api/v1/deals/{id}/bid",
    }
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"name", "currency", "owner_id", "shared_with_team"}
    )

    name: Name | None = None
    amount: Money | None = None
    currency: Currency | None = None
    expected_close_date: date | None = None
    need_description: Text | None = None
    product: Product | None = None
    owner_id: uuid.UUID | None = None
    shared_with_team: bool | None = Field(default=None, description=SHARE_DESCRIPTION)
    customer_id: uuid.UUID | None = None


class DealRecord(ReadModel):
    """The stored columns of a deal (what the repository selects)."""

    id: uuid.UUID
    name: str
    customer_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    shared_with_team: bool
    lead_id: uuid.UUID | None
    stage: DealStage
    amount: Decimal | None
    currency: str
    expected_close_date: date | None
    need_description: str | None
    product: str | None
    presales_approved_at: datetime | None
    presales_approved_by: uuid.UUID | None
    bid_submitted_at: datetime | None
    bid_amount: Decimal | None
    lost_reason: LostReason | None
    lost_reason_text: str | None
    closed_at: datetime | None
    closed_from_stage: DealStage | None
    stage_changed_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int


class DealRead(DealRecord):
    weighted_amount: Decimal | None = Field(
        description="amount times the stage's win probability (the weighted forecast); null "
        "without an amount."
    )
    win_probability_pct: Percentage = Field(description="The stage's win probability, 0..100.")
    is_stale: bool = Field(description="Open and no stage change for the policy's stale period.")


class DealTransition(InputModel):
    to_stage: DealStage
    reason: Reason | None = Field(
        default=None,
        description="Why: required to move back or reopen, and with lost reason `other`.",
    )
    lost_reason: LostReason | None = Field(default=None, description="Required to move to lost.")

    @field_validator("lost_reason")
    @classmethod
    def _lost_reason_only_when_lost(
        cls, lost_reason: LostReason | None, info: ValidationInfo
    ) -> LostReason | None:
        # A field validator, so the refusal names `lost_reason`; `to_stage` is validated
        # first (declared first) and absent from `info.data` only when it is invalid itself.
        to_stage = info.data.get("to_stage", DealStage.lost)
        if lost_reason is not None and to_stage != DealStage.lost:
            raise PydanticCustomError(
                "lost_reason_not_lost", "lost_reason is only given when moving to lost"
            )
        return lost_reason


class DealBid(InputModel):
    amount: Annotated[Money, Field(gt=0)]
    submitted_at: AwareDatetime | None = Field(
        default=None, description="When the bid went in; defaults to now, never in the future."
    )


class UnmetCheck(ReadModel):
    code: str
    message: str
    field: str | None = None


class TransitionOptionRead(ReadModel):
    to_stage: DealStage
    kind: TransitionKind
    allowed: bool = Field(description="True when nothing but the request's own inputs is missing.")
    unmet_checks: list[UnmetCheck]
    reason_required: bool
    lost_reason_required: bool


class TransitionOptions(ReadModel):
    items: list[TransitionOptionRead]


class DealStageChangeRead(ReadModel):
    id: uuid.UUID
    deal_id: uuid.UUID
    from_stage: DealStage | None
    to_stage: DealStage
    changed_at: datetime
    changed_by: uuid.UUID | None
    reason: str | None
    amount: Decimal | None
    currency: str
    expected_close_date: date | None

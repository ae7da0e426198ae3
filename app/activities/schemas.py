import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, model_validator

from app.core.enums import ActivityKind
from app.core.schemas import (
    JSON_BOUNDS,
    AwareDatetime,
    InputModel,
    JsonObject,
    PatchModel,
    ReadModel,
    Text,
)

SUMMARY = "What happened, in a sentence or two."


class ActivityCreate(InputModel):
    kind: ActivityKind
    occurred_at: AwareDatetime = Field(description="When it happened; not in the future.")
    customer_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the contact's or the deal's customer."
    )
    contact_id: uuid.UUID | None = Field(
        default=None, description="The person at the customer it was with."
    )
    deal_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    summary: Text = Field(min_length=1, description=SUMMARY)
    details: JsonObject = Field(
        default_factory=dict, description=f"Free-form extra facts. {JSON_BOUNDS}"
    )

    @model_validator(mode="after")
    def _about_something(self) -> "ActivityCreate":
        if not (self.customer_id or self.contact_id or self.deal_id or self.lead_id):
            raise ValueError("name at least one of customer_id, contact_id, deal_id or lead_id")
        return self


class ActivityUpdate(PatchModel):
    required_fields: ClassVar[frozenset[str]] = frozenset({"kind", "summary", "details"})

    kind: ActivityKind | None = None
    summary: Text | None = Field(default=None, min_length=1, description=SUMMARY)
    details: JsonObject | None = Field(
        default=None, description=f"Replaces the free-form facts. {JSON_BOUNDS}"
    )


class ActivityRead(ReadModel):
    id: uuid.UUID
    kind: ActivityKind
    occurred_at: datetime
    owner_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    summary: str
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from app.core.enums import LeadSource
from app.core.schemas import Currency, InputModel, Money, PatchModel, ReadModel

# Leads name their campaign in free text of up to 120 characters; the names must match.
CampaignName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)
]
Description = Annotated[str, StringConstraints(max_length=2000)]


class CampaignCreate(InputModel):
    name: CampaignName = Field(description="Unique; leads name it in their `campaign` field.")
    channel: LeadSource
    cost: Money | None = Field(default=None, description="What it cost; null until known.")
    currency: Currency = "CNY"
    starts_on: date = Field(description="Its cost counts in the report period holding this day.")
    ends_on: date | None = None
    description: Description | None = None


class CampaignUpdate(PatchModel):
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"name", "channel", "currency", "starts_on"}
    )

    name: CampaignName | None = None
    channel: LeadSource | None = None
    cost: Money | None = None
    currency: Currency | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    description: Description | None = None


class CampaignRead(ReadModel):
    id: uuid.UUID
    name: str
    channel: LeadSource
    cost: Decimal | None
    currency: str
    starts_on: date
    ends_on: date | None
    description: str | None
    created_at: datetime
    updated_at: datetime
    version: int

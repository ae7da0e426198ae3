import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import ReadModel
from app.events.catalogue import EventType


class EventRead(ReadModel):
    """One change, as partner systems receive it (the feed's items, a webhook's body)."""

    id: uuid.UUID = Field(description="Stable: the same event always has this id.")
    type: EventType
    record_type: str = Field(description="`lead`, `deal`, `quote`, ... (the type's prefix).")
    record_id: uuid.UUID
    record_version: int | None = Field(description="The record's version after the change.")
    occurred_at: datetime
    actor_type: Literal["user", "api_key", "system"]
    actor_id: uuid.UUID | None
    actor_name: str | None
    origin: str | None = Field(
        description="The API key (`api_key:<id>`) or job (`job:<name>`) that caused the "
        "change: skip events your own key caused. Null for a person's change."
    )
    request_id: str | None = Field(description="The X-Request-ID of the request that made it.")
    changed_fields: list[str] = Field(description="For a change: the fields it changed.")
    data: dict[str, Any] = Field(description="The record after the change, as the API shows it.")
    previous: dict[str, Any] | None = Field(
        description="For a change: the record before it; null for a creation."
    )


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None = Field(
        description="Pass as `after` to read on. The feed is a tail: an empty page keeps the "
        "same cursor, so poll again with it later. Null only when nothing was ever read."
    )

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.core.schemas import AwareDatetime, InputModel, PatchModel, ReadModel
from app.models.webhooks import WebhookDeliveryStatus, WebhookEndpointStatus
from app.webhooks.policy import unknown_event_types

MAX_EVENT_TYPES = 100

EndpointUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    Field(
        description="Where events are POSTed: https (plain http only outside production or "
        "where allowed), resolving to public addresses only.",
        examples=["https://erp.example.com/hooks/salesflow"],
    ),
]
Description = Annotated[str, StringConstraints(max_length=500)]


def _known_event_type(pattern: str) -> str:
    if unknown_event_types([pattern]):
        raise ValueError(
            f"'{pattern}' is no event type: use one of docs/events.md, `<record type>.*` "
            "(e.g. `deal.*`) or `*`"
        )
    return pattern


EventTypePattern = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_known_event_type),
    Field(examples=["deal.*"]),
]
EventTypes = Annotated[
    list[EventTypePattern],
    Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description="The event types to receive: exact types (`quote.approved`), every type "
        "of a record (`deal.*`), or `*` for all.",
    ),
]


class WebhookEndpointCreate(InputModel):
    url: EndpointUrl
    event_types: EventTypes
    description: Description | None = None
    enabled: bool = True


class WebhookEndpointUpdate(PatchModel):
    state_actions: ClassVar[dict[str, str]] = {
        "status": "`enabled` (true or false)",
        "secret": "POST /api/v1/webhook-endpoints/{id}/rotate-secret",
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"url", "event_types", "enabled"})

    url: EndpointUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(
        default=None,
        description="false stops deliveries (they wait); true resumes them and clears a "
        "disabled or failing status.",
    )


class WebhookEndpointRead(ReadModel):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    status: WebhookEndpointStatus = Field(
        description="`healthy`; `failing` once a delivery was dead-lettered (until one "
        "succeeds); `disabled` by an admin, by a 410 answer, or after failing too long."
    )
    disabled_reason: str | None = Field(
        description="`by_admin`, `gone` (the endpoint answered 410) or `failing_too_long`."
    )
    failing_since: datetime | None = Field(
        description="The first failed attempt since the last successful one."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation: until when the previous secret also signs."
    )
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookEndpointWithSecret(WebhookEndpointRead):
    secret: str | None = Field(
        description="The signing secret (`whsec_...`), shown only in this response: store it "
        "now. Null when an idempotent retry replays the answer: rotate the secret then."
    )


class WebhookAttemptRead(ReadModel):
    at: datetime
    status_code: int | None = Field(description="The receiver's answer; null if none came.")
    duration_ms: int
    error: str | None = Field(description="Why it failed: timeout, connection, refused, status.")
    response_body: str | None = Field(description="The answer's first 1,024 bytes.")


class WebhookDeliveryRead(ReadModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID = Field(description="Sent as `webhook-id`: the same in every retry.")
    event_type: str
    trigger: str = Field(description="`event` (as it happened), `replay` or `retry`.")
    status: WebhookDeliveryStatus = Field(
        description="`pending` (not tried yet), `failed` (retried at `next_attempt_at`), "
        "`delivered`, or `dead` (every retry failed)."
    )
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[WebhookAttemptRead] = Field(description="Every attempt, oldest first.")


class WebhookTestResult(BaseModel):
    delivered: bool = Field(description="The receiver answered 2xx.")
    webhook_id: str
    status_code: int | None
    duration_ms: int
    error: str | None
    response_body: str | None


class WebhookReplayRequest(InputModel):
    since: AwareDatetime | None = Field(
        default=None, description="Events that occurred at or after this instant..."
    )
    until: AwareDatetime | None = Field(
        default=None, description="...and before this one (default: now)."
    )
    after_event_id: uuid.UUID | None = Field(
        default=None, description="Or: every event after this one, in feed order."
    )


class WebhookReplayResult(BaseModel):
    deliveries_created: int
    first_event_id: uuid.UUID | None
    last_event_id: uuid.UUID | None

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, StrictBool, StringConstraints

from app.core.enums import (
    FeedbackCategory,
    SlaClockKind,
    SlaEventKind,
    SlaStatus,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from app.core.schemas import AwareDatetime, InputModel, PatchModel, ReadModel

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Description = Annotated[str, StringConstraints(max_length=20_000)]
Channel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]

_ACTIONS = "POST /api/v1/tickets/{id}/"
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})?"
)


def _timestamp_text(value: Any) -> Any:
    """Only an RFC 3339 string is a timestamp: a number (12345) would otherwise be read as
    seconds since 1970, a date the sender never meant."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError("must be an RFC 3339 timestamp string, e.g. 2026-01-31T09:00:00Z")


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]


class TicketCreate(InputModel):
    subject: Subject
    description: Description | None = None
    type: TicketType
    priority: TicketPriority = TicketPriority.normal
    category: FeedbackCategory | None = Field(
        default=None,
        description="Required for `feedback` (routes it: product → rnd, service → after_sales, "
        "process → operations); not allowed for other types.",
    )
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None = Field(default=None, description="A contact of the customer.")
    contract_id: uuid.UUID | None = Field(default=None, description="A contract of the customer.")
    assignee_id: uuid.UUID | None = None
    channel: Channel | None = Field(default=None, examples=["phone"])
    reported_at: Timestamp | None = Field(
        default=None,
        description="When the customer reported it (an RFC 3339 string); defaults to now. A "
        "past instant (a ticket imported from another channel) starts the SLA clocks then, "
        "if it is at most 90 days ago (the SLA policy's `max_reported_age`); a future one "
        "is refused.",
    )


class TicketUpdate(PatchModel):
    state_actions: ClassVar[dict[str, str]] = {
        "status": _ACTIONS + "respond|pause|resume|resolve|reopen|close",
        "priority": _ACTIONS + "priority",
        "type": _ACTIONS + "type",
        "category": _ACTIONS + "type",
        "assignee_id": _ACTIONS + "assign",
        "sla_status": "the SLA clocks (it is computed)",
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"subject"})

    subject: Subject | None = None
    description: Description | None = None
    channel: Channel | None = None
    contact_id: uuid.UUID | None = None


class TicketRead(ReadModel):
    id: uuid.UUID
    subject: str
    description: str | None
    type: TicketType
    priority: TicketPriority
    status: TicketStatus
    category: FeedbackCategory | None
    queue: str | None
    channel: str | None
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None
    contract_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    reported_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_status: SlaStatus = Field(
        description="The worst of the two clocks as of the moment of reading: `at_risk` from "
        "the instant 75 % of a running clock's target is used, `breached` from its due time."
    )
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None = Field(
        description="Null while waiting on the customer: the paused clock's due time moves."
    )
    next_due_at: datetime | None = Field(
        description="The earliest due time of a running clock; null when no clock runs."
    )
    escalation_level: int = Field(description="How many SLA breaches were escalated.")
    created_at: datetime
    updated_at: datetime
    version: int


class TicketResponse(InputModel):
    public: StrictBool = Field(
        description="Sent to the customer. Only a public response by a support agent answers "
        "the ticket (stops the first-response clock); internal notes do not."
    )
    body: Note


class TicketResolution(InputModel):
    resolution: Note


class TicketReopening(InputModel):
    reason: Note


class TicketAssignment(InputModel):
    assignee_id: uuid.UUID | None = Field(description="Null puts the ticket back in its queue.")


class TicketPriorityChange(InputModel):
    priority: TicketPriority


class TicketTypeChange(InputModel):
    type: TicketType
    category: FeedbackCategory | None = Field(
        default=None, description="Required when the new type is `feedback`."
    )


class SlaEventRead(ReadModel):
    seq: int
    kind: SlaEventKind
    clock: SlaClockKind | None
    at: datetime
    policy_version: str
    calendar_version: str
    payload: dict[str, Any]
    actor_id: uuid.UUID | None
    recorded_at: datetime


class TicketSlaRead(ReadModel):
    ticket_id: uuid.UUID
    events: list[SlaEventRead] = Field(description="The SLA event log, in the order written.")
    explanation: dict[str, Any] = Field(
        description="Both clocks recomputed from the log now: segments, due computation, "
        "status, breach and met instants."
    )

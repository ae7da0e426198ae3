import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, model_validator

from app.core.enums import TaskKind, TaskStatus
from app.core.schemas import AwareDatetime, InputModel, PatchModel, ReadModel, Text

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class RelatedType(StrEnum):
    """The kinds of record a task can be about."""

    lead = "lead"
    customer = "customer"
    deal = "deal"
    quote = "quote"
    contract = "contract"
    ticket = "ticket"
    webhook_endpoint = "webhook_endpoint"


class TaskCreate(InputModel):
    title: Title
    description: Text | None = None
    assignee_id: uuid.UUID | None = Field(
        default=None,
        description="Who does it; defaults to the caller. Reps assign only themselves.",
    )
    due_at: AwareDatetime | None = None
    kind: TaskKind = TaskKind.general
    related_type: RelatedType | None = Field(
        default=None, description="With `related_id`: the record the task is about."
    )
    related_id: uuid.UUID | None = Field(default=None, description="A record you can see.")

    @model_validator(mode="after")
    def _related_pair(self) -> "TaskCreate":
        if (self.related_type is None) != (self.related_id is None):
            raise ValueError("related_type and related_id go together: give both or neither")
        return self


class TaskUpdate(PatchModel):
    state_actions: ClassVar[dict[str, str]] = {
        "status": "POST /api/v1/tasks/{id}/complete or POST /api/v1/tasks/{id}/cancel",
        "completed_at": "POST /api/v1/tasks/{id}/complete",
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"title", "assignee_id"})

    title: Title | None = None
    description: Text | None = None
    due_at: AwareDatetime | None = None
    assignee_id: uuid.UUID | None = None


class TaskRead(ReadModel):
    id: uuid.UUID
    kind: TaskKind
    title: str
    description: str | None
    assignee_id: uuid.UUID | None
    due_at: datetime | None
    status: TaskStatus
    related_type: RelatedType | None
    related_id: uuid.UUID | None
    completed_at: datetime | None
    completed_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int

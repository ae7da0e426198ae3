import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from app.core.enums import TaskKind, TaskStatus
from app.core.types import Enum
from app.models.base import Versioned, fk, instant, pk


class Task(Versioned, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.Index("ix_tasks_created_at_id", "created_at", "id"),
        sa.Index("ix_tasks_updated_at_id", "updated_at", "id"),
        sa.Index("ix_tasks_kind_created_at_id", "kind", "created_at", "id"),
        sa.Index("ix_tasks_assignee_id_status_due_at_id", "assignee_id", "status", "due_at", "id"),
        sa.Index("ix_tasks_status_due_at_id", "status", "due_at", "id"),
        sa.Index("ix_tasks_related", "related_type", "related_id"),
        # One task per trigger: the trigger's dedupe key is unique where present.
        sa.Index("uq_tasks_dedupe_key", "dedupe_key", unique=True),
    )

    id: uuid.UUID = pk()
    kind: TaskKind = Field(
        default=TaskKind.general, sa_type=Enum(TaskKind, "task_kind"), nullable=False
    )
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    assignee_id: uuid.UUID | None = fk("users.id", nullable=True)
    due_at: datetime | None = instant()
    status: TaskStatus = Field(
        default=TaskStatus.open, sa_type=Enum(TaskStatus, "task_status"), nullable=False
    )
    related_type: str | None = Field(default=None, max_length=32)
    related_id: uuid.UUID | None = None
    dedupe_key: str | None = Field(default=None, max_length=200)
    completed_at: datetime | None = instant()
    completed_by: uuid.UUID | None = fk("users.id", nullable=True)

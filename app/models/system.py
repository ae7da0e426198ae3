import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import Json, UtcDateTime
from app.models.base import pk


class IdempotencyKey(SQLModel, table=True):
    """A POST's first response, replayed when a client retries with the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.Index("ix_idempotency_keys_created_at", "created_at"),)

    principal: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=255)
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    response_body: str | None = Field(default=None, sa_type=sa.Text())
    response_headers: dict[str, Any] = Field(default_factory=dict, sa_type=Json(), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


class AuditEntry(SQLModel, table=True):
    """Who changed what, when: before/after of the changed fields, per request."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_entity", "entity_type", "entity_id", "at"),
        sa.Index("ix_audit_log_at_id", "at", "id"),
        sa.Index("ix_audit_log_actor_id_at_id", "actor_id", "at", "id"),
    )

    id: uuid.UUID = pk()
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    actor_type: str = Field(max_length=16)
    actor_id: uuid.UUID | None = None
    actor_name: str | None = Field(default=None, max_length=200)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: uuid.UUID
    before: dict[str, Any] = Field(default_factory=dict, sa_type=Json(), nullable=False)
    after: dict[str, Any] = Field(default_factory=dict, sa_type=Json(), nullable=False)
    request_id: str | None = Field(default=None, max_length=128)

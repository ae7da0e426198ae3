"""Webhook endpoints, their deliveries and each delivery's attempts, and the fan-out cursor."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import Enum, Json, UtcDateTime
from app.models.base import Versioned, fk, instant, pk

_POSITION = sa.BigInteger()
_DUE = sa.text("next_attempt_at IS NOT NULL")
_SETTLED = sa.text("next_attempt_at IS NULL")


class WebhookEndpointStatus(StrEnum):
    healthy = "healthy"
    failing = "failing"
    disabled = "disabled"


class WebhookDeliveryStatus(StrEnum):
    pending = "pending"  # not attempted yet
    failed = "failed"  # attempted, retried at `next_attempt_at`
    delivered = "delivered"
    dead = "dead"  # every retry of the schedule failed


class WebhookEndpoint(Versioned, table=True):
    """A partner's URL and the event types it receives, with the secrets that sign them.

    The secrets never leave the service except once, in the answer that created them."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index("ix_webhook_endpoints_created_at_id", "created_at", "id"),)

    id: uuid.UUID = pk()
    url: str = Field(max_length=2048)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=Json(), nullable=False)
    enabled: bool = Field(default=True, nullable=False)
    status: WebhookEndpointStatus = Field(
        default=WebhookEndpointStatus.healthy,
        sa_type=Enum(WebhookEndpointStatus, "webhook_endpoint_status"),
        nullable=False,
    )
    disabled_reason: str | None = Field(default=None, max_length=32)
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = instant()
    # The first failed attempt since the last successful one.
    failing_since: datetime | None = instant()
    created_by: uuid.UUID | None = fk("users.id", nullable=True)
    archived_at: datetime | None = instant()


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, through its retry schedule. Sent in the event's feed
    order `(event_txid, event_seq)`; `next_attempt_at` is set while it is still to send."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index(
            "ix_webhook_deliveries_endpoint_due",
            "endpoint_id",
            "event_txid",
            "event_seq",
            "id",
            postgresql_where=_DUE,
            sqlite_where=_DUE,
        ),
        sa.Index(
            "ix_webhook_deliveries_event_occurred_at",
            "event_occurred_at",
            postgresql_where=_DUE,
            sqlite_where=_DUE,
        ),
        sa.Index(
            "ix_webhook_deliveries_endpoint_id_created_at_id", "endpoint_id", "created_at", "id"
        ),
        sa.Index(
            "ix_webhook_deliveries_endpoint_id_status_created_at_id",
            "endpoint_id",
            "status",
            "created_at",
            "id",
        ),
        sa.Index("ix_webhook_deliveries_endpoint_id_event_id", "endpoint_id", "event_id"),
        # The scheduled round prunes settled deliveries past the retention by creation time.
        sa.Index(
            "ix_webhook_deliveries_settled_created_at",
            "created_at",
            postgresql_where=_SETTLED,
            sqlite_where=_SETTLED,
        ),
    )

    id: uuid.UUID = pk()
    endpoint_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
        )
    )
    event_id: uuid.UUID
    event_type: str = Field(max_length=64)
    event_txid: int = Field(sa_type=_POSITION, nullable=False)
    event_seq: int = Field(sa_type=_POSITION, nullable=False)
    event_occurred_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    # `event` (fanned out), `replay` or `retry`.
    trigger: str = Field(default="event", max_length=16)
    status: WebhookDeliveryStatus = Field(
        default=WebhookDeliveryStatus.pending,
        sa_type=Enum(WebhookDeliveryStatus, "webhook_delivery_status"),
        nullable=False,
    )
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime | None = instant()
    last_attempt_at: datetime | None = instant()
    delivered_at: datetime | None = instant()
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery, as the delivery log shows it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_delivery_id_at", "delivery_id", "at"),)

    id: uuid.UUID = pk()
    delivery_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
        )
    )
    at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    status_code: int | None = None
    duration_ms: int = Field(nullable=False)
    error: str | None = Field(default=None, max_length=500)
    response_body: str | None = Field(default=None, max_length=1024)


class WebhookCursor(SQLModel, table=True):
    """How far the outbox has been fanned out to endpoints: the last event's feed position.
    One row (`name = 'events'`), locked by the fan-out that advances it."""

    __tablename__ = "webhook_cursors"

    name: str = Field(primary_key=True, max_length=32)
    txid: int = Field(sa_type=_POSITION, nullable=False)
    seq: int = Field(sa_type=_POSITION, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.enums import (
    FeedbackCategory,
    SlaClockKind,
    SlaEventKind,
    SlaStatus,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from app.core.types import Enum, Json, UtcDateTime
from app.models.base import Versioned, fk, instant, pk


class Ticket(Versioned, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        sa.Index("ix_tickets_created_at_id", "created_at", "id"),
        sa.Index("ix_tickets_assignee_id_created_at_id", "assignee_id", "created_at", "id"),
        sa.Index("ix_tickets_customer_id_created_at_id", "customer_id", "created_at", "id"),
        sa.Index("ix_tickets_status_created_at_id", "status", "created_at", "id"),
        sa.Index("ix_tickets_type_created_at_id", "type", "created_at", "id"),
        sa.Index("ix_tickets_priority_created_at_id", "priority", "created_at", "id"),
        sa.Index("ix_tickets_queue_created_at_id", "queue", "created_at", "id"),
        sa.Index("ix_tickets_assignee_id_next_due_at_id", "assignee_id", "next_due_at", "id"),
        sa.Index("ix_tickets_next_due_at_id", "next_due_at", "id"),
        # Reports: tickets by the time they were reported.
        sa.Index("ix_tickets_reported_at", "reported_at"),
        # The SLA sweeper's claim; most tickets have nothing pending and stay out of it.
        sa.Index(
            "ix_tickets_sla_next_action_at_id",
            "sla_next_action_at",
            "id",
            postgresql_where=sa.text("sla_next_action_at IS NOT NULL"),
            sqlite_where=sa.text("sla_next_action_at IS NOT NULL"),
        ),
    )

    id: uuid.UUID = pk()
    subject: str = Field(max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    type: TicketType = Field(sa_type=Enum(TicketType, "ticket_type"), nullable=False)
    priority: TicketPriority = Field(
        default=TicketPriority.normal,
        sa_type=Enum(TicketPriority, "ticket_priority"),
        nullable=False,
    )
    status: TicketStatus = Field(
        default=TicketStatus.new, sa_type=Enum(TicketStatus, "ticket_status"), nullable=False
    )
    category: FeedbackCategory | None = Field(
        default=None, sa_type=Enum(FeedbackCategory, "ticket_feedback_category")
    )
    queue: str | None = Field(default=None, max_length=50)
    channel: str | None = Field(default=None, max_length=50)
    customer_id: uuid.UUID = fk("customers.id")
    contact_id: uuid.UUID | None = fk("contacts.id", nullable=True)
    contract_id: uuid.UUID | None = fk("contracts.id", nullable=True, index=True)
    assignee_id: uuid.UUID | None = fk("users.id", nullable=True)
    reported_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    first_responded_at: datetime | None = instant()
    resolved_at: datetime | None = instant()
    closed_at: datetime | None = instant()
    sla_status: SlaStatus = Field(
        default=SlaStatus.on_track, sa_type=Enum(SlaStatus, "ticket_sla_status"), nullable=False
    )
    first_response_due_at: datetime | None = instant()
    resolution_due_at: datetime | None = instant()
    next_due_at: datetime | None = instant()
    # When time alone turns the stored `sla_status` at risk (see `app.rules.sla.status_at`).
    sla_at_risk_at: datetime | None = instant()
    # When the SLA sweeper next has a warning or breach to record; null: nothing pending.
    sla_next_action_at: datetime | None = instant()
    escalation_level: int = Field(default=0, nullable=False)


class TicketSlaEvent(SQLModel, table=True):
    """Append-only SLA clock log; due times are a pure function of it."""

    __tablename__ = "ticket_sla_events"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "seq", name="uq_ticket_sla_events_ticket_id_seq"),
    )

    id: uuid.UUID = pk()
    ticket_id: uuid.UUID = fk("tickets.id", ondelete="CASCADE")
    seq: int = Field(ge=1)
    kind: SlaEventKind = Field(sa_type=Enum(SlaEventKind, "sla_event_kind"), nullable=False)
    clock: SlaClockKind | None = Field(default=None, sa_type=Enum(SlaClockKind, "sla_clock_kind"))
    at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    policy_version: str = Field(max_length=64)
    calendar_version: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=Json(), nullable=False)
    actor_id: uuid.UUID | None = fk("users.id", nullable=True)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)

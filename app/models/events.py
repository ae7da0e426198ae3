import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.types import Json, UtcDateTime

# SQLite aliases only INTEGER PRIMARY KEY to its rowid, which is what autoincrements.
_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Event(SQLModel, table=True):
    """The outbox: one row per change a partner may care about, written in the change's
    own transaction. The change feed and webhook deliveries read it in `(txid, seq)`
    order; see docs/adr/0003-outbox-ordering.md for why that order has no gaps."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_txid_seq", "txid", "seq", unique=True),
        sa.Index("ix_events_record", "record_type", "record_id", "seq"),
        sa.Index("ix_events_occurred_at", "occurred_at"),
    )

    seq: int | None = Field(
        default=None, sa_column=sa.Column(_POSITION, primary_key=True, autoincrement=True)
    )
    # The writing transaction's id on PostgreSQL (0 on SQLite, whose writers take turns).
    txid: int = Field(sa_type=sa.BigInteger(), nullable=False)
    id: uuid.UUID = Field(unique=True)
    type: str = Field(max_length=64, index=True)
    record_type: str = Field(max_length=32)
    record_id: uuid.UUID
    record_version: int | None = None
    occurred_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    actor_type: str = Field(max_length=16)
    actor_id: uuid.UUID | None = None
    actor_name: str | None = Field(default=None, max_length=200)
    # Which API key or job caused the change, so a partner can skip its own writes.
    origin: str | None = Field(default=None, max_length=120)
    request_id: str | None = Field(default=None, max_length=128)
    changed_fields: list[str] = Field(default_factory=list, sa_type=Json(), nullable=False)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=Json(), nullable=False)
    previous: dict[str, Any] | None = Field(default=None, sa_type=Json())

"""Shared pieces of the table models: naming convention, keys, audit columns."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.ids import new_id
from app.core.types import UtcDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


def pk() -> Any:
    return Field(default_factory=new_id, primary_key=True)


def fk(target: str, *, nullable: bool = False, index: bool = False, ondelete: Any = None) -> Any:
    """A foreign key; list filters get their composite indexes in `__table_args__`."""
    if ondelete is None:
        return Field(default=None, foreign_key=target, nullable=nullable, index=index)
    return Field(
        default=None, foreign_key=target, nullable=nullable, index=index, ondelete=ondelete
    )


def instant(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UtcDateTime, nullable=nullable, index=index)


class Timestamps(SQLModel):
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


class Versioned(Timestamps):
    """A mutable record: `version` backs ETag / If-Match optimistic concurrency."""

    version: int = Field(default=1, nullable=False, sa_column_kwargs={"server_default": "1"})


__all__ = ["Timestamps", "Versioned", "fk", "instant", "metadata", "pk", "uuid"]

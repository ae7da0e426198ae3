"""Writing events: in the transaction of the change they describe, so a rolled-back
change leaves no event and a committed one always has its event."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.service import changed_fields, jsonable
from app.core import statements
from app.core.access import Principal
from app.core.clock import utcnow
from app.core.ids import new_id
from app.core.observability import request_id_var
from app.events.catalogue import EventType
from app.models import Event

events_table: sa.Table = Event.__table__  # type: ignore[attr-defined]

# The writing transaction's id. Readers only take events of transactions older than every
# transaction still running, which is what makes the feed gap-free (ADR 0003).
_PG_TXID: sa.ColumnElement[int] = sa.literal_column("pg_current_xact_id()::text::bigint")
_NO_TXID: sa.ColumnElement[int] = sa.literal(0, sa.BigInteger)


def txid_expression(conn: AsyncConnection) -> sa.ColumnElement[int]:
    return _PG_TXID if conn.dialect.name == "postgresql" else _NO_TXID


def origin_of(principal: Principal, job: str | None = None) -> str | None:
    """What caused a change, for partners to recognise their own writes: the API key, or
    the service's job; a person's change has no origin beyond its actor."""
    if job is not None:
        return f"job:{job}"
    return principal.key if principal.kind in ("api_key", "system") else None


def event_values(
    conn: AsyncConnection,
    principal: Principal,
    event_type: EventType,
    record: Mapping[str, Any],
    *,
    before: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    job: str | None = None,
) -> dict[str, Any]:
    """The row of one event: the record as it now is and, for a change, as it was."""
    changed = sorted(changed_fields(before, record)[1]) if before is not None else []
    request_id = request_id_var.get()
    return {
        "id": new_id(),
        "txid": txid_expression(conn),
        "type": event_type.value,
        "record_type": event_type.record_type,
        "record_id": record["id"],
        "record_version": record.get("version"),
        "occurred_at": at or utcnow(),
        "actor_type": principal.kind,
        "actor_id": None if principal.kind == "system" else principal.id,
        "actor_name": principal.name,
        "origin": origin_of(principal, job),
        "request_id": request_id if request_id != "-" else None,
        "changed_fields": changed,
        "data": jsonable(record),
        "previous": None if before is None else jsonable(before),
    }


async def emit(
    conn: AsyncConnection,
    principal: Principal,
    event_type: EventType,
    record: Mapping[str, Any],
    *,
    before: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    job: str | None = None,
) -> None:
    """One event alone, with no change written beside it: seeds the feed for its tests
    (a change's event is written by `app.core.records` with the change)."""
    values = event_values(conn, principal, event_type, record, before=before, at=at, job=job)
    await statements.run(conn, statements.insert(events_table, values))

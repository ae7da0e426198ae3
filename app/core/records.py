"""The one path every change to a record takes.

    current = await deals.locked(conn, principal, deal_id, expected_version)
    result = evaluate_transition(...)            # the pure rules decide
    row = await deals.save(conn, principal, current, values, EventType.deal_stage_changed)

`locked` reads the record under a row lock (visible to the caller, or a 404) and checks
`If-Match` (412) before any rule runs, so concurrent actions on one record serialize and
the second sees what the first did. `save` writes the new version (the version check is in
the UPDATE itself), then the audit entry and the outbox event of the change — on
PostgreSQL in one statement — all in the request's transaction: a change is never
committed without its audit entry and its event, and a rolled-back one leaves neither.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.service import audit_table, audit_values
from app.core.access import Principal
from app.core.clock import utcnow
from app.core.crud import Row, TableRepository
from app.core.http import check_version
from app.core.statements import Write, execute_together, insert_rows
from app.core.statements import insert as statements_insert
from app.events.catalogue import EventType
from app.events.outbox import event_values, events_table

# Rows written together per statement by `record_changes`: an audit entry and an event
# bind about 26 parameters, and PostgreSQL's protocol allows 32,767 per statement.
CHANGES_PER_STATEMENT = 500


def inserts(table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> list[Write | sa.Executable]:
    """One INSERT of `rows` (prebuilt for a few), or nothing for none."""
    return [insert_rows(table, rows)] if rows else []


def change_writes(
    conn: AsyncConnection,
    principal: Principal,
    event: EventType | None,
    record: Mapping[str, Any],
    *,
    action: str,
    entity_type: str | None = None,
    before: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    job: str | None = None,
    audit_note: Mapping[str, Any] | None = None,
    audit_before: Mapping[str, Any] | None = None,
    also: Sequence[EventType] = (),
    following: Sequence[Mapping[str, Any]] = (),
) -> list[Write | sa.Executable]:
    """The audit entry and the event (none for `event` None: administration records are
    audited, not partner events) of one change, to write with whatever goes with it;
    `also` are further events the same change announces, after its own (a submit within
    the author's authority is submitted, then approved), and `following` the events of
    the records it changed with it (`event_values` rows: a contract's delivery), after
    those. All of them are one INSERT, so the feed has them in that order.

    `audit_note` adds fields kept beside the record (a quote's version...) to the entry's
    after side, and `audit_before` holds where they stood, for its before side."""
    entity = entity_type or (event.record_type if event is not None else "")
    after, was = record, before
    if audit_note:
        after = {**record, **audit_note}
        if before is not None and audit_before is not None:
            was = {**before, **{name: audit_before.get(name) for name in audit_note}}
    audit = audit_values(principal, action, entity, record["id"], before=was, after=after, at=at)
    writes: list[Write | sa.Executable] = [statements_insert(audit_table, audit)]
    # One INSERT for all the change's events: its rows take their feed positions in the
    # order they are listed (PostgreSQL runs the statements of one CTE in no set order).
    rows = [
        event_values(conn, principal, announced, record, before=before, at=at, job=job)
        for announced in ((event, *also) if event is not None else ())
    ]
    if rows or following:
        writes.append(insert_rows(events_table, [*rows, *following]))
    return writes


async def record_change(
    conn: AsyncConnection,
    principal: Principal,
    event: EventType | None,
    record: Mapping[str, Any],
    *,
    action: str,
    entity_type: str | None = None,
    before: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    job: str | None = None,
    companions: Sequence[Write | sa.Executable] = (),
    audit_note: Mapping[str, Any] | None = None,
    audit_before: Mapping[str, Any] | None = None,
    also: Sequence[EventType] = (),
    following: Sequence[Mapping[str, Any]] = (),
) -> None:
    """The audit entry and the event of one change (`change_writes`), and the
    `companions` that belong to it (a deal's history row...): one round trip on
    PostgreSQL, whose data-modifying CTEs run them together; one statement each on
    SQLite. Companions must touch different rows from one another."""
    writes = change_writes(
        conn,
        principal,
        event,
        record,
        action=action,
        entity_type=entity_type,
        before=before,
        at=at,
        job=job,
        audit_note=audit_note,
        audit_before=audit_before,
        also=also,
        following=following,
    )
    await execute_together(conn, [writes[0], *companions, *writes[1:]])


async def record_changes(
    conn: AsyncConnection, audits: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> None:
    """Many changes' audit entries and events, already built (`audit_values`,
    `event_values`), for a job that changed many records set-based: written together,
    `CHANGES_PER_STATEMENT` changes a statement."""
    step = CHANGES_PER_STATEMENT
    for start in range(0, max(len(audits), len(events)), step):
        await execute_together(
            conn,
            [
                *inserts(audit_table, audits[start : start + step]),
                *inserts(events_table, events[start : start + step]),
            ],
        )


class Records:
    """One aggregate's records as the pipeline writes them."""

    def __init__(self, repository: TableRepository, record_type: str) -> None:
        self.repository = repository
        self.record_type = record_type

    async def locked(
        self,
        conn: AsyncConnection,
        principal: Principal,
        ident: uuid.UUID,
        expected_version: int | None,
    ) -> Row:
        """The record, row-locked until the request commits; 412 before any rule runs."""
        current = await self.repository.get(conn, principal, ident, lock=True)
        check_version(expected_version, current["version"])
        return current

    async def save(
        self,
        conn: AsyncConnection,
        principal: Principal,
        current: Row,
        changes: Mapping[str, Any],
        event: EventType | None,
        *,
        action: str | None = None,
        expected_version: int | None = None,
        at: datetime | None = None,
        job: str | None = None,
        companions: Callable[[Row], Sequence[Write | sa.Executable]] | None = None,
        audit_note: Mapping[str, Any] | None = None,
        audit_before: Mapping[str, Any] | None = None,
        touch: bool = False,
        touched_event: EventType | None = None,
        also: Sequence[EventType] = (),
        following: Callable[[Row], Sequence[Mapping[str, Any]]] | None = None,
    ) -> Row:
        """Write the change as a new version, with its audit entry and event. Fields set to
        the value they have are no change: a change that changes nothing writes nothing (no
        version, no entry, no event), but is still checked against `expected_version`.

        `touch` says something under the record changed (a quote's version, a contract's
        delivery): its version moves even when none of its own fields does, since its
        ETag covers the whole aggregate; such a change is announced as `touched_event`
        (None: audited only, the part's own event tells)."""
        changes = {k: v for k, v in changes.items() if k not in current or current[k] != v}
        if touch and not changes:
            event = touched_event
        row = await self.repository.update(
            conn,
            principal,
            current["id"],
            changes,
            expected_version=expected_version,
            current=current,
            touch=touch,
        )
        if row is current:
            return row
        await record_change(
            conn,
            principal,
            event,
            row,
            action=action or action_of(event),
            audit_note=audit_note,
            audit_before=audit_before,
            also=also,
            following=following(row) if following is not None else (),
            entity_type=self.record_type,
            before=current,
            at=at,
            job=job,
            companions=companions(row) if companions is not None else (),
        )
        return row

    async def create(
        self,
        conn: AsyncConnection,
        principal: Principal,
        values: Mapping[str, Any],
        event: EventType | None,
        *,
        action: str = "create",
        job: str | None = None,
        companions: Callable[[Row], Sequence[Write | sa.Executable]] | None = None,
    ) -> Row:
        """Insert a new record with its audit entry and its `.created` event."""
        row = await self.repository.insert(conn, values)
        await record_change(
            conn,
            principal,
            event,
            row,
            action=action,
            entity_type=self.record_type,
            job=job,
            companions=companions(row) if companions is not None else (),
        )
        return row


async def archive(
    conn: AsyncConnection,
    principal: Principal,
    records: Records,
    current: Row,
    expected_version: int | None,
) -> Row:
    """Soft delete through the pipeline: the row stays for history (and the event is the
    tombstone a mirror needs); archiving twice changes nothing."""
    if current["archived_at"] is not None:
        check_version(expected_version, current["version"])
        return current
    event = EventType(f"{records.record_type}.archived")
    return await records.save(
        conn,
        principal,
        current,
        {"archived_at": utcnow()},
        event,
        action="archive",
        expected_version=expected_version,
    )


def action_of(event: EventType | None) -> str:
    """The audit trail names an action as its event does, without the record type."""
    return event.value.split(".", 1)[1] if event is not None else "update"


__all__ = [
    "Records",
    "action_of",
    "archive",
    "change_writes",
    "execute_together",
    "inserts",
    "record_change",
    "record_changes",
]

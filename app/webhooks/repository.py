"""Every query for webhook endpoints, deliveries, attempts and the fan-out cursor."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.crud import Page, Row, all_dicts, first_dict
from app.core.ids import new_id
from app.core.pagination import SortKey, sort_keys
from app.events.outbox import events_table
from app.events.repository import COLUMNS as EVENT_COLUMNS
from app.models.webhooks import (
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from app.users.repository import AdminRepository, keyset_page
from app.webhooks.schemas import WebhookAttemptRead, WebhookDeliveryRead, WebhookEndpointRead

endpoints_table: sa.Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]
deliveries_table: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
attempts_table: sa.Table = WebhookAttempt.__table__  # type: ignore[attr-defined]
cursors_table: sa.Table = WebhookCursor.__table__  # type: ignore[attr-defined]

CURSOR_NAME = "events"
ENDPOINT_SORTS = sort_keys(("created_at", ("created_at",)))
# Newest first, served by ix_webhook_deliveries_endpoint_id_(status_)created_at_id.
DELIVERY_ORDER = SortKey("-created_at", ("created_at",), descending=True)

endpoints = AdminRepository(
    endpoints_table,
    "webhook endpoint",
    list(WebhookEndpointRead.model_fields),
    lambda _: endpoints_table.c.archived_at.is_(None),
)

_DELIVERY_COLUMNS = [
    deliveries_table.c[n] for n in WebhookDeliveryRead.model_fields if n != "attempt_log"
]
_ATTEMPT_COLUMNS = [attempts_table.c[n] for n in WebhookAttemptRead.model_fields]
# An event as the feed shows it (and a webhook carries it in `data`).
_EVENT_READ = [c for c in EVENT_COLUMNS if c.name not in ("txid", "seq")]
_TO_SEND = deliveries_table.c.next_attempt_at.is_not(None)
_LIVE = sa.and_(endpoints_table.c.enabled.is_(True), endpoints_table.c.archived_at.is_(None))
_IN_FEED_ORDER = (
    deliveries_table.c.event_txid,
    deliveries_table.c.event_seq,
    deliveries_table.c.id,
)


# Endpoints


async def signing_secrets(conn: AsyncConnection, endpoint_id: uuid.UUID) -> Row | None:
    """An endpoint's URL, state and secrets, for the delivery code alone (never a response)."""
    statement = sa.select(endpoints_table).where(
        endpoints_table.c.id == endpoint_id, endpoints_table.c.archived_at.is_(None)
    )
    return first_dict(await conn.execute(statement))


async def subscribed_endpoints(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The endpoints fan-out serves; a handful of rows, read whole."""
    columns = endpoints_table.c
    statement = sa.select(columns.id, columns.event_types, columns.created_at).where(_LIVE)
    return all_dicts(await conn.execute(statement))


async def set_failing_since(
    conn: AsyncConnection, endpoint_id: uuid.UUID, since: datetime | None
) -> None:
    """Operational bookkeeping, not a change of the record: no version, no audit entry."""
    await conn.execute(
        endpoints_table.update()
        .where(endpoints_table.c.id == endpoint_id)
        .values(failing_since=since)
    )


# The fan-out cursor


async def lock_cursor(conn: AsyncConnection, now: datetime) -> tuple[int, int]:
    """The cursor's position, row-locked (a write, so on SQLite the write lock is taken
    before anything is read): concurrent fan-outs take turns."""
    statement = (
        cursors_table.update()
        .where(cursors_table.c.name == CURSOR_NAME)
        .values(updated_at=now)
        .returning(cursors_table.c.txid, cursors_table.c.seq)
    )
    row = (await conn.execute(statement)).first()
    if row is None:  # created by the migration; recreated if someone deleted it
        values = {"name": CURSOR_NAME, "txid": 0, "seq": 0, "updated_at": now}
        await conn.execute(cursors_table.insert().values(values))
        return 0, 0
    return int(row[0]), int(row[1])


async def move_cursor(conn: AsyncConnection, txid: int, seq: int) -> None:
    await conn.execute(
        cursors_table.update().where(cursors_table.c.name == CURSOR_NAME).values(txid=txid, seq=seq)
    )


async def read_cursor(conn: AsyncConnection) -> tuple[int, int]:
    statement = sa.select(cursors_table.c.txid, cursors_table.c.seq).where(
        cursors_table.c.name == CURSOR_NAME
    )
    row = (await conn.execute(statement)).first()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


# Events


async def event_positions(
    conn: AsyncConnection, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Each event's feed position (txid, seq), by id (served by uq_events_id)."""
    if not event_ids:
        return {}
    statement = sa.select(events_table.c.id, events_table.c.txid, events_table.c.seq).where(
        events_table.c.id.in_(event_ids)
    )
    return {row[0]: (int(row[1]), int(row[2])) for row in await conn.execute(statement)}


async def event_for_webhook(conn: AsyncConnection, event_id: uuid.UUID) -> dict[str, Any] | None:
    statement = sa.select(*_EVENT_READ).where(events_table.c.id == event_id)
    return first_dict(await conn.execute(statement))


async def events_to_replay(
    conn: AsyncConnection,
    *,
    types: Sequence[str],
    until_position: tuple[int, int],
    since: datetime | None = None,
    until: datetime | None = None,
    after_position: tuple[int, int] | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    """Events in feed order within a time range (ix_events_occurred_at) or after a position
    (ix_events_txid_seq), no further than `until_position` (what fan-out has passed)."""
    position = sa.tuple_(events_table.c.txid, events_table.c.seq)
    where = [
        events_table.c.type.in_(types),
        position <= sa.tuple_(sa.literal(until_position[0]), sa.literal(until_position[1])),
    ]
    if since is not None:
        where.append(events_table.c.occurred_at >= since)
    if until is not None:
        where.append(events_table.c.occurred_at < until)
    if after_position is not None:
        where.append(position > sa.tuple_(*(sa.literal(v) for v in after_position)))
    statement = (
        sa.select(
            events_table.c.id,
            events_table.c.type,
            events_table.c.txid,
            events_table.c.seq,
            events_table.c.occurred_at,
        )
        .where(*where)
        .order_by(events_table.c.txid, events_table.c.seq)
        .limit(limit)
    )
    return all_dicts(await conn.execute(statement))


async def oldest_unfanned_event(conn: AsyncConnection, after: tuple[int, int]) -> datetime | None:
    position = sa.tuple_(events_table.c.txid, events_table.c.seq)
    statement = (
        sa.select(events_table.c.occurred_at)
        .where(position > sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
        .order_by(events_table.c.txid, events_table.c.seq)
        .limit(1)
    )
    return (await conn.execute(statement)).scalar()


# Deliveries


def delivery_values(
    endpoint_id: uuid.UUID,
    event: Mapping[str, Any],
    position: tuple[int, int],
    *,
    now: datetime,
    trigger: str = "event",
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "endpoint_id": endpoint_id,
        "event_id": event["id"],
        "event_type": event["type"],
        "event_txid": position[0],
        "event_seq": position[1],
        "event_occurred_at": event["occurred_at"],
        "trigger": trigger,
        "status": WebhookDeliveryStatus.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def insert_deliveries(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await conn.execute(deliveries_table.insert(), list(rows))


async def next_in_line(conn: AsyncConnection, endpoint_id: uuid.UUID) -> dict[str, Any] | None:
    """The endpoint's first delivery still to send, in feed order (ix_webhook_deliveries_
    endpoint_due): later ones wait for it."""
    statement = (
        sa.select(deliveries_table)
        .where(deliveries_table.c.endpoint_id == endpoint_id, _TO_SEND)
        .order_by(*_IN_FEED_ORDER)
        .limit(1)
    )
    return first_dict(await conn.execute(statement))


async def endpoints_with_due_head(conn: AsyncConnection, now: datetime) -> list[uuid.UUID]:
    """Enabled endpoints whose first delivery in line is due: one probe of the partial
    index per endpoint, so a failing endpoint's queue behind its head costs nothing."""
    head_due_at = (
        sa.select(deliveries_table.c.next_attempt_at)
        .where(deliveries_table.c.endpoint_id == endpoints_table.c.id, _TO_SEND)
        .order_by(*_IN_FEED_ORDER)
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        sa.select(endpoints_table.c.id)
        .where(_LIVE, head_due_at <= now)
        .order_by(endpoints_table.c.id)
    )
    return list((await conn.execute(statement)).scalars())


async def oldest_waiting_event(conn: AsyncConnection) -> datetime | None:
    """When the oldest event still to deliver to an enabled endpoint occurred."""
    statement = (
        sa.select(sa.func.min(deliveries_table.c.event_occurred_at))
        .join(endpoints_table, endpoints_table.c.id == deliveries_table.c.endpoint_id)
        .where(_TO_SEND, _LIVE)
    )
    return (await conn.execute(statement)).scalar()


async def update_delivery(
    conn: AsyncConnection, delivery_id: uuid.UUID, values: Mapping[str, Any]
) -> None:
    await conn.execute(
        deliveries_table.update().where(deliveries_table.c.id == delivery_id).values(**values)
    )


async def insert_attempt(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(attempts_table.insert().values({"id": new_id(), **values}))


async def prune_settled_deliveries(conn: AsyncConnection, before: datetime) -> int:
    """Forget deliveries no longer to send that were created before `before`, with their
    attempts (ON DELETE CASCADE), through ix_webhook_deliveries_settled_created_at. Those
    still to send stay, however old: an endpoint that is off keeps what it is owed."""
    statement = deliveries_table.delete().where(
        deliveries_table.c.next_attempt_at.is_(None), deliveries_table.c.created_at < before
    )
    return int((await conn.execute(statement)).rowcount)


async def get_delivery(
    conn: AsyncConnection, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, *, lock: bool = False
) -> dict[str, Any] | None:
    statement = sa.select(*_DELIVERY_COLUMNS).where(
        deliveries_table.c.id == delivery_id, deliveries_table.c.endpoint_id == endpoint_id
    )
    if lock:
        statement = statement.with_for_update()
    return first_dict(await conn.execute(statement))


async def waiting_delivery_of(
    conn: AsyncConnection, endpoint_id: uuid.UUID, event_id: uuid.UUID
) -> dict[str, Any] | None:
    """A delivery of this event to this endpoint that is still to send, if any."""
    statement = sa.select(*_DELIVERY_COLUMNS).where(
        deliveries_table.c.endpoint_id == endpoint_id,
        deliveries_table.c.event_id == event_id,
        _TO_SEND,
    )
    return first_dict(await conn.execute(statement.limit(1)))


async def delivery_page(
    conn: AsyncConnection,
    endpoint_id: uuid.UUID,
    *,
    status: WebhookDeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> Page:
    where = [deliveries_table.c.endpoint_id == endpoint_id]
    if status is not None:
        where.append(deliveries_table.c.status == status)
    statement = sa.select(*_DELIVERY_COLUMNS).where(*where)
    result = await keyset_page(
        conn, deliveries_table, statement, sort=DELIVERY_ORDER, cursor=cursor, limit=limit
    )
    items = [dict(row) for row in result.items]
    await attach_attempts(conn, items)
    return Page(list[Row](items), result.next_cursor)


async def attach_attempts(conn: AsyncConnection, deliveries: list[dict[str, Any]]) -> None:
    """Each delivery's `attempt_log`, oldest first, in one query (ix_webhook_attempts_
    delivery_id_at)."""
    logs: dict[uuid.UUID, list[dict[str, Any]]] = {d["id"]: [] for d in deliveries}
    if logs:
        statement = (
            sa.select(attempts_table.c.delivery_id, *_ATTEMPT_COLUMNS)
            .where(attempts_table.c.delivery_id.in_(list(logs)))
            .order_by(attempts_table.c.delivery_id, attempts_table.c.at)
        )
        for row in all_dicts(await conn.execute(statement)):
            logs[row.pop("delivery_id")].append(row)
    for delivery in deliveries:
        delivery["attempt_log"] = logs[delivery["id"]]

"""Reading the outbox as a feed: commit-safe order, the caller's visibility, filters."""

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal, visible
from app.core.crud import all_dicts
from app.core.errors import BadRequest, ErrorItem
from app.events.outbox import events_table
from app.models import (
    Activity,
    Contact,
    Contract,
    ContractChangeRequest,
    Customer,
    Deal,
    Delivery,
    Lead,
    PaymentMilestone,
    Quote,
    Task,
    Ticket,
)

# Each record type: its table and the kind whose visibility it follows; the parts of a
# contract follow their contract.
_RECORDS: dict[str, tuple[Any, Kind]] = {
    "lead": (Lead, Kind.leads),
    "customer": (Customer, Kind.customers),
    "contact": (Contact, Kind.contacts),
    "deal": (Deal, Kind.deals),
    "quote": (Quote, Kind.quotes),
    "contract": (Contract, Kind.contracts),
    "ticket": (Ticket, Kind.tickets),
    "task": (Task, Kind.tasks),
    "activity": (Activity, Kind.activities),
}
_CONTRACT_PARTS = {
    "delivery": Delivery,
    "milestone": PaymentMilestone,
    "change_request": ContractChangeRequest,
}
KIND_OF = {
    **{t: k for t, (_, k) in _RECORDS.items()},
    **dict.fromkeys(_CONTRACT_PARTS, Kind.contracts),
}

# On PostgreSQL: only transactions older than every one still running (ADR 0003).
_PG_HORIZON: sa.ColumnElement[int] = sa.literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
)
# A transaction reads its own events too (a request's reads have no transaction id).
_PG_OWN_TXID: sa.ColumnElement[int] = sa.literal_column(
    "pg_current_xact_id_if_assigned()::text::bigint"
)

COLUMNS = [
    events_table.c[name]
    for name in (
        "id",
        "type",
        "record_type",
        "record_id",
        "record_version",
        "occurred_at",
        "actor_type",
        "actor_id",
        "actor_name",
        "origin",
        "request_id",
        "changed_fields",
        "data",
        "previous",
        "txid",
        "seq",
    )
]


@dataclass(frozen=True)
class Position:
    """Where a reader is in the feed: after the event at (txid, seq)."""

    txid: int
    seq: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.txid}.{self.seq}".encode()).rstrip(b"=").decode()

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
            txid, seq = raw.split(".")
            if not (txid.isascii() and seq.isascii()) or len(raw) > 40:
                raise ValueError(raw)
            position = cls(int(txid), int(seq))
        except (ValueError, UnicodeDecodeError, binascii.Error) as error:
            raise _invalid_after() from error
        if position.txid < 0 or position.seq < 0:
            raise _invalid_after()
        return position


def _invalid_after() -> BadRequest:
    detail = "`after` is not a position this feed issued: pass a `next_cursor` it returned."
    return BadRequest(detail, errors=[ErrorItem("invalid_cursor", detail, "after")])


def _visible_records(principal: Principal, record_types: Sequence[str]) -> sa.ColumnElement[bool]:
    if principal.sees_everything and principal.kind != "api_key":
        return sa.true()
    branches = []
    for record_type in record_types:
        kind = KIND_OF[record_type]
        if not principal.can(kind, "read"):
            continue
        condition: sa.ColumnElement[bool] = sa.true()
        if not principal.sees_everything:
            condition = _record_visible(principal, record_type)
        branches.append(sa.and_(events_table.c.record_type == record_type, condition))
    return sa.or_(sa.false(), *branches)


def _record_visible(principal: Principal, record_type: str) -> sa.ColumnElement[bool]:
    record = events_table.c.record_id
    if record_type in _CONTRACT_PARTS:
        part: sa.Table = _CONTRACT_PARTS[record_type].__table__  # type: ignore[attr-defined]
        contracts: sa.Table = Contract.__table__  # type: ignore[attr-defined]
        shown = sa.select(contracts.c.id).where(visible(principal, Kind.contracts, contracts))
        return record.in_(sa.select(part.c.id).where(part.c.contract_id.in_(shown)))
    model, kind = _RECORDS[record_type]
    table: sa.Table = model.__table__
    return record.in_(sa.select(table.c.id).where(visible(principal, kind, table)))


@dataclass(frozen=True)
class FeedQuery:
    after: Position | None
    types: Sequence[str]
    record_types: Sequence[str]
    record_id: uuid.UUID | None
    limit: int


async def read_feed(
    conn: AsyncConnection, principal: Principal, query: FeedQuery, record_types: Sequence[str]
) -> tuple[list[dict[str, Any]], Position | None]:
    """One page of the feed, and the position to read on from (None: nothing read yet
    and nothing to read; the caller keeps its `after`)."""
    where = [_visible_records(principal, query.record_types or record_types)]
    if conn.dialect.name == "postgresql":
        txid = events_table.c.txid
        where.append(sa.or_(txid < _PG_HORIZON, txid == _PG_OWN_TXID))
    if query.after is not None:
        where.append(
            sa.tuple_(events_table.c.txid, events_table.c.seq)
            > sa.tuple_(sa.literal(query.after.txid), sa.literal(query.after.seq))
        )
    if query.types:
        where.append(events_table.c.type.in_(query.types))
    if query.record_id is not None:
        where.append(events_table.c.record_id == query.record_id)
    statement = (
        sa.select(*COLUMNS)
        .where(*where)
        .order_by(events_table.c.txid, events_table.c.seq)
        .limit(query.limit)
    )
    rows = all_dicts(await conn.execute(statement))
    last = Position(rows[-1]["txid"], rows[-1]["seq"]) if rows else query.after
    for row in rows:
        del row["txid"], row["seq"]
    return rows, last


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Forget events older than the retention: a reader that far behind starts again."""
    result = await conn.execute(events_table.delete().where(events_table.c.occurred_at < before))
    return int(result.rowcount)

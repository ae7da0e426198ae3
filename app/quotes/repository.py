"""Every query for quotes, their versions, line items and the approval queue."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core import statements
from app.core.access import Kind, Principal, viewer_params, visibility_shape, visible
from app.core.crud import Page, Row, TableRepository, all_dicts, first_dict
from app.core.enums import ContractStatus, CustomerTier, DealStage, QuoteStatus, Role
from app.core.errors import not_found
from app.core.http import etag
from app.core.ids import new_id
from app.core.pagination import (
    SortKey,
    cursor_literals,
    decode_cursor,
    encode_cursor,
    keyset_clause,
    order_by,
    page,
    sort_keys,
)
from app.customers.repository import customers_table
from app.deals.repository import deals_table
from app.models import Contract, Quote, QuoteLineItem, QuoteVersion
from app.quotes.schemas import QuoteLineRead, QuoteRead, QuoteVersionRead

quotes_table: sa.Table = Quote.__table__  # type: ignore[attr-defined]
versions_table: sa.Table = QuoteVersion.__table__  # type: ignore[attr-defined]
lines_table: sa.Table = QuoteLineItem.__table__  # type: ignore[attr-defined]
_contracts: sa.Table = Contract.__table__  # type: ignore[attr-defined]

quotes = TableRepository(quotes_table, Kind.quotes, "quote", list(QuoteRead.model_fields))
_VERSION_COLUMNS = [versions_table.c[name] for name in QuoteVersionRead.model_fields]
_LINE_COLUMNS = [lines_table.c[name] for name in QuoteLineRead.model_fields]

QUOTE_SORTS = sort_keys(("created_at", ("created_at",)), ("updated_at", ("updated_at",)))
VERSION_ORDER = SortKey("number", ("number",))

_VERSION_BY_NUMBER = sa.select(*_VERSION_COLUMNS).where(
    versions_table.c.quote_id == sa.bindparam("quote_id"),
    versions_table.c.number == sa.bindparam("number"),
)
_LINES_OF = (
    sa.select(*_LINE_COLUMNS)
    .where(lines_table.c.quote_version_id == sa.bindparam("version_id"))
    .order_by(lines_table.c.position)
)

_VERSION, _LINE, _DEAL_STAGE = "version__", "line__", "deal_stage__"
_VERSION_NAMES = [column.name for column in _VERSION_COLUMNS]
_LINE_NAMES = [column.name for column in _LINE_COLUMNS]
_VERSION_AND_LINES = (
    sa.select(
        *(column.label(_VERSION + column.name) for column in _VERSION_COLUMNS),
        *(column.label(_LINE + column.name) for column in _LINE_COLUMNS),
    )
    .select_from(
        versions_table.outerjoin(lines_table, lines_table.c.quote_version_id == versions_table.c.id)
    )
    .where(
        versions_table.c.quote_id == sa.bindparam("quote_id"),
        versions_table.c.number == sa.bindparam("number"),
    )
    .order_by(lines_table.c.position)
)

_IS_CURRENT = sa.and_(
    quotes_table.c.id == versions_table.c.quote_id,
    quotes_table.c.current_version_no == versions_table.c.number,
)


async def find_visible_deal(
    conn: AsyncConnection, principal: Principal, deal_id: uuid.UUID
) -> Row | None:
    deals = deals_table
    statement = sa.select(
        deals.c.id, deals.c.stage, deals.c.customer_id, deals.c.owner_id, deals.c.currency
    ).where(deals.c.id == deal_id, visible(principal, Kind.deals, deals))
    return (await conn.execute(statement)).mappings().first()


async def other_contract_statuses(
    conn: AsyncConnection, customer_id: uuid.UUID | None, deal_id: uuid.UUID
) -> list[ContractStatus]:
    """The statuses of the customer's contracts on deals other than `deal_id`: what a
    renewal discount would renew."""
    if customer_id is None:
        return []
    statement = (
        sa.select(_contracts.c.status)
        .distinct()
        .where(_contracts.c.customer_id == customer_id, _contracts.c.deal_id != deal_id)
    )
    return [ContractStatus(status) for status in (await conn.execute(statement)).scalars()]


async def version_by_number(conn: AsyncConnection, quote_id: uuid.UUID, number: int) -> Row | None:
    parameters = {"quote_id": quote_id, "number": number}
    return first_dict(await conn.execute(_VERSION_BY_NUMBER, parameters))


async def current_version(conn: AsyncConnection, quote: Row) -> Row:
    version = await version_by_number(conn, quote["id"], quote["current_version_no"])
    assert version is not None, "a quote always has its current version"
    return version


async def current_version_and_lines(conn: AsyncConnection, quote: Row) -> tuple[Row, list[Row]]:
    """The quote's current version and its lines, in position order, in one round trip
    (one row per line; a version without lines comes as one row without a line)."""
    parameters = {"quote_id": quote["id"], "number": quote["current_version_no"]}
    rows = all_dicts(await conn.execute(_VERSION_AND_LINES, parameters))
    assert rows, "a quote always has its current version"
    version = {name: rows[0][_VERSION + name] for name in _VERSION_NAMES}
    lines: list[Row] = [
        {name: row[_LINE + name] for name in _LINE_NAMES}
        for row in rows
        if row[_LINE + "id"] is not None
    ]
    return version, lines


_LOCKED_WITH_STAGE: dict[tuple[object, ...], sa.Select[Any]] = {}


async def lock_with_deal_stage(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID
) -> tuple[Row, DealStage]:
    """The quote row-locked, and its deal's stage share-locked so the deal cannot close
    under a quote action that has checked it is open: one round trip."""
    shape = visibility_shape(principal)
    statement = _LOCKED_WITH_STAGE.get(shape)
    if statement is None:
        deal_stage = (
            sa.select(deals_table.c.stage)
            .where(deals_table.c.id == quotes_table.c.deal_id)
            .with_for_update(read=True)
            .scalar_subquery()
        )
        statement = _LOCKED_WITH_STAGE[shape] = (
            sa.select(*quotes.columns, deal_stage.label(_DEAL_STAGE))
            .where(
                quotes_table.c.id == sa.bindparam("ident", type_=sa.Uuid),
                visible(principal, Kind.quotes, quotes_table),
            )
            .with_for_update(of=quotes_table)
        )
    parameters = {"ident": quote_id, **viewer_params(principal)}
    row = first_dict(await conn.execute(statement, parameters))
    if row is None:
        raise not_found(quotes.label, quote_id)
    return row, DealStage(row.pop(_DEAL_STAGE))


async def current_versions(conn: AsyncConnection, quote_ids: Sequence[uuid.UUID]) -> dict[Any, Row]:
    """The current version of each quote, in one query."""
    if not quote_ids:
        return {}
    statement = (
        sa.select(*_VERSION_COLUMNS)
        .join(quotes_table, _IS_CURRENT)
        .where(quotes_table.c.id.in_(quote_ids))
    )
    rows = (await conn.execute(statement)).mappings().all()
    return {row["quote_id"]: row for row in rows}


async def lines_of(conn: AsyncConnection, version_id: uuid.UUID) -> list[Row]:
    lines: list[Row] = [*all_dicts(await conn.execute(_LINES_OF, {"version_id": version_id}))]
    return lines


async def insert_version(
    conn: AsyncConnection,
    values: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    at: datetime,
) -> Row:
    statement = (
        versions_table.insert()
        .values(id=new_id(), created_at=at, updated_at=at, **values)
        .returning(*_VERSION_COLUMNS)
    )
    version = (await conn.execute(statement)).mappings().one()
    await _insert_lines(conn, version["id"], lines)
    return version


def version_update(
    version_id: uuid.UUID, values: Mapping[str, Any], at: datetime, *, returning: bool = False
) -> statements.Write:
    """The UPDATE of one version, for the caller to run (or to pass along with the
    quote's change, which writes it in the same round trip)."""
    return statements.update_by_id(
        versions_table,
        version_id,
        {"updated_at": at, **values},
        returning=_VERSION_COLUMNS if returning else (),
    )


async def update_version(
    conn: AsyncConnection, version_id: uuid.UUID, values: Mapping[str, Any], at: datetime
) -> Row:
    write = version_update(version_id, values, at, returning=True)
    row = first_dict(await statements.run(conn, write))
    assert row is not None
    return row


async def replace_lines(
    conn: AsyncConnection, version_id: uuid.UUID, lines: Sequence[Mapping[str, Any]]
) -> None:
    await conn.execute(lines_table.delete().where(lines_table.c.quote_version_id == version_id))
    await _insert_lines(conn, version_id, lines)


async def _insert_lines(
    conn: AsyncConnection, version_id: uuid.UUID, lines: Sequence[Mapping[str, Any]]
) -> None:
    rows = [{"id": new_id(), "quote_version_id": version_id, **line} for line in lines]
    await conn.execute(lines_table.insert(), rows)


async def list_versions(
    conn: AsyncConnection, quote_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page:
    """A quote's versions, oldest first."""
    statement = sa.select(*_VERSION_COLUMNS).where(versions_table.c.quote_id == quote_id)
    if cursor:
        values = decode_cursor(cursor, VERSION_ORDER)
        statement = statement.where(keyset_clause(versions_table, VERSION_ORDER, values))
    statement = statement.order_by(*order_by(versions_table, VERSION_ORDER)).limit(limit + 1)
    rows = (await conn.execute(statement)).mappings().all()
    return Page(*page(rows, limit, VERSION_ORDER))


# ------------------------------------------------------------------ approval queue

# Strategic customers (computed tier or a manager's override) first, then oldest first;
# the same order as `app.rules.quotes.approval_queue_key`, computed by the database so
# the queue pages by keyset.
QUEUE_ORDER = SortKey("queue", ("rank", "submitted_at"))
_GREEN_CHANNEL = sa.or_(
    customers_table.c.tier == CustomerTier.strategic,
    customers_table.c.tier_override == CustomerTier.strategic,
)
_RANK = sa.case((_GREEN_CHANNEL, 0), else_=1)
_QUEUE_COLUMNS = (
    versions_table.c.quote_id,
    versions_table.c.id.label("quote_version_id"),
    versions_table.c.number.label("version_number"),
    quotes_table.c.title,
    quotes_table.c.deal_id,
    quotes_table.c.customer_id,
    customers_table.c.name.label("customer_name"),
    _RANK.label("rank"),
    quotes_table.c.owner_id,
    versions_table.c.submitted_by,
    versions_table.c.submitted_at,
    versions_table.c.required_approver_role,
    versions_table.c.effective_discount_pct,
    versions_table.c.total,
    versions_table.c.currency,
    versions_table.c.valid_until,
    quotes_table.c.version,
)


def _queue_keyset(values: Sequence[Any]) -> sa.ColumnElement[bool]:
    columns = (_RANK, versions_table.c.submitted_at, versions_table.c.id)
    return sa.tuple_(*columns) > sa.tuple_(*cursor_literals(values, columns))


async def approval_queue(
    conn: AsyncConnection,
    principal: Principal,
    roles: Sequence[Role],
    *,
    cursor: str | None,
    limit: int,
) -> Page:
    """Pending versions a principal may approve: one of `roles` required, not their own."""
    statement = (
        sa.select(*_QUEUE_COLUMNS)
        .select_from(versions_table.join(quotes_table, _IS_CURRENT))
        .outerjoin(customers_table, customers_table.c.id == quotes_table.c.customer_id)
        .where(
            versions_table.c.status == QuoteStatus.pending_approval,
            versions_table.c.required_approver_role.in_([role.value for role in roles]),
            versions_table.c.submitted_by != principal.id,
            visible(principal, Kind.quotes, quotes_table),
        )
    )
    if cursor:
        statement = statement.where(_queue_keyset(decode_cursor(cursor, QUEUE_ORDER)))
    statement = statement.order_by(_RANK, versions_table.c.submitted_at, versions_table.c.id)
    rows = (await conn.execute(statement.limit(limit + 1))).mappings().all()
    items: list[Row] = [_queue_item(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        position = {"rank": last["rank"], "submitted_at": last["submitted_at"]}
        next_cursor = encode_cursor(QUEUE_ORDER, {**position, "id": last["quote_version_id"]})
    return Page(items, next_cursor)


def _queue_item(row: Row) -> dict[str, Any]:
    item = dict(row)
    item["green_channel"] = item.pop("rank") == 0
    item["etag"] = etag(item["version"])
    return item

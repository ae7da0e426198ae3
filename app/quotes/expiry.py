"""Quotes whose validity ran out, expired in one pass (`salesflow run-deadlines`).

The same transition and audit entry as `POST /quotes/{id}/expire`, recorded by the
system: candidates come from one query, the rules service confirms each, and two set-based
UPDATEs move the versions and their quotes.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.service import record
from app.core.access import SYSTEM
from app.core.enums import QuoteStatus
from app.quotes.repository import quotes_table, versions_table
from app.rules.quotes import QUOTE_MOVES, QuoteAction, check_quote_action

_EXPIRABLE, _ = QUOTE_MOVES[QuoteAction.expire]


async def _lapsed(conn: AsyncConnection, now: datetime) -> list[Any]:
    """Current versions that may expire and whose last valid day is behind `now`."""
    statement = (
        sa.select(
            quotes_table.c.id.label("quote_id"),
            versions_table.c.id.label("version_id"),
            versions_table.c.status,
            versions_table.c.valid_until,
        )
        .join(
            versions_table,
            sa.and_(
                versions_table.c.quote_id == quotes_table.c.id,
                versions_table.c.number == quotes_table.c.current_version_no,
            ),
        )
        .where(
            versions_table.c.status.in_(_EXPIRABLE),
            versions_table.c.valid_until < now.date(),
        )
        .with_for_update(of=quotes_table)
    )
    rows = (await conn.execute(statement)).all()
    return [
        row
        for row in rows
        if check_quote_action(
            row.status, QuoteAction.expire, now=now, valid_until=row.valid_until
        ).ok
    ]


async def expire_lapsed_quotes(conn: AsyncConnection, now: datetime) -> int:
    """Expire every pending, approved or sent quote past its `valid_until` day; how many."""
    lapsed = await _lapsed(conn, now)
    if not lapsed:
        return 0
    expired = {"status": QuoteStatus.expired, "updated_at": now}
    await conn.execute(
        versions_table.update()
        .where(versions_table.c.id.in_([row.version_id for row in lapsed]))
        .values(**expired, expired_at=now)
    )
    await conn.execute(
        quotes_table.update()
        .where(quotes_table.c.id.in_([row.quote_id for row in lapsed]))
        .values(**expired, version=quotes_table.c.version + 1)
    )
    for row in lapsed:
        await record(
            conn,
            SYSTEM,
            QuoteAction.expire.value,
            "quote",
            row.quote_id,
            before={"status": row.status, "expired_at": None},
            after={"status": QuoteStatus.expired, "expired_at": now},
        )
    return len(lapsed)

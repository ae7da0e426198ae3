"""Quotes whose validity ran out, expired in one pass (`salesflow run-deadlines`).

The same transition, audit entry and `quote.expired` event as `POST /quotes/{id}/expire`,
recorded by the system: candidates come from one query, the rules service confirms each,
two set-based UPDATEs move the versions and their quotes, and the audit entries and
events of all of them are written together.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.service import audit_values
from app.core.access import SYSTEM
from app.core.crud import Row, all_dicts
from app.core.enums import QuoteStatus
from app.core.records import record_changes
from app.events.catalogue import EventType
from app.events.outbox import event_values
from app.quotes.repository import quotes, quotes_table, versions_table
from app.rules.quotes import QUOTE_MOVES, QuoteAction, check_quote_action

_EXPIRABLE, _ = QUOTE_MOVES[QuoteAction.expire]
JOB = "quote_expiry"


async def _lapsed(conn: AsyncConnection, now: datetime) -> list[dict[str, Any]]:
    """Quotes (as the API shows them) whose current version may expire and whose last
    valid day is behind `now`, with that version's id and validity."""
    statement = (
        sa.select(
            *quotes.columns,
            versions_table.c.id.label("version_id"),
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
    rows = all_dicts(await conn.execute(statement))
    return [
        row
        for row in rows
        if check_quote_action(
            row["status"], QuoteAction.expire, now=now, valid_until=row["valid_until"]
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
        .where(versions_table.c.id.in_([row["version_id"] for row in lapsed]))
        .values(**expired, expired_at=now)
    )
    result = await conn.execute(
        quotes_table.update()
        .where(quotes_table.c.id.in_([row["id"] for row in lapsed]))
        .values(**expired, version=quotes_table.c.version + 1)
        .returning(*quotes.columns)
    )
    after = {row["id"]: row for row in all_dicts(result)}
    befores = [{name: row[name] for name in after[row["id"]]} for row in lapsed]
    await _record_expiries(conn, [(before, after[before["id"]]) for before in befores], now)
    return len(lapsed)


async def _record_expiries(
    conn: AsyncConnection, changes: Sequence[tuple[Row, Row]], now: datetime
) -> None:
    """Each quote's audit entry and `quote.expired` event, as the pipeline writes one
    change's (`app.core.records.record_change`), for all of them together."""
    note = {"expired_at": now}
    audits = [
        audit_values(
            SYSTEM,
            QuoteAction.expire.value,
            "quote",
            after["id"],
            before=before,
            after={**after, **note},
            at=now,
        )
        for before, after in changes
    ]
    events = [
        event_values(conn, SYSTEM, EventType.quote_expired, after, before=before, at=now, job=JOB)
        for before, after in changes
    ]
    await record_changes(conn, audits, events)

"""The change feed: what changed, in commit order, as far as the caller may see."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Principal
from app.core.errors import ErrorItem, Forbidden
from app.events import repository as repo
from app.events.catalogue import RECORD_TYPES

EVENTS_SCOPE = "events:read"


def _require_feed(principal: Principal) -> None:
    if principal.kind == "api_key" and EVENTS_SCOPE not in principal.scopes:
        raise Forbidden(
            "Your credentials do not allow reading the change feed.",
            errors=[ErrorItem("insufficient_permission", f"needs {EVENTS_SCOPE}", None)],
        )


async def list_events(
    conn: AsyncConnection, principal: Principal, query: repo.FeedQuery
) -> dict[str, Any]:
    _require_feed(principal)
    items, last = await repo.read_feed(conn, principal, query, RECORD_TYPES)
    return {"items": items, "next_cursor": None if last is None else last.encode()}


async def prune_events(conn: AsyncConnection, now: datetime, retention_days: int) -> int:
    return await repo.prune(conn, now - timedelta(days=retention_days))

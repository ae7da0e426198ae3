"""The change feed: every change partners care about, in commit order."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.core.deps import Conn, CurrentPrincipal
from app.core.json import JsonResponse
from app.core.routing import DEFAULT_PAGE_SIZE, READ_PROBLEMS, Limit, api_router
from app.events import service
from app.events.catalogue import RECORD_TYPES, EventType
from app.events.repository import FeedQuery, Position
from app.events.schemas import EventPage

router = api_router("/api/v1/events", "events")

RecordType = Annotated[str, Query(pattern="^(" + "|".join(RECORD_TYPES) + ")$")]


async def feed_query(
    after: Annotated[
        str | None,
        Query(max_length=64, description="The `next_cursor` of the previous page."),
    ] = None,
    type: Annotated[
        list[EventType] | None, Query(description="Only these event types (repeatable).")
    ] = None,
    record_type: Annotated[
        list[RecordType] | None,
        Query(description="Only events about these record types (repeatable)."),
    ] = None,
    record_id: Annotated[uuid.UUID | None, Query(description="Only events of one record.")] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> FeedQuery:
    return FeedQuery(
        after=Position.decode(after) if after is not None else None,
        types=[t.value for t in type or ()],
        record_types=list(record_type or ()),
        record_id=record_id,
        limit=limit,
    )


@router.get("", response_model=EventPage, responses=READ_PROBLEMS)
async def list_events(
    conn: Conn, principal: CurrentPrincipal, query: Annotated[FeedQuery, Depends(feed_query)]
) -> JsonResponse:
    """Read what changed since `after`, oldest first, in the order the changes committed:
    no event is skipped or repeated, however many writers there are. Only events of
    records you may see are listed (partner keys need `events:read` and the read scope
    of each kind). Poll with the returned `next_cursor`; events are kept for
    `SALESFLOW_EVENTS_RETENTION_DAYS` (30 by default). The event types are listed in
    `docs/events.md`.
    """
    return JsonResponse(await service.list_events(conn, principal, query))

"""Activities API: the follow-up log — calls, emails, meetings, visits, demos, notes."""

import uuid
from typing import Annotated

from fastapi import Query

from app.activities import service
from app.activities.repository import ACTIVITY_SORTS
from app.activities.schemas import ActivityCreate, ActivityRead, ActivityUpdate
from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import ActivityKind
from app.core.http import IfMatch, created_response, record_response
from app.core.json import JsonResponse
from app.core.pagination import sort_enum
from app.core.routing import (
    DEFAULT_PAGE_SIZE,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Cursor,
    Limit,
    api_router,
)
from app.core.schemas import AwareDatetime, Page

router = api_router("/api/v1/activities", "activities")

ActivitySort = sort_enum("ActivitySort", ACTIVITY_SORTS)


@router.post("", status_code=201, response_model=ActivityRead, responses=WRITE_PROBLEMS)
async def create_activity(
    body: ActivityCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Log something that happened with a customer, a lead or about a deal.

    Name at least one of `customer_id`, `contact_id`, `deal_id` or `lead_id`; every record
    you name must be one you can see (`422 reference_not_found` otherwise). A contact or
    deal must belong to `customer_id`; without `customer_id` the activity takes the
    contact's or deal's customer. `occurred_at` needs a time zone and may not be in the
    future (5 minutes of clock skew allowed). You are recorded as the activity's owner.
    The customer's `last_contact_at` moves forward to `occurred_at` (a back-dated
    activity never moves it back). An activity on a `nurturing` or `archived` lead is its
    nurture touch: the lead's `next_touch_at` moves to `occurred_at` + 90 days, its open
    nurture-touch task is completed and the next one opened (once per cycle; an activity
    older than the current cycle changes neither). Activities are history: they can be
    corrected, not deleted.
    """

    async def make() -> JsonResponse:
        row = await service.create_activity(conn, principal, body)
        return created_response(row, f"/api/v1/activities/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("", response_model=Page[ActivityRead], responses=READ_PROBLEMS)
async def list_activities(
    conn: Conn,
    principal: CurrentPrincipal,
    customer_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    deal_id: uuid.UUID | None = None,
    lead_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    kind: ActivityKind | None = None,
    occurred_after: Annotated[
        AwareDatetime | None, Query(description="Occurred at or after this instant.")
    ] = None,
    occurred_before: Annotated[
        AwareDatetime | None, Query(description="Occurred strictly before this instant.")
    ] = None,
    sort: ActivitySort = "-occurred_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the activities you may see, most recent first unless you choose another sort."""
    result = await service.list_activities(
        conn,
        principal,
        filters={
            "customer_id": customer_id,
            "contact_id": contact_id,
            "deal_id": deal_id,
            "lead_id": lead_id,
            "owner_id": owner_id,
            "kind": kind,
        },
        occurred_after=occurred_after,
        occurred_before=occurred_before,
        sort=ACTIVITY_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/{activity_id}", response_model=ActivityRead, responses=READ_PROBLEMS)
async def get_activity(
    activity_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read one activity."""
    return record_response(await service.get_activity(conn, principal, activity_id))


@router.patch("/{activity_id}", response_model=ActivityRead, responses=WRITE_PROBLEMS)
async def update_activity(
    activity_id: uuid.UUID,
    body: ActivityUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Correct an activity's `kind`, `summary` or `details` (its author or a manager).

    When it happened and what it is about are fixed: log a new activity instead.
    Send `If-Match` with the ETag you read.
    """
    row = await service.update_activity(conn, principal, activity_id, body, version)
    return record_response(row)

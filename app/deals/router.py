"""Deals: the key-account pipeline, its six stage gates and the actions that prove them."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Query

from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import DealStage
from app.core.http import IfMatch, created_response, etag, record_response
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
from app.deals import service
from app.deals.repository import DEAL_SORTS
from app.deals.schemas import (
    DealBid,
    DealCreate,
    DealRead,
    DealStageChangeRead,
    DealTransition,
    DealUpdate,
    TransitionOptions,
)

router = api_router("/api/v1/deals", "deals")

DealSort = sort_enum("DealSort", DEAL_SORTS)


@router.post("", status_code=201, response_model=DealRead, responses=WRITE_PROBLEMS)
async def create_deal(
    body: DealCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Open a deal. It starts in `development` and its stage history starts with it.

    A rep's deal is theirs; managers and above may name another `owner_id`. `customer_id`
    must be a customer you can see.
    """

    async def make() -> JsonResponse:
        deal = await service.create_deal(conn, principal, body)
        return created_response(deal, f"/api/v1/deals/{deal['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("", response_model=Page[DealRead], responses=READ_PROBLEMS)
async def list_deals(
    conn: Conn,
    principal: CurrentPrincipal,
    owner_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    stage: DealStage | None = None,
    stale: Annotated[
        bool | None,
        Query(description="true: only stale open deals; false: only the others."),
    ] = None,
    expected_close_before: Annotated[
        date | None, Query(description="Expected close strictly before this date.")
    ] = None,
    expected_close_after: Annotated[
        date | None, Query(description="Expected close on or after this date.")
    ] = None,
    created_after: Annotated[
        AwareDatetime | None, Query(description="Created at or after this instant.")
    ] = None,
    sort: DealSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the deals you may see, filtered and in keyset order.

    Each deal carries its `weighted_amount` (amount times the stage's win probability) and
    `is_stale`, so a pipeline view needs no second call.
    """
    result = await service.list_deals(
        conn,
        principal,
        filters={"owner_id": owner_id, "customer_id": customer_id, "stage": stage},
        stale=stale,
        expected_close_before=expected_close_before,
        expected_close_after=expected_close_after,
        created_after=created_after,
        sort=DEAL_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result)


@router.get("/{deal_id}", response_model=DealRead, responses=READ_PROBLEMS)
async def get_deal(deal_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read one deal."""
    return record_response(await service.get_deal(conn, principal, deal_id))


@router.patch("/{deal_id}", response_model=DealRead, responses=WRITE_PROBLEMS)
async def update_deal(
    deal_id: uuid.UUID,
    body: DealUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Change some fields of an open deal. Send `If-Match` with the ETag you read.

    The stage is not a field: move it with `POST /api/v1/deals/{id}/transition`. Won and
    lost deals are read-only (409) until reopened. Deals are never deleted; mark them lost.
    """
    return record_response(await service.update_deal(conn, principal, deal_id, body, version))


@router.post("/{deal_id}/transition", response_model=DealRead, responses=WRITE_PROBLEMS)
async def transition_deal(
    deal_id: uuid.UUID,
    body: DealTransition,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Move the deal to another stage, if the stage gate allows it.

    Forward moves go one stage at a time and need the key node of the stage being left
    (see `GET /api/v1/deals/{id}/transitions`). Moving back one stage needs a `reason`;
    moving to `lost` needs a `lost_reason` (and a `reason` for `other`); reopening a won or
    lost deal returns it to the stage it was closed from and needs a manager and a reason.

    A refusal lists **every** unmet check in `errors`, each with a stable `code`: `409` when
    the deal's state rules the move out (wrong stage, closed), `403` when only another role
    may make it (`transition.reopen_requires_manager`), `422` when checks are unmet.
    """

    async def make() -> JsonResponse:
        deal = await service.transition_deal(conn, principal, deal_id, body, version)
        return record_response(deal)

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("/{deal_id}/transitions", response_model=TransitionOptions, responses=READ_PROBLEMS)
async def list_deal_transitions(
    deal_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Dry run: each stage the deal can move to now, with the checks still unmet.

    `allowed` ignores only what the transition request itself carries (`reason`,
    `lost_reason`); those are flagged by `reason_required` and `lost_reason_required`.
    The `ETag` is the deal's, ready for the `If-Match` of the transition.
    """
    deal, options = await service.list_deal_transitions(conn, principal, deal_id)
    return JsonResponse({"items": options}, headers={"ETag": etag(deal["version"])})


@router.post("/{deal_id}/presales-approval", response_model=DealRead, responses=WRITE_PROBLEMS)
async def approve_deal_presales(
    deal_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Approve the opportunity as a presales project (the key node of `initiation`).

    Managers, directors and admins only, and never the deal's own owner (`403`,
    code `self_approval`). `409` when it is already approved or the deal is closed.
    """

    async def make() -> JsonResponse:
        return record_response(await service.approve_presales(conn, principal, deal_id, version))

    return await idem.respond(make)  # type: ignore[return-value]


@router.post("/{deal_id}/bid", response_model=DealRead, responses=WRITE_PROBLEMS)
async def record_deal_bid(
    deal_id: uuid.UUID,
    body: DealBid,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Record the bid submitted for the deal, with its amount (the key node of `bidding`).

    Only while the deal is in `bidding` (`409` otherwise); recording again replaces the
    bid, e.g. after a negotiated re-bid.
    """

    async def make() -> JsonResponse:
        deal = await service.record_bid(conn, principal, deal_id, body, version)
        return record_response(deal)

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("/{deal_id}/history", response_model=Page[DealStageChangeRead], responses=READ_PROBLEMS)
async def list_deal_history(
    deal_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """The deal's stage changes, oldest first: from, to, who, when, why, and the amount
    and expected close date at that moment."""
    result = await service.list_stage_history(conn, principal, deal_id, cursor=cursor, limit=limit)
    return JsonResponse(result.as_dict())

"""Quotes, their versions, discount approvals and the approver's queue."""

import uuid
from typing import Annotated

from fastapi import Path
from starlette.responses import Response

from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import QuoteStatus
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
    problems,
)
from app.core.schemas import Page
from app.quotes import actions, service
from app.quotes.repository import QUOTE_SORTS
from app.quotes.schemas import (
    ApprovalRead,
    QuoteCopy,
    QuoteCreate,
    QuoteDetail,
    QuoteListItem,
    QuoteRejection,
    QuoteUpdate,
    QuoteVersionDetail,
    QuoteVersionRead,
)

# The approver's queue lives beside the quotes at /api/v1/approvals.
router = api_router("/api/v1", "quotes")

QuoteSort = sort_enum("QuoteSort", QUOTE_SORTS)
VersionNumber = Annotated[int, Path(ge=1, le=1_000_000)]


@router.post("/quotes", status_code=201, response_model=QuoteDetail, responses=WRITE_PROBLEMS)
async def create_quote(
    body: QuoteCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> Response:
    """Create a quote for an open deal: version 1, in draft.

    Send lines with list prices and discounts; the service computes every total, the
    effective discount (what approval authority is judged on) and the approval
    fingerprint. `renewal_years` applies the multi-year policy discount, which needs no
    approval — only for a renewal: the customer must hold a signed, not terminated contract
    from another deal (422 `quote.renewal_not_eligible` otherwise). Customer and owner come
    from the deal.
    """

    async def make() -> JsonResponse:
        row = await service.create_quote(conn, principal, body)
        return created_response(row, f"/api/v1/quotes/{row['id']}")

    return await idem.respond(make)


@router.get("/quotes", response_model=Page[QuoteListItem], responses=READ_PROBLEMS)
async def list_quotes(
    conn: Conn,
    principal: CurrentPrincipal,
    deal_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    status: QuoteStatus | None = None,
    sort: QuoteSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the quotes you may see, each with its current version's totals (no lines)."""
    result = await service.list_quotes(
        conn,
        principal,
        filters={
            "deal_id": deal_id,
            "customer_id": customer_id,
            "owner_id": owner_id,
            "status": status,
        },
        sort=QUOTE_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result)


@router.get("/quotes/{quote_id}", response_model=QuoteDetail, responses=READ_PROBLEMS)
async def get_quote(quote_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read a quote with its current version and that version's lines."""
    return record_response(await service.get_quote(conn, principal, quote_id))


@router.patch("/quotes/{quote_id}", response_model=QuoteDetail, responses=WRITE_PROBLEMS)
async def update_quote(
    quote_id: uuid.UUID,
    body: QuoteUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Edit a quote. Send `If-Match` with the ETag you read.

    A draft is edited in place. A version that was submitted (pending approval, approved
    or sent) is never changed: a content edit creates the next version, in draft, and the
    old one becomes `superseded` — so an approval never carries over to content it did not
    cover. Accepted, rejected and expired quotes cannot be edited (409); copy them instead.
    """
    row = await service.update_quote(conn, principal, quote_id, body, version)
    return record_response(row)


@router.get(
    "/quotes/{quote_id}/versions", response_model=Page[QuoteVersionRead], responses=READ_PROBLEMS
)
async def list_quote_versions(
    quote_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """Every version of a quote, oldest first (without lines)."""
    result = await service.list_versions(conn, principal, quote_id, cursor=cursor, limit=limit)
    return JsonResponse(result.as_dict())


@router.get(
    "/quotes/{quote_id}/versions/{number}",
    response_model=QuoteVersionDetail,
    responses=READ_PROBLEMS,
)
async def get_quote_version(
    quote_id: uuid.UUID, number: VersionNumber, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """One version of a quote, with its lines, exactly as it was submitted or approved."""
    return JsonResponse(await service.get_version(conn, principal, quote_id, number))


@router.post("/quotes/{quote_id}/submit", response_model=QuoteDetail, responses=WRITE_PROBLEMS)
async def submit_quote(
    quote_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Submit the draft for approval.

    Within your own discount authority (rep 5 %, manager 10 %, director 15 %) the quote is
    approved at once, with no approver named. Above it, it waits (`pending_approval`) for
    the least senior role whose limit covers it (`required_approver_role`). Above 15 %
    no one may approve it: 422 with code `discount.above_ceiling`.

    Submitting, approving, sending and accepting all need the deal open: on a won or lost
    deal they are refused with 409 `quote.deal_closed`.
    """
    return await idem.act(lambda: actions.submit_quote(conn, principal, quote_id, version))


@router.post(
    "/quotes/{quote_id}/approve",
    response_model=QuoteDetail,
    responses=WRITE_PROBLEMS | problems(428),
)
async def approve_quote(
    quote_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Approve a quote waiting for you. Your authority must cover its effective discount,
    and you may not approve a quote you submitted (403).

    `If-Match` is required: send the `etag` of the quote as you reviewed it (from
    `GET /approvals` or `GET /quotes/{id}`). Without it the answer is 428; if the quote
    changed since — say the author edited and resubmitted it — 412, and nothing is
    approved. The approval is bound to the version's fingerprint: any later content edit
    makes a new, unapproved version."""
    return await idem.act(lambda: actions.approve_quote(conn, principal, quote_id, version))


@router.post("/quotes/{quote_id}/reject", response_model=QuoteDetail, responses=WRITE_PROBLEMS)
async def reject_quote(
    quote_id: uuid.UUID,
    body: QuoteRejection,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Reject a quote, with a reason: an approver refusing a pending quote (same authority
    rules as approving), or the customer turning down a sent one."""
    return await idem.act(
        lambda: actions.reject_quote(conn, principal, quote_id, body.reason, version)
    )


@router.post("/quotes/{quote_id}/send", response_model=QuoteDetail, responses=WRITE_PROBLEMS)
async def send_quote(
    quote_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Record that the approved quote went to the customer (only while it is still valid)."""
    return await idem.act(lambda: actions.send_quote(conn, principal, quote_id, version))


@router.post("/quotes/{quote_id}/accept", response_model=QuoteDetail, responses=WRITE_PROBLEMS)
async def accept_quote(
    quote_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Record the customer's acceptance of the sent quote. After its `valid_until` day it
    can no longer be accepted (422 `quote.validity_passed`; 409 `quote.expired` once
    expired; 409 `quote.deal_closed` on a won or lost deal). A contract can then be made
    from this exact version."""
    return await idem.act(lambda: actions.accept_quote(conn, principal, quote_id, version))


@router.post("/quotes/{quote_id}/expire", response_model=QuoteDetail, responses=WRITE_PROBLEMS)
async def expire_quote(
    quote_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Record that a pending, approved or sent quote expired (its `valid_until` passed)."""
    return await idem.act(lambda: actions.expire_quote(conn, principal, quote_id, version))


@router.post(
    "/quotes/{quote_id}/copy", status_code=201, response_model=QuoteDetail, responses=WRITE_PROBLEMS
)
async def copy_quote(
    quote_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
    body: QuoteCopy | None = None,
) -> Response:
    """Start a new draft quote for the same deal from this quote's current content.

    The copy is never approved, whatever the original was, and gets a fresh validity date.
    """

    async def make() -> JsonResponse:
        row = await service.copy_quote(conn, principal, quote_id, body or QuoteCopy())
        return created_response(row, f"/api/v1/quotes/{row['id']}")

    return await idem.respond(make)


@router.get("/approvals", response_model=Page[ApprovalRead], responses=READ_PROBLEMS)
async def list_approvals(
    conn: Conn,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """Your approval queue: quotes waiting for a role whose discount limit yours covers,
    never ones you submitted. Strategic customers' quotes come first (the green channel),
    then the longest waiting."""
    result = await service.approval_queue(conn, principal, cursor=cursor, limit=limit)
    return JsonResponse(result.as_dict())

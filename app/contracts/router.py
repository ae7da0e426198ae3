"""Contracts: review and signing, payment milestones, delivery, acceptance, change requests.

A contract is one aggregate: its milestones, deliveries and change requests are changed
through actions on it, and its `ETag` covers them all — send it as `If-Match` on every
action. Deliveries and change requests carry the contract's `ETag` too.

Creating something (the contract, a delivery, a change request) answers 201 with what
was created and its `Location`; every other action changes an existing record and
answers 200 with the whole contract.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Query
from starlette.responses import Response

from app.contracts import fulfilment, lifecycle, service
from app.contracts.repository import CONTRACT_SORTS
from app.contracts.schemas import (
    ChangeRequestCreate,
    ChangeRequestRead,
    ContractAcceptance,
    ContractCreate,
    ContractDetail,
    ContractRead,
    ContractTermination,
    ContractUpdate,
    DeliveryCreate,
    DeliveryProgress,
    DeliveryRead,
    MilestonePayment,
)
from app.contracts.service import Part
from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import ChangeRequestStatus, ContractStatus
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
from app.core.schemas import Page

router = api_router("/api/v1/contracts", "contracts")

ContractSort = sort_enum("ContractSort", CONTRACT_SORTS)
Run = Callable[[], Awaitable[dict[str, Any]]]
RunPart = Callable[[], Awaitable[Part]]


async def _created(idem: IdempotentPost, run: Run) -> Response:
    """A new contract: 201 with the contract, once per key."""

    async def make() -> Response:
        row = await run()
        return created_response(row, f"/api/v1/contracts/{row['id']}")

    return await idem.respond(make)


def _part_response(part: Part, status_code: int = 200, **headers: str) -> JsonResponse:
    """A delivery or change request, with the ETag of its contract."""
    return JsonResponse(
        part.item,
        status_code=status_code,
        headers={"ETag": etag(part.contract_version), **headers},
    )


async def _created_part(
    idem: IdempotentPost, contract_id: uuid.UUID, collection: str, run: RunPart
) -> Response:
    """A new delivery or change request: 201 with it and its address, once per key."""

    async def make() -> Response:
        part = await run()
        location = f"/api/v1/contracts/{contract_id}/{collection}/{part.item['id']}"
        return _part_response(part, 201, Location=location)

    return await idem.respond(make)


@router.post("", status_code=201, response_model=ContractDetail, responses=WRITE_PROBLEMS)
async def create_contract(
    body: ContractCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> Response:
    """Make a contract from a quote whose current version the customer accepted.

    The amount and currency are that version's total; the contract points at the exact
    version, and one version makes at most one contract (409). A won or lost deal takes
    no new contract (409 `contract.deal_closed`). Payment milestones must add up to
    exactly 100 % (422 lists every problem with the plan).
    """
    return await _created(idem, lambda: service.create_contract(conn, principal, body))


@router.get("", response_model=Page[ContractRead], responses=READ_PROBLEMS)
async def list_contracts(
    conn: Conn,
    principal: CurrentPrincipal,
    customer_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    deal_id: uuid.UUID | None = None,
    status: ContractStatus | None = None,
    ending_before: Annotated[
        date | None, Query(description="Contracts whose end_date is before this day.")
    ] = None,
    sort: ContractSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the contracts you may see, filtered and in keyset order."""
    result = await service.list_contracts(
        conn,
        principal,
        filters={
            "customer_id": customer_id,
            "owner_id": owner_id,
            "deal_id": deal_id,
            "status": status,
        },
        ending_before=ending_before,
        sort=CONTRACT_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/{contract_id}", response_model=ContractDetail, responses=READ_PROBLEMS)
async def get_contract(
    contract_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read a contract with its milestones (each with `overdue_days`), deliveries and
    change requests."""
    return record_response(await service.get_contract(conn, principal, contract_id))


@router.patch("/{contract_id}", response_model=ContractDetail, responses=WRITE_PROBLEMS)
async def update_contract(
    contract_id: uuid.UUID,
    body: ContractUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Change the title or dates. Status moves through the actions; the amount only
    through approved change requests."""
    row = await service.update_contract(conn, principal, contract_id, body, version)
    return record_response(row)


@router.post(
    "/{contract_id}/submit-review", response_model=ContractDetail, responses=WRITE_PROBLEMS
)
async def submit_contract_for_review(
    contract_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Send a draft contract for review."""
    return await idem.act(
        lambda: lifecycle.submit_for_review(conn, principal, contract_id, version)
    )


@router.post(
    "/{contract_id}/return-to-draft", response_model=ContractDetail, responses=WRITE_PROBLEMS
)
async def return_contract_to_draft(
    contract_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Send a contract under review back to draft for changes."""
    return await idem.act(lambda: lifecycle.return_to_draft(conn, principal, contract_id, version))


@router.post("/{contract_id}/approve", response_model=ContractDetail, responses=WRITE_PROBLEMS)
async def approve_contract(
    contract_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Approve a contract under review: managers, directors and admins, never its owner."""
    return await idem.act(lambda: lifecycle.approve_contract(conn, principal, contract_id, version))


@router.post("/{contract_id}/sign", response_model=ContractDetail, responses=WRITE_PROBLEMS)
async def sign_contract(
    contract_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Record the signature of an approved contract.

    Signing-anchored milestones get their due dates, and the deal moves from negotiation
    to implementation (409 naming the deal's stage if it is not in negotiation).
    """
    return await idem.act(lambda: lifecycle.sign_contract(conn, principal, contract_id, version))


@router.post(
    "/{contract_id}/deliveries",
    status_code=201,
    response_model=DeliveryRead,
    responses=WRITE_PROBLEMS,
)
async def schedule_delivery(
    contract_id: uuid.UUID,
    body: DeliveryCreate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Schedule a delivery (not on a delivered contract, whose every delivery is installed).

    201 with the new delivery; `Location` is its address. The `ETag` is the contract's new
    one: send it as `If-Match` on the contract's next action. With a planned date, its
    `notice_date` is 2 days before, and the contract's owner gets a `delivery_notice` task
    due at the start of that day to tell the customer.
    """
    return await _created_part(
        idem,
        contract_id,
        "deliveries",
        lambda: fulfilment.schedule_delivery(conn, principal, contract_id, body, version),
    )


@router.get("/{contract_id}/deliveries", response_model=Page[DeliveryRead], responses=READ_PROBLEMS)
async def list_contract_deliveries(
    contract_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """A contract's deliveries, in the order they were scheduled (404 for a contract you
    may not see)."""
    result = await service.list_deliveries(conn, principal, contract_id, cursor=cursor, limit=limit)
    return JsonResponse(result.as_dict())


@router.get(
    "/{contract_id}/deliveries/{delivery_id}",
    response_model=DeliveryRead,
    responses=READ_PROBLEMS,
)
async def get_contract_delivery(
    contract_id: uuid.UUID, delivery_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read one delivery of a contract you may see. The `ETag` is the contract's."""
    part = await service.get_delivery(conn, principal, contract_id, delivery_id)
    return _part_response(part)


@router.post(
    "/{contract_id}/deliveries/{delivery_id}/progress",
    response_model=ContractDetail,
    responses=WRITE_PROBLEMS,
)
async def record_delivery_progress(
    contract_id: uuid.UUID,
    delivery_id: uuid.UUID,
    body: DeliveryProgress,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Move a delivery one step: shipped → arrived → installed (no skipping, no going back).

    The first shipment puts a signed contract `in_delivery`; the installation of its last
    delivery makes it `delivered` (at the latest installation) and gives delivery-anchored
    milestones their due dates. `arrived` starts the customer's acceptance window (3 days).
    `at` may backdate a step, but not before the signature or the previous step, and
    not into the future (422 naming `at`).
    """
    return await idem.act(
        lambda: fulfilment.record_delivery_progress(
            conn, principal, contract_id, delivery_id, body, version
        ),
    )


@router.post("/{contract_id}/accept", response_model=ContractDetail, responses=WRITE_PROBLEMS)
async def accept_contract(
    contract_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
    body: ContractAcceptance | None = None,
) -> Response:
    """Record the customer's explicit acceptance of a delivered contract (every delivery
    installed).

    The deal is won, acceptance-anchored milestones get due dates, and a satisfaction
    survey (24 h) and a first visit (72 h) become tasks for the contract's owner.
    """
    return await idem.act(lambda: fulfilment.accept_contract(conn, principal, contract_id, version))


@router.post(
    "/{contract_id}/deem-acceptance", response_model=ContractDetail, responses=WRITE_PROBLEMS
)
async def deem_contract_accepted(
    contract_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Record a deemed acceptance: every delivery is installed and the customer did not
    answer within 3 days of the last arrival (422 `acceptance.window_open` before that).
    Same effects as an explicit one, recorded as `deemed`, at the instant the window
    closed — or at the last installation, if that came later. `salesflow run-deadlines`
    records the same for every contract whose window has closed."""
    return await idem.act(lambda: fulfilment.deem_acceptance(conn, principal, contract_id, version))


@router.post("/{contract_id}/close", response_model=ContractDetail, responses=WRITE_PROBLEMS)
async def close_contract(
    contract_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Close an accepted contract."""
    return await idem.act(lambda: lifecycle.close_contract(conn, principal, contract_id, version))


@router.post("/{contract_id}/terminate", response_model=ContractDetail, responses=WRITE_PROBLEMS)
async def terminate_contract(
    contract_id: uuid.UUID,
    body: ContractTermination,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Terminate a contract that is not yet closed; a reason is required."""
    return await idem.act(
        lambda: lifecycle.terminate_contract(conn, principal, contract_id, body.reason, version),
    )


@router.post(
    "/{contract_id}/milestones/{milestone_id}/pay",
    response_model=ContractDetail,
    responses=WRITE_PROBLEMS,
)
async def pay_milestone(
    contract_id: uuid.UUID,
    milestone_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
    body: MilestonePayment | None = None,
) -> Response:
    """Record a milestone's payment (by default its full amount, now) on a signed contract."""
    return await idem.act(
        lambda: fulfilment.pay_milestone(
            conn, principal, contract_id, milestone_id, body or MilestonePayment(), version
        ),
    )


@router.post(
    "/{contract_id}/change-requests",
    status_code=201,
    response_model=ChangeRequestRead,
    responses=WRITE_PROBLEMS,
)
async def request_contract_change(
    contract_id: uuid.UUID,
    body: ChangeRequestCreate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Put a written change with its extra fee on a signed contract, pending approval.

    201 with the new change request; `Location` is its address. The `ETag` is the
    contract's new one: send it as `If-Match` to approve or reject the change."""
    return await _created_part(
        idem,
        contract_id,
        "change-requests",
        lambda: fulfilment.request_change(conn, principal, contract_id, body, version),
    )


@router.get(
    "/{contract_id}/change-requests",
    response_model=Page[ChangeRequestRead],
    responses=READ_PROBLEMS,
)
async def list_contract_change_requests(
    contract_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """A contract's change requests, oldest first (404 for a contract you may not see)."""
    result = await service.list_change_requests(
        conn, principal, contract_id, cursor=cursor, limit=limit
    )
    return JsonResponse(result.as_dict())


@router.get(
    "/{contract_id}/change-requests/{change_id}",
    response_model=ChangeRequestRead,
    responses=READ_PROBLEMS,
)
async def get_contract_change_request(
    contract_id: uuid.UUID, change_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read one change request of a contract you may see. The `ETag` is the contract's."""
    part = await service.get_change_request(conn, principal, contract_id, change_id)
    return _part_response(part)


@router.post(
    "/{contract_id}/change-requests/{change_id}/approve",
    response_model=ContractDetail,
    responses=WRITE_PROBLEMS,
)
async def approve_contract_change(
    contract_id: uuid.UUID,
    change_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Approve a change request (managers and above, not its requester): its fee is added
    to the contract amount. Paid milestones keep their amounts; the unpaid ones are
    re-split in proportion to their percentages so all still add up to the amount (409
    `change_request.no_unpaid_milestone` when every milestone is paid)."""
    return await idem.act(
        lambda: fulfilment.decide_change(
            conn, principal, contract_id, change_id, ChangeRequestStatus.approved, version
        ),
    )


@router.post(
    "/{contract_id}/change-requests/{change_id}/reject",
    response_model=ContractDetail,
    responses=WRITE_PROBLEMS,
)
async def reject_contract_change(
    contract_id: uuid.UUID,
    change_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Reject a change request (managers and above, not its requester)."""
    return await idem.act(
        lambda: fulfilment.decide_change(
            conn, principal, contract_id, change_id, ChangeRequestStatus.rejected, version
        ),
    )

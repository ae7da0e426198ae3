"""Customers (accounts) and their contacts — the decision chain."""

import uuid
from typing import Annotated

from fastapi import Query

from app.core.deps import AppSettings, Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import CustomerGrade, CustomerTier, DecisionRole, LifecycleStage
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
from app.core.schemas import Page
from app.customers import service
from app.customers.repository import CONTACT_SORTS, CUSTOMER_SORTS
from app.customers.schemas import (
    ContactCreate,
    ContactRead,
    ContactUpdate,
    CustomerCreate,
    CustomerHealth,
    CustomerRead,
    CustomerUpdate,
    MarkLost,
    TierOverride,
)
from app.rules.customers import HealthWarningCode

router = api_router("/api/v1/customers", "customers")

CustomerSort = sort_enum("CustomerSort", CUSTOMER_SORTS)
ContactSort = sort_enum("ContactSort", CONTACT_SORTS)


@router.post("", status_code=201, response_model=CustomerRead, responses=WRITE_PROBLEMS)
async def create_customer(
    body: CustomerCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Create a customer account. A rep's new customer is theirs unless they name no one else."""

    async def make() -> JsonResponse:
        row = await service.create_customer(conn, principal, body)
        return created_response(row, f"/api/v1/customers/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("", response_model=Page[CustomerRead], responses=READ_PROBLEMS)
async def list_customers(
    conn: Conn,
    principal: CurrentPrincipal,
    owner_id: uuid.UUID | None = None,
    tier: CustomerTier | None = None,
    grade: CustomerGrade | None = None,
    lifecycle_stage: LifecycleStage | None = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Name prefix, any case.")
    ] = None,
    warning: Annotated[
        HealthWarningCode | None,
        Query(description="Only customers with this health warning, e.g. no_contact_60d."),
    ] = None,
    archived: Annotated[bool, Query(description="Include archived customers.")] = False,
    sort: CustomerSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the customers you may see, filtered and in keyset order."""
    result = await service.list_customers(
        conn,
        principal,
        filters={
            "owner_id": owner_id,
            "tier": tier,
            "grade": grade,
            "lifecycle_stage": lifecycle_stage,
        },
        q=q,
        warning=warning,
        include_archived=archived,
        sort=CUSTOMER_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/{customer_id}", response_model=CustomerRead, responses=READ_PROBLEMS)
async def get_customer(
    customer_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read one customer."""
    return record_response(await service.get_customer(conn, principal, customer_id))


@router.patch("/{customer_id}", response_model=CustomerRead, responses=WRITE_PROBLEMS)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Change some fields of a customer. Send `If-Match` with the ETag you read."""
    row = await service.update_customer(conn, principal, customer_id, body, version)
    return record_response(row)


@router.delete("/{customer_id}", response_model=CustomerRead, responses=WRITE_PROBLEMS)
async def archive_customer(
    customer_id: uuid.UUID, version: IfMatch, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Archive a customer: kept for history, hidden from lists unless `archived=true`."""
    row = await service.archive_customer(conn, principal, customer_id, version)
    return record_response(row)


@router.get("/{customer_id}/health", response_model=CustomerHealth, responses=READ_PROBLEMS)
async def get_customer_health(
    customer_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Health warnings (no contact for 60 days, payment overdue more than 15 days, no
    purchase for 180 days, never contacted or purchased, churn risk) and the follow-up and
    purchase reminders, computed now from the customer's history."""
    return JsonResponse(await service.get_customer_health(conn, principal, customer_id))


@router.post("/{customer_id}/tier-override", response_model=CustomerRead, responses=WRITE_PROBLEMS)
async def override_customer_tier(
    customer_id: uuid.UUID,
    body: TierOverride,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """A manager sets the tier by hand, with a reason: `tier` becomes the override and
    `tier_reason` says so and why, while `computed_tier` and `computed_tier_reason` keep
    showing what the customer's purchases say. `tier_override_by` and `tier_override_at`
    name who set it and when, and the change is in the audit trail. Managers, directors
    and admins only."""
    return await idem.act(  # type: ignore[return-value]
        lambda: service.override_tier(conn, principal, customer_id, body.tier, body.reason, version)
    )


@router.delete(
    "/{customer_id}/tier-override", response_model=CustomerRead, responses=WRITE_PROBLEMS
)
async def clear_customer_tier_override(
    customer_id: uuid.UUID, version: IfMatch, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Remove a manual tier override; the computed tier applies again (`tier` equals
    `computed_tier`, and `tier_reason` its reason). `tier_override_by`
    and `tier_override_at` then name who cleared it and when; the override itself stays in
    the audit trail. Removing an override that is not there changes nothing."""
    row = await service.override_tier(conn, principal, customer_id, None, None, version)
    return record_response(row)


@router.post("/{customer_id}/mark-lost", response_model=CustomerRead, responses=WRITE_PROBLEMS)
async def mark_customer_lost(
    customer_id: uuid.UUID,
    body: MarkLost,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """A manager records that the customer is lost (gone to a competitor, closed down...),
    with a reason. Its `lifecycle_stage` becomes `churned` at once, whatever its purchases,
    until the mark is cleared. Managers, directors and admins only; `409`
    (`already_marked_lost`) when it is marked already. Kept in the audit trail."""
    return await idem.act(  # type: ignore[return-value]
        lambda: service.mark_lost(conn, principal, customer_id, body.reason, version)
    )


@router.delete("/{customer_id}/mark-lost", response_model=CustomerRead, responses=WRITE_PROBLEMS)
async def clear_customer_lost_mark(
    customer_id: uuid.UUID, version: IfMatch, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Take back a "lost" mark (the customer came back): the lifecycle stage is computed
    from its history again. Managers, directors and admins only; clearing a mark that is
    not there changes nothing. Kept in the audit trail."""
    row = await service.clear_lost_mark(conn, principal, customer_id, version)
    return record_response(row)


@router.post(
    "/{customer_id}/contacts", status_code=201, response_model=ContactRead, responses=WRITE_PROBLEMS
)
async def create_contact(
    customer_id: uuid.UUID,
    body: ContactCreate,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
    settings: AppSettings,
) -> JsonResponse:
    """Add a person at the customer, with their role in the decision chain.

    A `phone` is stored as sent and checked: one that is not a valid number is a `422`
    (`invalid_phone`). Without a country code it is read as dialled in the service's
    default region (`SALESFLOW_DEFAULT_PHONE_REGION`, `CN` unless configured).
    """

    async def make() -> JsonResponse:
        row = await service.create_contact(
            conn, principal, customer_id, body, phone_region=settings.default_phone_region
        )
        return created_response(row, f"/api/v1/customers/{customer_id}/contacts/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("/{customer_id}/contacts", response_model=Page[ContactRead], responses=READ_PROBLEMS)
async def list_contacts(
    customer_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    decision_role: DecisionRole | None = None,
    archived: Annotated[bool, Query(description="Include archived contacts.")] = False,
    sort: ContactSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List a customer's contacts."""
    result = await service.list_contacts(
        conn,
        principal,
        customer_id,
        decision_role=decision_role,
        include_archived=archived,
        sort=CONTACT_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get(
    "/{customer_id}/contacts/{contact_id}", response_model=ContactRead, responses=READ_PROBLEMS
)
async def get_contact(
    customer_id: uuid.UUID, contact_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read one contact."""
    return record_response(await service.get_contact(conn, principal, customer_id, contact_id))


@router.patch(
    "/{customer_id}/contacts/{contact_id}", response_model=ContactRead, responses=WRITE_PROBLEMS
)
async def update_contact(
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    body: ContactUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    settings: AppSettings,
) -> JsonResponse:
    """Change some fields of a contact; a new `phone` is checked as on creation."""
    row = await service.update_contact(
        conn,
        principal,
        customer_id,
        contact_id,
        body,
        version,
        phone_region=settings.default_phone_region,
    )
    return record_response(row)


@router.delete(
    "/{customer_id}/contacts/{contact_id}", response_model=ContactRead, responses=WRITE_PROBLEMS
)
async def archive_contact(
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Archive a contact who left the customer; activities that name them keep the link."""
    row = await service.archive_contact(conn, principal, customer_id, contact_id, version)
    return record_response(row)

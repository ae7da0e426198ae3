"""Leads API: capture, qualify, move through the status flow, convert."""

import uuid
from typing import Annotated

from fastapi import Query

from app.core.deps import AppSettings, Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import LeadGrade, LeadSource, LeadStatus
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
from app.leads import conversion, service
from app.leads.repository import LEAD_SORTS
from app.leads.schemas import (
    LeadConversion,
    LeadConvert,
    LeadCreate,
    LeadCreated,
    LeadQualify,
    LeadRead,
    LeadStatusChange,
    LeadUpdate,
)

router = api_router("/api/v1/leads", "leads")

LeadSort = sort_enum("LeadSort", LEAD_SORTS)


@router.post("", status_code=201, response_model=LeadCreated, responses=WRITE_PROBLEMS)
async def create_lead(
    body: LeadCreate,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
    settings: AppSettings,
) -> JsonResponse:
    """Capture a lead from any channel (website forms and partner systems included).

    - **Score and grade** are computed from whichever BANT facts you send (budget, authority,
      need, expected purchase date, industry, number of decision makers).
    - **Owner**: the `owner_id` you send (reps may only name themselves), otherwise the lead
      is routed: grade A leads go to the active senior rep with the fewest open leads
      (`new`, `contacted`, `qualified`, `nurturing`), other grades to the least-loaded active
      standard rep; ties go to the lower user id, and when a pool is empty the other pool is
      used. With no active rep at all the lead stays unassigned. The answer's `routing`
      says which pool the grade routed to and who was given the lead. You keep read
      access to a lead you capture (`created_by`) when routing gives it to someone else,
      so `Location` always answers you; changing it is for its owner (and their manager).
    - **Phone**: stored as sent; without a country code it is read as dialled in the
      service's default region (`SALESFLOW_DEFAULT_PHONE_REGION`, `CN` unless configured).
      A number that is not valid there is a `422` (`invalid_phone`); duplicates are found
      on its E.164 form, however it was written.
    - **Duplicates**: if the normalized email or phone matches a lead that is not converted
      or disqualified, or a current contact, the answer is `409` with one `duplicate_lead`
      error per match. Send `"allow_duplicate": true` to create it anyway; the matches are
      kept in `duplicate_of`. An API key hears only which fields match (one error per
      field, no record ids), and sees in `duplicate_of` only the kinds of record it may read.
    - A `referral` lead must name `referrer_customer_id`. A `trade_show` lead gets a
      follow-up task for its owner, due 24 hours after capture.
    """

    async def make() -> JsonResponse:
        row = await service.create_lead(
            conn, principal, body, phone_region=settings.default_phone_region
        )
        return created_response(row, f"/api/v1/leads/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("", response_model=Page[LeadRead], responses=READ_PROBLEMS)
async def list_leads(
    conn: Conn,
    principal: CurrentPrincipal,
    owner_id: uuid.UUID | None = None,
    status: LeadStatus | None = None,
    source: LeadSource | None = None,
    grade: LeadGrade | None = None,
    campaign: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    created_after: Annotated[
        AwareDatetime | None, Query(description="Created at or after this instant.")
    ] = None,
    created_before: Annotated[
        AwareDatetime | None, Query(description="Created strictly before this instant.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Company or contact name prefix (any case), or an exact email.",
        ),
    ] = None,
    sort: LeadSort = "-created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the leads you may see, newest first unless you choose another sort."""
    result = await service.list_leads(
        conn,
        principal,
        filters={
            "owner_id": owner_id,
            "status": status,
            "source": source,
            "grade": grade,
            "campaign": campaign,
        },
        created_after=created_after,
        created_before=created_before,
        q=q,
        sort=LEAD_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/{lead_id}", response_model=LeadRead, responses=READ_PROBLEMS)
async def get_lead(lead_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read one lead."""
    return record_response(await service.get_lead(conn, principal, lead_id))


@router.patch("/{lead_id}", response_model=LeadRead, responses=WRITE_PROBLEMS)
async def update_lead(
    lead_id: uuid.UUID,
    body: LeadUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    settings: AppSettings,
) -> JsonResponse:
    """Change a lead's descriptive fields. Send `If-Match` with the ETag you read.

    A new email or phone is checked for duplicates as on capture: `409` (`duplicate_lead`)
    when it matches an open lead or a contact, unless you send `"allow_duplicate": true`;
    `duplicate_of` is then brought up to date. Status, qualification facts and conversion
    are actions: `POST .../status`, `POST .../qualify` and `POST .../convert`.
    """
    row = await service.update_lead(
        conn, principal, lead_id, body, version, phone_region=settings.default_phone_region
    )
    return record_response(row)


@router.post("/{lead_id}/status", response_model=LeadRead, responses=WRITE_PROBLEMS)
async def change_lead_status(
    lead_id: uuid.UUID,
    body: LeadStatusChange,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Move a lead along its status flow.

    Allowed moves: `new → contacted | disqualified`; `contacted → qualified | nurturing |
    archived | disqualified`; `qualified → nurturing | disqualified` (and `converted` via
    the convert action); `nurturing → contacted | qualified | archived | disqualified`;
    `archived → contacted | disqualified`. Anything else is `409`
    (`lead_transition_not_allowed`). `disqualified` needs a `reason`. The first move to
    `qualified` sets `qualified_at`, which stays when the lead later slips back.

    Nurturing and archived leads get `next_touch_at` (90 days on) and a nurture-touch task
    for their owner; every activity logged on them since restarts that cadence (see
    `POST /api/v1/activities`). Leaving them for an active status cancels the open touch
    task. Send an `Idempotency-Key` to retry safely.
    """
    return await idem.act(  # type: ignore[return-value]
        lambda: service.change_status(conn, principal, lead_id, body, version)
    )


@router.post("/{lead_id}/qualify", response_model=LeadRead, responses=WRITE_PROBLEMS)
async def qualify_lead(
    lead_id: uuid.UUID,
    body: LeadQualify,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Record BANT facts about a lead and re-score it.

    Fields you leave out keep their value. Each `evidence` entry (who confirmed what, when)
    is appended to `qualification_evidence` with you as the recorder. The score (0 to 100)
    and grade are recomputed: A needs a score of at least 70 *and* budget, authority and
    need all confirmed; B is a score of at least 40; C otherwise. Send an
    `Idempotency-Key` to retry safely: a replay appends the evidence only once.
    """
    return await idem.act(  # type: ignore[return-value]
        lambda: service.qualify_lead(conn, principal, lead_id, body, version)
    )


@router.post(
    "/{lead_id}/convert", status_code=201, response_model=LeadConversion, responses=WRITE_PROBLEMS
)
async def convert_lead(
    lead_id: uuid.UUID,
    body: LeadConvert,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
    settings: AppSettings,
) -> JsonResponse:
    """Convert a qualified lead into a customer, a contact and a deal — all or nothing.

    The customer is created from the lead's company (or pass `customer_id` to attach to a
    customer you can see); the contact comes from the lead's contact fields with the
    `decision_role` you give; the deal starts in stage `development` with the lead's budget
    as its amount and the expected purchase date as its expected close date. The lead
    becomes `converted` and links to all three. Only `qualified` leads convert (`409`
    otherwise, including a second conversion). Needs write access to leads, customers,
    contacts and deals. `Location` names the new deal.
    """

    async def make() -> JsonResponse:
        result = await conversion.convert_lead(
            conn, principal, lead_id, body, version, phone_region=settings.default_phone_region
        )
        location = f"/api/v1/deals/{result['deal']['id']}"
        return JsonResponse(result, status_code=201, headers={"Location": location})

    return await idem.respond(make)  # type: ignore[return-value]

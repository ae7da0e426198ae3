"""Marketing campaigns and what they cost: the cost side of the channel ROI report."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Query

from app.campaigns import service
from app.campaigns.repository import CAMPAIGN_SORTS
from app.campaigns.schemas import CampaignCreate, CampaignRead, CampaignUpdate
from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import LeadSource
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

router = api_router("/api/v1/campaigns", "campaigns")

CampaignSort = sort_enum("CampaignSort", CAMPAIGN_SORTS)


@router.post("", status_code=201, response_model=CampaignRead, responses=WRITE_PROBLEMS)
async def create_campaign(
    body: CampaignCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Record a campaign (managers, directors and admins). Leads that name it in their
    `campaign` field (exactly this name) count towards it in the channel report, and its
    `cost` counts in the report period holding `starts_on`. Names are unique regardless of
    letter case (409)."""

    async def make() -> JsonResponse:
        row = await service.create_campaign(conn, principal, body)
        return created_response(row, f"/api/v1/campaigns/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("", response_model=Page[CampaignRead], responses=READ_PROBLEMS)
async def list_campaigns(
    conn: Conn,
    principal: CurrentPrincipal,
    channel: LeadSource | None = None,
    starts_from: Annotated[
        date | None, Query(description="Only campaigns starting on or after this day.")
    ] = None,
    starts_before: Annotated[
        date | None, Query(description="Only campaigns starting before this day.")
    ] = None,
    sort: CampaignSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List campaigns (anyone who may read leads), filtered and in keyset order."""
    result = await service.list_campaigns(
        conn,
        principal,
        channel=channel,
        starts_from=starts_from,
        starts_before=starts_before,
        sort=CAMPAIGN_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/{campaign_id}", response_model=CampaignRead, responses=READ_PROBLEMS)
async def get_campaign(
    campaign_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read one campaign."""
    return record_response(await service.get_campaign(conn, principal, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignRead, responses=WRITE_PROBLEMS)
async def update_campaign(
    campaign_id: uuid.UUID,
    body: CampaignUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Change a campaign, e.g. record its cost once the invoice is in (managers and
    above). Send `If-Match` with the ETag you read."""
    row = await service.update_campaign(conn, principal, campaign_id, body, version)
    return record_response(row)

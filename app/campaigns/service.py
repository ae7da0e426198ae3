"""Campaign use cases: managers and above record campaigns and their cost; every caller
who may read leads may read them (the channel report joins them to leads by name)."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.campaigns import repository as repo
from app.campaigns.schemas import CampaignCreate, CampaignUpdate
from app.core.access import Kind, Principal
from app.core.crud import Page, Row
from app.core.enums import LeadSource, Role
from app.core.errors import ErrorItem, InvalidInput
from app.core.pagination import SortKey
from app.core.records import Records
from app.users.repository import require_unused

WRITERS = (Role.manager, Role.director, Role.admin)


CAMPAIGNS = Records(repo.campaigns, "campaign")


async def _require_unused_name(
    conn: AsyncConnection, name: str, except_id: uuid.UUID | None = None
) -> None:
    await require_unused(
        conn,
        repo.campaigns_table.c.name,
        name,
        field="name",
        message=repo.NAME_TAKEN,
        except_id=except_id,
    )


def _require_ordered(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput(
            "ends_on must not be before starts_on.",
            errors=[ErrorItem("period_reversed", "ends before it starts", "ends_on")],
        )


async def create_campaign(conn: AsyncConnection, principal: Principal, data: CampaignCreate) -> Row:
    principal.require_role(*WRITERS, action="record campaigns")
    _require_ordered(data.starts_on, data.ends_on)
    await _require_unused_name(conn, data.name)
    return await CAMPAIGNS.create(conn, principal, data.model_dump(), None)


async def update_campaign(
    conn: AsyncConnection,
    principal: Principal,
    campaign_id: uuid.UUID,
    data: CampaignUpdate,
    expected_version: int | None,
) -> Row:
    principal.require_role(*WRITERS, action="change campaigns")
    current = await CAMPAIGNS.locked(conn, principal, campaign_id, None)
    changes = data.changes()
    if "name" in changes:
        await _require_unused_name(conn, changes["name"], except_id=campaign_id)
    merged = {**current, **changes}
    _require_ordered(merged["starts_on"], merged["ends_on"])
    return await CAMPAIGNS.save(
        conn, principal, current, changes, None, expected_version=expected_version
    )


async def get_campaign(conn: AsyncConnection, principal: Principal, campaign_id: uuid.UUID) -> Row:
    principal.require(Kind.leads, "read")
    return await repo.campaigns.get(conn, principal, campaign_id)


async def list_campaigns(
    conn: AsyncConnection,
    principal: Principal,
    *,
    channel: LeadSource | None,
    starts_from: date | None,
    starts_before: date | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.leads, "read")
    table = repo.campaigns_table
    where: list[Any] = []
    if channel is not None:
        where.append(table.c.channel == channel)
    if starts_from is not None:
        where.append(table.c.starts_on >= starts_from)
    if starts_before is not None:
        where.append(table.c.starts_on < starts_before)
    return await repo.campaigns.list(
        conn, principal, where=where, sort=sort, cursor=cursor, limit=limit
    )

"""Activity use cases: the follow-up log that drives a customer's `last_contact_at` and a
parked lead's nurture cadence."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.activities import repository as repo
from app.activities.schemas import ActivityCreate, ActivityUpdate
from app.core.access import Kind, Principal
from app.core.clock import utcnow
from app.core.crud import Page, Row, require_reference
from app.core.enums import Role
from app.core.errors import ErrorItem, Forbidden, InvalidInput
from app.core.pagination import SortKey
from app.core.records import Records
from app.customers.repository import find_visible_customer, touch_last_contact
from app.events.catalogue import EventType
from app.leads.service import record_touch

# Client clocks drift; an activity logged "now" from a phone may read a little ahead.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def _refuse_future(occurred_at: datetime) -> None:
    if occurred_at > utcnow() + MAX_CLOCK_SKEW:
        raise InvalidInput(
            "occurred_at is in the future; log an activity once it has happened.",
            errors=[ErrorItem("occurred_in_future", "must not be in the future", "occurred_at")],
        )


ACTIVITIES = Records(repo.activities, "activity")


async def _customer_of(
    conn: AsyncConnection, principal: Principal, data: ActivityCreate
) -> uuid.UUID | None:
    """The activity's customer: the one named, else the contact's or the deal's.

    Every referenced record must be visible, and a contact or deal must belong to the
    named customer.
    """
    customer_id = data.customer_id
    if customer_id is not None:
        found = await find_visible_customer(conn, principal, customer_id)
        require_reference(found, "customer_id", "customer", customer_id)
    for field, label in (("contact_id", "contact"), ("deal_id", "deal"), ("lead_id", "lead")):
        ident = getattr(data, field)
        if ident is None:
            continue
        owner = (await repo.require_visible_reference(conn, principal, field, ident))["customer_id"]
        if owner is None:
            continue
        if customer_id is None:
            customer_id = owner
        elif owner != customer_id:
            raise InvalidInput(
                f"{field} {ident} belongs to customer {owner}, not {customer_id}.",
                errors=[ErrorItem(f"{label}_not_at_customer", "another customer's", field)],
            )
    return customer_id


async def create_activity(conn: AsyncConnection, principal: Principal, data: ActivityCreate) -> Row:
    principal.require(Kind.activities, "create")
    _refuse_future(data.occurred_at)
    values = data.model_dump()
    values["customer_id"] = await _customer_of(conn, principal, data)
    values["owner_id"] = principal.user_id
    row = await ACTIVITIES.create(conn, principal, values, EventType.activity_created)
    if row["customer_id"] is not None:
        await touch_last_contact(conn, row["customer_id"], row["occurred_at"])
    if row["lead_id"] is not None:
        await record_touch(conn, principal, row["lead_id"], row["occurred_at"])
    return row


async def get_activity(conn: AsyncConnection, principal: Principal, activity_id: uuid.UUID) -> Row:
    principal.require(Kind.activities, "read")
    return await repo.activities.get(conn, principal, activity_id)


def _require_editable(principal: Principal, activity: Row) -> None:
    """The log is its author's account: others who can see it (a covering rep) may not edit."""
    if principal.sees_everything or principal.role == Role.manager:
        return
    if activity["owner_id"] != principal.id:
        raise Forbidden(
            "Only the activity's author or a manager may edit it.",
            errors=[ErrorItem("not_activity_author", "you did not log this activity", None)],
        )


async def update_activity(
    conn: AsyncConnection,
    principal: Principal,
    activity_id: uuid.UUID,
    data: ActivityUpdate,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.activities, "write")
    current = await repo.activities.get(conn, principal, activity_id)
    _require_editable(principal, current)
    return await ACTIVITIES.save(
        conn,
        principal,
        current,
        data.changes(),
        EventType.activity_updated,
        action="update",
        expected_version=expected_version,
    )


async def list_activities(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: dict[str, Any],
    occurred_after: datetime | None,
    occurred_before: datetime | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.activities, "read")
    table = repo.activities_table
    where: list[sa.ColumnElement[bool]] = []
    if occurred_after is not None:
        where.append(table.c.occurred_at >= occurred_after)
    if occurred_before is not None:
        where.append(table.c.occurred_at < occurred_before)
    return await repo.activities.list(
        conn, principal, filters=filters, where=where, sort=sort, cursor=cursor, limit=limit
    )

"""Every query for activities, and the lookups of the records an activity is about."""

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.activities.schemas import ActivityRead
from app.core.access import Kind, Principal, visible
from app.core.crud import Row, TableRepository, require_reference
from app.core.pagination import sort_keys
from app.models import Activity, Contact, Deal, Lead

activities_table: sa.Table = Activity.__table__  # type: ignore[attr-defined]

activities = TableRepository(
    activities_table, Kind.activities, "activity", list(ActivityRead.model_fields)
)

# `occurred_at` pairs with the (owner_id | customer_id, occurred_at, id) indexes, so a rep's
# or a customer's log pages straight off an index.
ACTIVITY_SORTS = sort_keys(("occurred_at", ("occurred_at",)), ("created_at", ("created_at",)))

# What an activity may point at: the table, its kind for visibility, and its label.
REFERENCES: dict[str, tuple[sa.Table, Kind, str]] = {
    "contact_id": (Contact.__table__, Kind.contacts, "contact"),  # type: ignore[attr-defined]
    "deal_id": (Deal.__table__, Kind.deals, "deal"),  # type: ignore[attr-defined]
    "lead_id": (Lead.__table__, Kind.leads, "lead"),  # type: ignore[attr-defined]
}


async def require_visible_reference(
    conn: AsyncConnection, principal: Principal, field: str, ident: uuid.UUID
) -> Row:
    """The referenced contact, deal or lead (with its customer, where it has one).

    A record the caller cannot see is reported like a missing one: 422, not a leak.
    """
    table, kind, label = REFERENCES[field]
    customer = table.c.customer_id if "customer_id" in table.c else sa.null()
    statement = sa.select(table.c.id, customer.label("customer_id")).where(
        table.c.id == ident, visible(principal, kind, table)
    )
    row = (await conn.execute(statement)).mappings().first()
    return require_reference(row, field, label, ident)

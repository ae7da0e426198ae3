"""Every query for customers and their contacts."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.crud import Row, TableRepository
from app.core.pagination import sort_keys
from app.core.records import Records
from app.customers.schemas import ContactRead, CustomerRead
from app.models import Contact, Customer

customers_table: sa.Table = Customer.__table__  # type: ignore[attr-defined]
contacts_table: sa.Table = Contact.__table__  # type: ignore[attr-defined]

customers = TableRepository(
    customers_table, Kind.customers, "customer", list(CustomerRead.model_fields)
)
contacts = TableRepository(contacts_table, Kind.contacts, "contact", list(ContactRead.model_fields))
# The pipeline every change to a customer or contact takes (app.core.records).
CUSTOMERS = Records(customers, "customer")
CONTACTS = Records(contacts, "contact")

CUSTOMER_SORTS = sort_keys(
    ("created_at", ("created_at",)), ("updated_at", ("updated_at",)), ("name", ("name",))
)
CONTACT_SORTS = sort_keys(("created_at", ("created_at",)), ("name", ("name",)))


def name_prefix(q: str) -> sa.ColumnElement[bool]:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(customers_table.c.name).like(escaped + "%", escape="\\")


async def find_visible_customer(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID
) -> Row | None:
    from app.core.access import visible

    statement = sa.select(customers_table.c.id, customers_table.c.owner_id).where(
        customers_table.c.id == customer_id, visible(principal, Kind.customers, customers_table)
    )
    return (await conn.execute(statement)).mappings().first()


async def touch_last_contact(conn: AsyncConnection, customer_id: uuid.UUID, at: datetime) -> None:
    """Move `last_contact_at` forward only: back-dated activities never rewind it."""
    table = customers_table
    await conn.execute(
        table.update()
        .where(
            table.c.id == customer_id,
            sa.or_(table.c.last_contact_at.is_(None), table.c.last_contact_at < at),
        )
        .values(last_contact_at=at)
    )


def contacts_not_found(contact_id: uuid.UUID) -> Exception:
    from app.core.errors import not_found

    return not_found("contact", contact_id)

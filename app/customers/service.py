"""Customer and contact use cases."""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal, require_assignable
from app.core.clock import utcnow
from app.core.crud import Page, Row
from app.core.enums import Role
from app.core.errors import ErrorItem, RuleViolation
from app.core.pagination import SortKey
from app.customers import repository as repo
from app.customers.health import customer_health, warning_condition
from app.customers.schemas import ContactCreate, ContactUpdate, CustomerCreate, CustomerUpdate
from app.customers.tiering import recompute_customer
from app.rules.customers import DEFAULT_CUSTOMER_POLICY as CUSTOMER_POLICY
from app.rules.customers import HealthWarningCode
from app.rules.leads import normalize_email, normalize_phone
from app.users.repository import require_active_user


async def assign_owner(
    conn: AsyncConnection, principal: Principal, owner_id: uuid.UUID | None, field: str
) -> uuid.UUID | None:
    """The owner a new record gets: the one asked for, if the caller may hand it out."""
    if owner_id is None:
        return principal.user_id
    return await _reassign(conn, principal, owner_id, field)


async def create_customer(conn: AsyncConnection, principal: Principal, data: CustomerCreate) -> Row:
    principal.require(Kind.customers, "write")
    values = data.model_dump()
    values["owner_id"] = await assign_owner(conn, principal, data.owner_id, "owner_id")
    return await repo.customers.insert(conn, values)


async def update_customer(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    data: CustomerUpdate,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.customers, "write")
    changes = data.changes()
    if "owner_id" in changes:
        changes["owner_id"] = await _reassign(conn, principal, changes["owner_id"], "owner_id")
    return await repo.customers.update(
        conn, principal, customer_id, changes, expected_version=expected_version
    )


async def _reassign(
    conn: AsyncConnection, principal: Principal, owner_id: uuid.UUID | None, field: str
) -> uuid.UUID | None:
    require_assignable(principal, owner_id, field)
    # The caller was found active when authenticated; anyone else is looked up.
    if owner_id is not None and owner_id != principal.user_id:
        await require_active_user(conn, owner_id, field)
    return owner_id


async def archive_customer(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.customers, "write")
    return await repo.customers.archive(
        conn, principal, customer_id, expected_version=expected_version
    )


async def list_customers(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: dict[str, Any],
    q: str | None,
    warning: HealthWarningCode | None,
    include_archived: bool,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.customers, "read")
    table = repo.customers_table
    where: list[sa.ColumnElement[bool]] = []
    if q:
        where.append(repo.name_prefix(q))
    if warning is not None:
        where.append(warning_condition(warning, utcnow(), CUSTOMER_POLICY))
    if not include_archived:
        where.append(table.c.archived_at.is_(None))
    return await repo.customers.list(
        conn, principal, filters=filters, where=where, sort=sort, cursor=cursor, limit=limit
    )


async def get_customer(conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID) -> Row:
    principal.require(Kind.customers, "read")
    return await repo.customers.get(conn, principal, customer_id)


def _contact_values(values: dict[str, Any]) -> dict[str, Any]:
    if "email" in values:
        values["email_normalized"] = normalize_email(values["email"]) if values["email"] else None
    if "phone" in values:
        values["phone_normalized"] = normalize_phone(values["phone"]) if values["phone"] else None
    return values


async def create_contact(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID, data: ContactCreate
) -> Row:
    principal.require(Kind.contacts, "write")
    await repo.customers.get(conn, principal, customer_id)
    if data.covering_rep_id is not None:
        await require_active_user(conn, data.covering_rep_id, "covering_rep_id")
    values = _contact_values(data.model_dump())
    return await repo.contacts.insert(conn, {**values, "customer_id": customer_id})


async def get_contact(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID, contact_id: uuid.UUID
) -> Row:
    principal.require(Kind.contacts, "read")
    row = await repo.contacts.get(conn, principal, contact_id)
    if row["customer_id"] != customer_id:
        raise repo.contacts_not_found(contact_id)
    return row


async def update_contact(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: ContactUpdate,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.contacts, "write")
    current = await get_contact(conn, principal, customer_id, contact_id)
    changes = _contact_values(data.changes())
    if changes.get("covering_rep_id") is not None:
        await require_active_user(conn, changes["covering_rep_id"], "covering_rep_id")
    return await repo.contacts.update(
        conn, principal, contact_id, changes, expected_version=expected_version, current=current
    )


async def archive_contact(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.contacts, "write")
    current = await get_contact(conn, principal, customer_id, contact_id)
    return await repo.contacts.archive(
        conn, principal, contact_id, expected_version=expected_version, current=current
    )


async def list_contacts(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    *,
    decision_role: str | None,
    include_archived: bool,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.contacts, "read")
    await repo.customers.get(conn, principal, customer_id)
    table = repo.contacts_table
    where: list[sa.ColumnElement[bool]] = [table.c.customer_id == customer_id]
    if decision_role is not None:
        where.append(table.c.decision_role == decision_role)
    if not include_archived:
        where.append(table.c.archived_at.is_(None))
    return await repo.contacts.list(
        conn, principal, where=where, sort=sort, cursor=cursor, limit=limit
    )


async def get_customer_health(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID
) -> dict[str, Any]:
    customer = await get_customer(conn, principal, customer_id)
    return await customer_health(conn, customer, utcnow(), CUSTOMER_POLICY)


async def override_tier(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    tier: Any,
    reason: str | None,
    expected_version: int | None,
) -> Row:
    """Set (or, with `tier=None`, clear) a manager's tier override, then re-tier.

    The computed tier and its RFM reason stay on the record beside the override.
    """
    principal.require(Kind.customers, "write")
    principal.require_role(Role.manager, Role.director, Role.admin, action="override a tier")
    current = await repo.customers.get(conn, principal, customer_id)
    if tier is not None and not reason:
        raise RuleViolation(
            "A tier override needs a reason.",
            errors=[ErrorItem("reason_required", "say why the tier is overridden", "reason")],
        )
    now = utcnow()
    values = {
        "tier_override": tier,
        "tier_override_reason": reason if tier is not None else None,
        "tier_override_by": principal.user_id if tier is not None else None,
        "tier_override_at": now if tier is not None else None,
    }
    await repo.customers.update(
        conn, principal, customer_id, values, expected_version=expected_version, current=current
    )
    await recompute_customer(conn, customer_id, now, CUSTOMER_POLICY)
    return await repo.customers.get(conn, principal, customer_id)

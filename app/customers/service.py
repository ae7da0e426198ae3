"""Customer and contact use cases."""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal, require_may_unassign
from app.core.clock import utcnow
from app.core.crud import Page, Row
from app.core.enums import Role
from app.core.errors import Conflict, ErrorItem, InvalidInput, RuleViolation
from app.core.pagination import SortKey
from app.core.records import archive
from app.customers import repository as repo
from app.customers.health import customer_health, warning_condition
from app.customers.schemas import ContactCreate, ContactUpdate, CustomerCreate, CustomerUpdate
from app.customers.tiering import grade_for, new_customer_tier, retier_values
from app.events.catalogue import EventType
from app.rules.customers import DEFAULT_CUSTOMER_POLICY as CUSTOMER_POLICY
from app.rules.customers import HealthWarningCode
from app.rules.leads import normalize_email
from app.rules.phones import normalize_phone
from app.users.authority import require_assignee, require_may_change, require_owner_authority
from app.users.repository import require_active_user

CUSTOMERS, CONTACTS = repo.CUSTOMERS, repo.CONTACTS
_DECISION_EVENTS = {
    "tier_override_set": EventType.customer_tier_overridden,
    "tier_override_cleared": EventType.customer_tier_overridden,
    "marked_lost": EventType.customer_marked_lost,
    "lost_mark_cleared": EventType.customer_lost_mark_cleared,
}
# Who may override a tier or mark a customer lost.
DECIDERS = (Role.manager, Role.director, Role.admin)


async def assign_owner(
    conn: AsyncConnection, principal: Principal, owner_id: uuid.UUID | None, field: str
) -> uuid.UUID | None:
    """The owner a new record gets: the one asked for, if the caller may hand it out."""
    if owner_id is None:
        return principal.user_id
    return await reassign(conn, principal, owner_id, field)


async def create_customer(conn: AsyncConnection, principal: Principal, data: CustomerCreate) -> Row:
    principal.require(Kind.customers, "create")
    values = data.model_dump()
    values["owner_id"] = await assign_owner(conn, principal, data.owner_id, "owner_id")
    values["grade"] = grade_for(data.need_intensity, data.purchasing_power)
    values |= new_customer_tier(utcnow(), CUSTOMER_POLICY)
    return await CUSTOMERS.create(conn, principal, values, EventType.customer_created)


async def update_customer(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    data: CustomerUpdate,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.customers, "write")
    current = await repo.customers.get(conn, principal, customer_id)
    changes = data.changes()
    await require_change_rights(conn, principal, current, changes, "customer")
    if "owner_id" in changes:
        changes["owner_id"] = await reassign(conn, principal, changes["owner_id"], "owner_id")
    if {"need_intensity", "purchasing_power"} & changes.keys():
        merged = {**current, **changes}
        changes["grade"] = grade_for(merged["need_intensity"], merged["purchasing_power"])
    return await CUSTOMERS.save(
        conn,
        principal,
        current,
        changes,
        EventType.customer_updated,
        action=update_action(changes),
        expected_version=expected_version,
    )


async def reassign(
    conn: AsyncConnection, principal: Principal, owner_id: uuid.UUID | None, field: str
) -> uuid.UUID | None:
    if owner_id is None:
        require_may_unassign(principal, field)
    else:
        await require_assignee(conn, principal, owner_id, field)
    return owner_id


# Fields only whoever answers for a record may change (see `require_owner_authority`).
OWNER_FIELDS = frozenset({"owner_id", "shared_with_team"})


def update_action(changes: dict[str, Any]) -> str:
    """The audit trail's name for an edit: a handover when it reassigns or shares."""
    return "handover" if OWNER_FIELDS & changes.keys() else "update"


async def require_change_rights(
    conn: AsyncConnection, principal: Principal, current: Row, changes: dict[str, Any], what: str
) -> None:
    """Handing over or sharing a lead, customer or deal is its owner's (or their
    manager's) call; other edits are open to whoever may change it."""
    if OWNER_FIELDS & changes.keys():
        await require_owner_authority(conn, principal, current, f"reassign or share a {what}")
    elif changes:
        await require_may_change(conn, principal, current, what)


async def archive_customer(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.customers, "write")
    current = await repo.customers.get(conn, principal, customer_id)
    await require_owner_authority(conn, principal, current, "archive a customer")
    return await archive(conn, principal, CUSTOMERS, current, expected_version)


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


def phone_key(raw: str | None, region: str, field: str = "phone") -> str | None:
    """The duplicate-detection key (E.164) of a phone number a client sends; one that is
    not a valid number is refused, since it could never match the same person again."""
    if raw is None:
        return None
    key = normalize_phone(raw, region)
    if key is None:
        raise InvalidInput(
            f"{field} {raw[:60]!r} is not a valid phone number: write it with its country "
            f"code (+44 20 7946 0958), or as dialled in {region}.",
            errors=[ErrorItem("invalid_phone", "not a valid phone number", field)],
        )
    return key


def _contact_values(values: dict[str, Any], phone_region: str) -> dict[str, Any]:
    if "email" in values:
        values["email_normalized"] = normalize_email(values["email"]) if values["email"] else None
    if "phone" in values:
        values["phone_normalized"] = phone_key(values["phone"], phone_region)
    return values


async def create_contact(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    data: ContactCreate,
    *,
    phone_region: str,
) -> Row:
    principal.require(Kind.contacts, "create")
    customer = await repo.customers.get(conn, principal, customer_id)
    await require_may_change(conn, principal, customer, "customer")
    if data.covering_rep_id is not None:
        await require_active_user(conn, data.covering_rep_id, "covering_rep_id")
    values = _contact_values(data.model_dump(), phone_region)
    return await CONTACTS.create(
        conn, principal, {**values, "customer_id": customer_id}, EventType.contact_created
    )


async def get_contact(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID, contact_id: uuid.UUID
) -> Row:
    principal.require(Kind.contacts, "read")
    row = await repo.contacts.get(conn, principal, contact_id)
    if row["customer_id"] != customer_id:
        raise repo.contacts_not_found(contact_id)
    return row


async def _changeable_contact(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID, contact_id: uuid.UUID
) -> Row:
    """A contact is changed by whoever may change its customer."""
    current = await get_contact(conn, principal, customer_id, contact_id)
    customer = await repo.customers.get(conn, principal, customer_id)
    await require_may_change(conn, principal, customer, "customer")
    return current


async def update_contact(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: ContactUpdate,
    expected_version: int | None,
    *,
    phone_region: str,
) -> Row:
    principal.require(Kind.contacts, "write")
    current = await _changeable_contact(conn, principal, customer_id, contact_id)
    changes = _contact_values(data.changes(), phone_region)
    if changes.get("covering_rep_id") is not None:
        await require_active_user(conn, changes["covering_rep_id"], "covering_rep_id")
    return await CONTACTS.save(
        conn,
        principal,
        current,
        changes,
        EventType.contact_updated,
        action="update",
        expected_version=expected_version,
    )


async def archive_contact(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.contacts, "write")
    current = await _changeable_contact(conn, principal, customer_id, contact_id)
    return await archive(conn, principal, CONTACTS, current, expected_version)


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


async def _load_for_decision(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    expected_version: int | None,
    action: str,
) -> Row:
    """The customer, locked, for a manager's decision about it; 412 before any rule."""
    principal.require(Kind.customers, "write")
    principal.require_role(*DECIDERS, action=action)
    return await CUSTOMERS.locked(conn, principal, customer_id, expected_version)


async def _record_decision(
    conn: AsyncConnection, principal: Principal, current: Row, values: dict[str, Any], action: str
) -> Row:
    """Store the decision with the re-tiering it causes: one version, one audit entry, one
    event."""
    retiered = await retier_values(conn, current["id"], utcnow(), CUSTOMER_POLICY, values)
    return await CUSTOMERS.save(
        conn, principal, current, {**values, **retiered}, _DECISION_EVENTS[action], action=action
    )


async def override_tier(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    tier: Any,
    reason: str | None,
    expected_version: int | None,
) -> Row:
    """Set (or, with `tier=None`, clear) a manager's tier override, then re-tier.

    The re-tiering keeps `computed_tier` and its RFM reason beside the override and
    points `tier_reason` at the override; `tier_override_by`/`_at` name whoever last set
    or cleared it, and the audit trail keeps every earlier override.
    """
    current = await _load_for_decision(
        conn, principal, customer_id, expected_version, "override a tier"
    )
    if tier is None and current["tier_override"] is None:
        return current
    if tier is not None and not reason:
        raise RuleViolation(
            "A tier override needs a reason.",
            errors=[ErrorItem("reason_required", "say why the tier is overridden", "reason")],
        )
    values = {
        "tier_override": tier,
        "tier_override_reason": reason if tier is not None else None,
        "tier_override_by": principal.user_id,
        "tier_override_at": utcnow(),
    }
    action = "tier_override_set" if tier is not None else "tier_override_cleared"
    return await _record_decision(conn, principal, current, values, action)


async def mark_lost(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    reason: str,
    expected_version: int | None,
) -> Row:
    """A manager records that the customer is lost: its lifecycle becomes `churned`."""
    current = await _load_for_decision(
        conn, principal, customer_id, expected_version, "mark a customer lost"
    )
    if current["marked_lost_at"] is not None:
        raise Conflict(
            f"The customer was already marked lost at {current['marked_lost_at'].isoformat()}.",
            errors=[ErrorItem("already_marked_lost", "clear the mark first", None)],
        )
    values = {
        "marked_lost_at": utcnow(),
        "marked_lost_reason": reason,
        "marked_lost_by": principal.user_id,
    }
    return await _record_decision(conn, principal, current, values, "marked_lost")


async def clear_lost_mark(
    conn: AsyncConnection,
    principal: Principal,
    customer_id: uuid.UUID,
    expected_version: int | None,
) -> Row:
    """Take back a "lost" mark (the customer came back); the lifecycle is computed again."""
    current = await _load_for_decision(
        conn, principal, customer_id, expected_version, "clear a lost mark"
    )
    if current["marked_lost_at"] is None:
        return current
    values = {"marked_lost_at": None, "marked_lost_reason": None, "marked_lost_by": None}
    return await _record_decision(conn, principal, current, values, "lost_mark_cleared")

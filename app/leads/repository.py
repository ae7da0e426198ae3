"""Every query for leads: lists, duplicate detection, the routing pool, nurture tasks."""

import functools
import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.crud import Row, TableRepository
from app.core.enums import LeadStatus, Role, Seniority, TaskKind, TaskStatus
from app.core.pagination import sort_keys
from app.leads.schemas import LeadRead
from app.models import Contact, Lead, Task, User
from app.tasks.schemas import RelatedType

leads_table: sa.Table = Lead.__table__  # type: ignore[attr-defined]
users_table: sa.Table = User.__table__  # type: ignore[attr-defined]
contacts_table: sa.Table = Contact.__table__  # type: ignore[attr-defined]
tasks_table: sa.Table = Task.__table__  # type: ignore[attr-defined]

COMPUTED_FIELDS = frozenset({"inbound"})
leads = TableRepository(
    leads_table,
    Kind.leads,
    "lead",
    [name for name in LeadRead.model_fields if name not in COMPUTED_FIELDS],
)

# Sorts use non-null columns only: keyset comparisons cannot step over NULLs.
LEAD_SORTS = sort_keys(("created_at", ("created_at",)), ("updated_at", ("updated_at",)))

# Leads still being worked: they count towards a rep's load and can be duplicated.
OPEN_STATUSES = (LeadStatus.new, LeadStatus.contacted, LeadStatus.qualified, LeadStatus.nurturing)
# Duplicate detection also sees parked leads: only a final status frees an email or phone.
FINAL_STATUSES = (LeadStatus.converted, LeadStatus.disqualified)


def _like_prefix(column: sa.ColumnElement[str], q: str) -> sa.ColumnElement[bool]:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(column).like(escaped + "%", escape="\\")


def search(q: str, email_key: str | None) -> sa.ColumnElement[bool]:
    """Company or contact name prefix (any case), or the exact normalized email."""
    matches = [
        _like_prefix(leads_table.c.company_name, q),
        _like_prefix(leads_table.c.contact_name, q),
    ]
    if email_key is not None:
        matches.append(leads_table.c.email_normalized == email_key)
    return sa.or_(*matches)


# Ids reported per table and field: enough to act on, bounded however dirty the data.
_DUPLICATES_PER_FIELD = 20


@functools.cache
def _duplicates_statement(fields: tuple[str, ...], excluding: bool) -> sa.Executable:
    """One statement for every table and field asked about (built once per combination):
    each branch's ids in id order, the branches in the order they are listed."""
    live_lead: sa.ColumnElement[bool] = leads_table.c.status.not_in(FINAL_STATUSES)
    if excluding:
        live_lead = sa.and_(live_lead, leads_table.c.id != sa.bindparam("except_lead"))
    branches: list[sa.Select[Any]] = []
    for kind, table, live in (
        ("lead", leads_table, live_lead),
        ("contact", contacts_table, contacts_table.c.archived_at.is_(None)),
    ):
        for field in fields:
            found = (
                sa.select(table.c.id)
                .where(table.c[f"{field}_normalized"] == sa.bindparam(f"{field}_key"), live)
                .order_by(table.c.id)
                .limit(_DUPLICATES_PER_FIELD)
                .subquery()
            )
            branches.append(
                sa.select(
                    sa.literal(len(branches)).label("branch"),
                    sa.literal(kind).label("type"),
                    sa.literal(field).label("field"),
                    found.c.id,
                )
            )
    union = sa.union_all(*branches).subquery()
    return sa.select(union.c.type, union.c.field, union.c.id).order_by(union.c.branch, union.c.id)


async def find_duplicates(
    conn: AsyncConnection,
    email_key: str | None,
    phone_key: str | None,
    *,
    except_lead: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Unfinished leads (but `except_lead`, the one being changed) and current contacts
    with the same normalized email or phone.

    Deliberately not limited to what the caller can see: two reps chasing the same buyer
    is exactly what the check is for. Only ids are reported.
    """
    keys = {"email": email_key, "phone": phone_key}
    fields = tuple(field for field, key in keys.items() if key is not None)
    if not fields:
        return []
    parameters: dict[str, Any] = {f"{field}_key": keys[field] for field in fields}
    if except_lead is not None:
        parameters["except_lead"] = except_lead
    statement = _duplicates_statement(fields, except_lead is not None)
    rows = await conn.execute(statement, parameters)
    return [{"type": kind, "id": str(ident), "field": field} for kind, field, ident in rows]


async def least_loaded_rep(conn: AsyncConnection, pool: Seniority) -> Row | None:
    """The active rep (`id`, `name`, `seniority`) with the fewest open leads, preferring
    `pool`; ties go to the lower id."""
    users, leads_t = users_table, leads_table
    open_leads = sa.func.count(leads_t.c.id)
    other_pool = sa.case((users.c.seniority == pool, 0), else_=1)
    statement = (
        sa.select(users.c.id, users.c.name, users.c.seniority)
        .select_from(
            users.outerjoin(
                leads_t,
                sa.and_(leads_t.c.owner_id == users.c.id, leads_t.c.status.in_(OPEN_STATUSES)),
            )
        )
        .where(users.c.role == Role.rep, users.c.is_active.is_(True))
        .group_by(users.c.id, users.c.name, users.c.seniority)
        .order_by(other_pool, open_leads, users.c.id)
        .limit(1)
    )
    return (await conn.execute(statement)).mappings().first()


async def captured_lead(
    conn: AsyncConnection, principal: Principal, lead_id: uuid.UUID
) -> Row | None:
    """The lead if the principal captured it (`created_by`), whoever owns it now."""
    if principal.user_id is None:
        return None
    statement = leads.select().where(
        leads_table.c.id == lead_id, leads_table.c.created_by == principal.user_id
    )
    return (await conn.execute(statement)).mappings().first()


def open_nurture_tasks(lead_id: uuid.UUID, *, keep: Collection[str] = ()) -> sa.Select[Any]:
    """The lead's open nurture-touch tasks, but those whose dedupe key is in `keep`,
    locked for closing."""
    key = tasks_table.c.dedupe_key
    where = [
        tasks_table.c.related_type == RelatedType.lead,
        tasks_table.c.related_id == lead_id,
        tasks_table.c.kind == TaskKind.nurture_touch,
        tasks_table.c.status == TaskStatus.open,
    ]
    if keep:
        where.append(sa.or_(key.is_(None), key.not_in(list(keep))))
    return sa.select(tasks_table.c.id).where(*where).order_by(tasks_table.c.id).with_for_update()

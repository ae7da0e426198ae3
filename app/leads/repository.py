"""Every query for leads: lists, duplicate detection, the routing pool, nurture tasks."""

import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind
from app.core.crud import TableRepository
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
    live_lead: sa.ColumnElement[bool] = leads_table.c.status.not_in(FINAL_STATUSES)
    if except_lead is not None:
        live_lead = sa.and_(live_lead, leads_table.c.id != except_lead)
    found: list[dict[str, Any]] = []
    for kind, table, live in (
        ("lead", leads_table, live_lead),
        ("contact", contacts_table, contacts_table.c.archived_at.is_(None)),
    ):
        for field, key in (("email", email_key), ("phone", phone_key)):
            if key is None:
                continue
            statement = (
                sa.select(table.c.id)
                .where(table.c[f"{field}_normalized"] == key, live)
                .order_by(table.c.id)
                .limit(20)
            )
            ids = (await conn.execute(statement)).scalars().all()
            found += [{"type": kind, "id": str(ident), "field": field} for ident in ids]
    return found


async def least_loaded_rep(conn: AsyncConnection, pool: Seniority) -> uuid.UUID | None:
    """The active rep with the fewest open leads, preferring `pool`; ties go to the lower id."""
    users, leads_t = users_table, leads_table
    open_leads = sa.func.count(leads_t.c.id)
    other_pool = sa.case((users.c.seniority == pool, 0), else_=1)
    statement = (
        sa.select(users.c.id)
        .select_from(
            users.outerjoin(
                leads_t,
                sa.and_(leads_t.c.owner_id == users.c.id, leads_t.c.status.in_(OPEN_STATUSES)),
            )
        )
        .where(users.c.role == Role.rep, users.c.is_active.is_(True))
        .group_by(users.c.id, users.c.seniority)
        .order_by(other_pool, open_leads, users.c.id)
        .limit(1)
    )
    return (await conn.execute(statement)).scalar()


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

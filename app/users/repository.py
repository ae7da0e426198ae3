"""Every query for users, teams, API keys and the audit trail."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Principal
from app.core.crud import Page, Row, TableRepository
from app.core.enums import Role
from app.core.errors import Conflict, ErrorItem, InvalidInput, not_found
from app.core.pagination import SortKey, decode_cursor, keyset_clause, order_by, page, sort_keys
from app.core.problems import register_constraint
from app.models import ApiKey, AuditEntry, Team, User
from app.users.schemas import ApiKeyRead, AuditEntryRead, TeamRead, UserRead

users_table: sa.Table = User.__table__  # type: ignore[attr-defined]
teams_table: sa.Table = Team.__table__  # type: ignore[attr-defined]
api_keys_table: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]
audit_table: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]

EMAIL_TAKEN = "A user with this e-mail already exists."
TEAM_NAME_TAKEN = "A team with this name already exists."
register_constraint("uq_users_email", Conflict, EMAIL_TAKEN, "email")
register_constraint("uq_teams_name", Conflict, TEAM_NAME_TAKEN, "name")

Visibility = Callable[[Principal], sa.ColumnElement[bool]]

USER_SORTS = sort_keys(("created_at", ("created_at",)), ("name", ("name",)), ("email", ("email",)))
TEAM_SORTS = sort_keys(("created_at", ("created_at",)), ("name", ("name",)))
API_KEY_SORTS = sort_keys(("created_at", ("created_at",)))
# Newest first, served by ix_audit_log_at_id.
AUDIT_ORDER = SortKey("-at", ("at",), descending=True)


async def keyset_page(
    conn: AsyncConnection,
    table: sa.Table,
    statement: sa.Select[Any],
    *,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    """One page of `statement` in `sort` order, continuing after `cursor`."""
    if cursor:
        statement = statement.where(keyset_clause(table, sort, decode_cursor(cursor, sort)))
    statement = statement.order_by(*order_by(table, sort)).limit(limit + 1)
    rows = (await conn.execute(statement)).mappings().all()
    items, next_cursor = page(rows, limit, sort)
    return Page(items, next_cursor)


class AdminRepository(TableRepository):
    """Administration records: which rows a caller sees depends on their role, not an owner.

    Only `get` and `list` differ from the sales aggregates' repository: they filter with
    this table's own visibility rule instead of `app.core.access.visible`.
    """

    def __init__(
        self, table: sa.Table, label: str, read_columns: Sequence[str], visibility: Visibility
    ):
        super().__init__(table, None, label, read_columns)  # type: ignore[arg-type]
        self.visibility = visibility

    def visible_select(self, principal: Principal) -> sa.Select[Any]:
        return self.select().where(self.visibility(principal))

    async def get(
        self, conn: AsyncConnection, principal: Principal, ident: uuid.UUID, *, lock: bool = False
    ) -> Row:
        statement = self.visible_select(principal).where(self.table.c.id == ident)
        if lock:
            statement = statement.with_for_update()
        row = (await conn.execute(statement)).mappings().first()
        if row is None:
            raise not_found(self.label, ident)
        return row

    async def list(
        self,
        conn: AsyncConnection,
        principal: Principal,
        *,
        filters: Mapping[str, Any] | None = None,
        where: Sequence[sa.ColumnElement[bool]] = (),
        sort: SortKey,
        cursor: str | None,
        limit: int,
    ) -> Page:
        equal = [
            self.table.c[name] == value
            for name, value in (filters or {}).items()
            if value is not None
        ]
        statement = self.visible_select(principal).where(*where, *equal)
        return await keyset_page(conn, self.table, statement, sort=sort, cursor=cursor, limit=limit)


def team_member_ids(team_id: uuid.UUID) -> sa.Select[tuple[uuid.UUID]]:
    return sa.select(users_table.c.id).where(users_table.c.team_id == team_id)


def visible_users(principal: Principal) -> sa.ColumnElement[bool]:
    """Directors and admins see everyone, managers their team, others only themselves."""
    if principal.role in (Role.director, Role.admin):
        return sa.true()
    if principal.role == Role.manager and principal.team_id is not None:
        return sa.or_(users_table.c.id == principal.id, users_table.c.team_id == principal.team_id)
    return users_table.c.id == principal.id


def visible_teams(principal: Principal) -> sa.ColumnElement[bool]:
    """Directors and admins see every team; others the team they are in or manage."""
    if principal.role in (Role.director, Role.admin):
        return sa.true()
    return sa.or_(teams_table.c.id == principal.team_id, teams_table.c.manager_id == principal.id)


def visible_audit(principal: Principal) -> sa.ColumnElement[bool]:
    """Directors and admins read the whole trail; a manager what they and their team did."""
    if principal.role in (Role.director, Role.admin):
        return sa.true()
    actor = audit_table.c.actor_id
    if principal.team_id is None:
        return actor == principal.id
    return sa.or_(actor == principal.id, actor.in_(team_member_ids(principal.team_id)))


users = AdminRepository(users_table, "user", list(UserRead.model_fields), visible_users)
teams = AdminRepository(teams_table, "team", list(TeamRead.model_fields), visible_teams)
# Only admins reach API keys at all; the service refuses everyone else first.
api_keys = AdminRepository(
    api_keys_table, "API key", list(ApiKeyRead.model_fields), lambda _: sa.true()
)
AUDIT_COLUMNS = [audit_table.c[name] for name in AuditEntryRead.model_fields]


async def require_active_user(conn: AsyncConnection, user_id: uuid.UUID, field: str) -> None:
    """A record can only be given to a user who exists and is active."""
    statement = sa.select(users_table.c.is_active).where(users_table.c.id == user_id)
    active = (await conn.execute(statement)).scalar()
    if not active:
        raise InvalidInput(
            f"{field} names no active user: {user_id}.",
            errors=[ErrorItem("user_not_found", "no active user with this id", field)],
        )


async def require_active_manager(conn: AsyncConnection, user_id: uuid.UUID, field: str) -> None:
    statement = sa.select(users_table.c.is_active, users_table.c.role).where(
        users_table.c.id == user_id
    )
    row = (await conn.execute(statement)).first()
    if row is None or not row.is_active or row.role != Role.manager:
        raise InvalidInput(
            f"{field} names no active manager: {user_id}.",
            errors=[ErrorItem("manager_not_found", "no active user with role manager", field)],
        )


async def require_team(conn: AsyncConnection, team_id: uuid.UUID, field: str) -> None:
    statement = sa.select(teams_table.c.id).where(teams_table.c.id == team_id)
    if (await conn.execute(statement)).first() is None:
        raise InvalidInput(
            f"{field} names no team: {team_id}.",
            errors=[ErrorItem("team_not_found", "no team with this id", field)],
        )


async def require_unused(
    conn: AsyncConnection,
    column: sa.Column[str],
    value: str,
    *,
    field: str,
    message: str,
    except_id: uuid.UUID | None = None,
) -> None:
    """Refuse a name or e-mail that differs from one in use only by letter case.

    The unique constraint (mapped to the same 409) still guards against a concurrent insert.
    """
    statement = sa.select(column.table.c.id).where(sa.func.lower(column) == value.lower())
    if except_id is not None:
        statement = statement.where(column.table.c.id != except_id)
    if (await conn.execute(statement.limit(1))).first() is not None:
        raise Conflict(message, errors=[ErrorItem(f"{field}_taken", message, field)])


async def list_audit(
    conn: AsyncConnection,
    principal: Principal,
    *,
    where: Sequence[sa.ColumnElement[bool]],
    cursor: str | None,
    limit: int,
) -> Page:
    statement = sa.select(*AUDIT_COLUMNS).where(visible_audit(principal), *where)
    return await keyset_page(
        conn, audit_table, statement, sort=AUDIT_ORDER, cursor=cursor, limit=limit
    )

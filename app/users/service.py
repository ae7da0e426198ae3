"""Administration use cases: users, teams, partner API keys and reading the audit trail.

Every change here is written to the audit trail in the same transaction as the change.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import SYSTEM, Principal
from app.core.clock import utcnow
from app.core.crud import Page, Row
from app.core.enums import Role, Seniority
from app.core.errors import ErrorItem, InvalidInput, RuleViolation
from app.core.pagination import SortKey
from app.core.records import Records
from app.core.security import hash_password, new_api_key
from app.users import repository as repo
from app.users.schemas import (
    ApiKeyCreate,
    TeamCreate,
    TeamUpdate,
    UserCreate,
    UserUpdate,
)

EVERY_ROLE = tuple(Role)
AUDIT_READERS = (Role.manager, Role.director, Role.admin)


USERS = Records(repo.users, "user")
TEAMS = Records(repo.teams, "team")
API_KEYS = Records(repo.api_keys, "api_key")


def require_admin(principal: Principal, action: str) -> None:
    principal.require_role(Role.admin, action=action)


def _filters(table: sa.Table, filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    return [table.c[name] == value for name, value in filters.items() if value is not None]


async def _list_visible(
    conn: AsyncConnection,
    principal: Principal,
    repository: repo.AdminRepository,
    action: str,
    *,
    filters: dict[str, Any],
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    """A page of the rows any signed-in user may list, narrowed by their visibility."""
    principal.require_role(*EVERY_ROLE, action=action)
    where = _filters(repository.table, filters)
    return await repository.list(
        conn, principal, where=where, sort=sort, cursor=cursor, limit=limit
    )


# Users


async def _password_hash(password: str) -> str:
    # argon2 is deliberately slow; keep it off the event loop.
    return await asyncio.to_thread(hash_password, password)


async def _insert_user(conn: AsyncConnection, principal: Principal | None, data: UserCreate) -> Row:
    email = data.email.lower()
    await repo.require_unused(
        conn, repo.users_table.c.email, email, field="email", message=repo.EMAIL_TAKEN
    )
    if data.team_id is not None:
        await repo.require_team(conn, data.team_id, "team_id")
    values = data.model_dump(exclude={"password"})
    values |= {"email": email, "password_hash": await _password_hash(data.password)}
    return await USERS.create(conn, principal or SYSTEM, values, None, action="created")


async def add_user(conn: AsyncConnection, principal: Principal, data: UserCreate) -> Row:
    require_admin(principal, "create users")
    return await _insert_user(conn, principal, data)


def _invalid_user(error: ValidationError) -> InvalidInput:
    items = [ErrorItem(e["type"], e["msg"], ".".join(map(str, e["loc"]))) for e in error.errors()]
    detail = "; ".join(f"{item.field}: {item.message}" for item in items)
    return InvalidInput(f"Invalid user: {detail}.", errors=items)


async def create_user(
    conn: AsyncConnection,
    *,
    email: str,
    password: str,
    role: Role,
    name: str | None = None,
    team_id: uuid.UUID | None = None,
    seniority: Seniority = Seniority.standard,
    principal: Principal | None = None,
) -> Row:
    """Create a user outside any request, e.g. the first admin from the command line.

    The input is checked as the API checks it (InvalidInput otherwise). Without a
    principal the audit trail names the system as the actor.
    """
    if principal is not None:
        require_admin(principal, "create users")
    fields = {
        "email": email,
        "password": password,
        "role": role,
        "name": name or email.partition("@")[0],
        "team_id": team_id,
        "seniority": seniority,
    }
    try:
        data = UserCreate.model_validate(fields)
    except ValidationError as error:
        raise _invalid_user(error) from error
    return await _insert_user(conn, principal, data)


async def create_user_directly(
    *, email: str, password: str, role: Role, name: str | None = None
) -> Row:
    """`create_user` in its own transaction on the configured database (for the CLI)."""
    from app.core.config import get_settings
    from app.core.db import Database, create_engine

    database = Database(create_engine(get_settings()))
    try:
        async with database.transaction() as conn:
            return await create_user(conn, email=email, password=password, role=role, name=name)
    finally:
        await database.dispose()


async def list_users(conn: AsyncConnection, principal: Principal, **query: Any) -> Page:
    return await _list_visible(conn, principal, repo.users, "read users", **query)


async def get_user(conn: AsyncConnection, principal: Principal, user_id: uuid.UUID) -> Row:
    principal.require_role(*EVERY_ROLE, action="read users")
    return await repo.users.get(conn, principal, user_id)


def _refuse_self_lockout(principal: Principal, user_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """An admin cannot deactivate or demote themselves: someone must be left to administer."""
    deactivated = changes.get("is_active") is False
    demoted = "role" in changes and changes["role"] != Role.admin
    if user_id != principal.id or not (deactivated or demoted):
        return
    message = "You cannot deactivate yourself or give up your own admin role."
    field = "is_active" if deactivated else "role"
    raise RuleViolation(message, errors=[ErrorItem("self_lockout", message, field)])


async def update_user(
    conn: AsyncConnection,
    principal: Principal,
    user_id: uuid.UUID,
    data: UserUpdate,
    expected_version: int | None,
) -> Row:
    require_admin(principal, "change users")
    changes = data.changes()
    _refuse_self_lockout(principal, user_id, changes)
    current = await repo.users.get(conn, principal, user_id)
    if changes.get("team_id") is not None:
        await repo.require_team(conn, changes["team_id"], "team_id")
    if "password" in changes:
        changes["password_hash"] = await _password_hash(changes.pop("password"))
    if "password_hash" in changes or (changes.get("is_active") is False and current["is_active"]):
        changes["tokens_valid_after"] = utcnow()
    # The hash never enters the trail; that the password changed does.
    note = {"password_changed": True} if "password_hash" in changes else None
    return await USERS.save(
        conn,
        principal,
        current,
        changes,
        None,
        action="updated",
        expected_version=expected_version,
        audit_note=note,
    )


# Teams


async def create_team(conn: AsyncConnection, principal: Principal, data: TeamCreate) -> Row:
    require_admin(principal, "create teams")
    await repo.require_unused(
        conn, repo.teams_table.c.name, data.name, field="name", message=repo.TEAM_NAME_TAKEN
    )
    if data.manager_id is not None:
        await repo.require_active_manager(conn, data.manager_id, "manager_id")
    return await TEAMS.create(conn, principal, data.model_dump(), None, action="created")


async def update_team(
    conn: AsyncConnection,
    principal: Principal,
    team_id: uuid.UUID,
    data: TeamUpdate,
    expected_version: int | None,
) -> Row:
    require_admin(principal, "change teams")
    changes = data.changes()
    current = await repo.teams.get(conn, principal, team_id)
    if "name" in changes:
        await repo.require_unused(
            conn,
            repo.teams_table.c.name,
            changes["name"],
            field="name",
            message=repo.TEAM_NAME_TAKEN,
            except_id=team_id,
        )
    if changes.get("manager_id") is not None:
        await repo.require_active_manager(conn, changes["manager_id"], "manager_id")
    return await TEAMS.save(
        conn,
        principal,
        current,
        changes,
        None,
        action="updated",
        expected_version=expected_version,
    )


async def list_teams(conn: AsyncConnection, principal: Principal, **query: Any) -> Page:
    return await _list_visible(conn, principal, repo.teams, "read teams", **query)


async def get_team(conn: AsyncConnection, principal: Principal, team_id: uuid.UUID) -> Row:
    principal.require_role(*EVERY_ROLE, action="read teams")
    return await repo.teams.get(conn, principal, team_id)


# Partner API keys


def _require_future(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(
            "expires_at must be in the future.",
            errors=[ErrorItem("expires_in_past", "must be later than now", "expires_at")],
        )


async def create_api_key(
    conn: AsyncConnection, principal: Principal, data: ApiKeyCreate
) -> tuple[Row, str]:
    """The new key's record and its secret, which is never stored and never shown again."""
    require_admin(principal, "create API keys")
    _require_future(data.expires_at, utcnow())
    secret, prefix, digest = new_api_key()
    values = {
        "name": data.name,
        "scopes": sorted(set(data.scopes)),
        "expires_at": data.expires_at,
        "prefix": prefix,
        "key_hash": digest,
        "created_by": principal.user_id,
    }
    row = await API_KEYS.create(conn, principal, values, None, action="created")
    return row, secret


async def list_api_keys(
    conn: AsyncConnection,
    principal: Principal,
    *,
    revoked: bool | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    require_admin(principal, "read API keys")
    where = []
    if revoked is not None:
        column = repo.api_keys_table.c.revoked_at
        where.append(column.is_not(None) if revoked else column.is_(None))
    return await repo.api_keys.list(
        conn, principal, where=where, sort=sort, cursor=cursor, limit=limit
    )


async def get_api_key(conn: AsyncConnection, principal: Principal, key_id: uuid.UUID) -> Row:
    require_admin(principal, "read API keys")
    return await repo.api_keys.get(conn, principal, key_id)


async def revoke_api_key(
    conn: AsyncConnection, principal: Principal, key_id: uuid.UUID, expected_version: int | None
) -> Row:
    """Revoke a key for good; revoking a revoked key changes nothing."""
    require_admin(principal, "revoke API keys")
    current = await repo.api_keys.get(conn, principal, key_id)
    if current["revoked_at"] is not None:
        return current
    revoked = {"revoked_at": utcnow()}
    return await API_KEYS.save(
        conn, principal, current, revoked, None, action="revoked", expected_version=expected_version
    )


# The audit trail


async def list_audit_entries(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: dict[str, Any],
    after: datetime | None,
    before: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require_role(*AUDIT_READERS, action="read the audit trail")
    table = repo.audit_table
    where = _filters(table, filters)
    if after is not None:
        where.append(table.c.at > after)
    if before is not None:
        where.append(table.c.at < before)
    return await repo.list_audit(conn, principal, where=where, cursor=cursor, limit=limit)

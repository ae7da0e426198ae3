"""Who may hand a record to whom, and who answers for a record.

The rules are the pure ones of `app.core.access`; this module looks up what they need to
know about the other user (active? in the caller's team?) in one statement.
"""

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import (
    Principal,
    answers_for,
    require_answers_for,
    require_assignable,
    team_members,
    viewer_params,
)
from app.core.enums import Role
from app.core.errors import ErrorItem, Forbidden, InvalidInput
from app.models import User

users: sa.Table = User.__table__  # type: ignore[attr-defined]


async def _standing(
    conn: AsyncConnection, principal: Principal, user_id: uuid.UUID
) -> tuple[bool, Role, bool] | None:
    """(active, role, in the caller's team) of a user, or None when there is no such user."""
    statement = sa.select(
        users.c.is_active,
        users.c.role,
        users.c.id.in_(team_members(principal)).label("in_team"),
    ).where(users.c.id == sa.bindparam("user_id", type_=sa.Uuid))
    row = (await conn.execute(statement, {"user_id": user_id, **viewer_params(principal)})).first()
    return None if row is None else (bool(row.is_active), Role(row.role), bool(row.in_team))


async def require_assignee(
    conn: AsyncConnection,
    principal: Principal,
    user_id: uuid.UUID,
    field: str,
    *,
    pool: Role | None = None,
) -> None:
    """A record goes to an active user within the giver's authority: oneself for a rep,
    the team for a manager, anyone for a director or admin. Users of the `pool` role (the
    after-sales agents, for tickets) are open to managers and to one another."""
    if user_id == principal.id:
        return  # the caller was found active when authenticated
    may_give = principal.sees_everything or principal.role in (Role.manager, pool)
    if not may_give:
        require_assignable(principal, user_id, field, in_team=False)
    _, role, in_team = _require_active(await _standing(conn, principal, user_id), user_id, field)
    if pool is not None and role == pool:
        return
    require_assignable(principal, user_id, field, in_team=in_team)


def _require_active(
    standing: tuple[bool, Role, bool] | None, user_id: uuid.UUID, field: str
) -> tuple[bool, Role, bool]:
    if standing is None or not standing[0]:
        raise InvalidInput(
            f"{field} names no active user: {user_id}.",
            errors=[ErrorItem("user_not_found", "no active user with this id", field)],
        )
    return standing


async def _owner_in_team(
    conn: AsyncConnection, principal: Principal, owner_id: uuid.UUID | None
) -> bool:
    if owner_id is None or principal.role != Role.manager:
        return False
    standing = await _standing(conn, principal, owner_id)
    return standing is not None and standing[2]


async def require_owner_authority(
    conn: AsyncConnection, principal: Principal, record: Mapping[str, Any], action: str
) -> None:
    """Reassigning, sharing and archiving are for whoever answers for the record."""
    owner_id = record["owner_id"]
    if answers_for(principal, owner_id, owner_in_team=False):
        return
    in_team = await _owner_in_team(conn, principal, owner_id)
    require_answers_for(principal, owner_id, action, owner_in_team=in_team)


async def require_may_change(
    conn: AsyncConnection, principal: Principal, record: Mapping[str, Any], what: str
) -> None:
    """Editing a record the caller can see: its owner's people, or any teammate when the
    owner shared it. A covering rep sees the account (and logs activities on it) but does
    not edit it."""
    owner_id = record["owner_id"]
    if answers_for(principal, owner_id, owner_in_team=False):
        return
    if await _owner_in_team(conn, principal, owner_id):
        return
    if record.get("shared_with_team") and await _teammate(conn, principal, owner_id):
        return
    raise Forbidden(
        f"You can see this {what} but not change it: ask its owner to share it with the team.",
        errors=[ErrorItem("read_only_access", f"{what} is visible to you read-only", None)],
    )


async def _teammate(
    conn: AsyncConnection, principal: Principal, owner_id: uuid.UUID | None
) -> bool:
    if owner_id is None or principal.team_id is None:
        return False
    standing = await _standing(conn, principal, owner_id)
    return standing is not None and standing[2]

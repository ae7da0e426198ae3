"""Users, teams, partner API keys and the audit trail — administration."""

import uuid
from typing import Annotated

from fastapi import Query

from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import Role
from app.core.http import IfMatch, created_response, record_response
from app.core.json import JsonResponse
from app.core.pagination import sort_enum
from app.core.routing import (
    DEFAULT_PAGE_SIZE,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Cursor,
    Limit,
    api_router,
)
from app.core.schemas import AwareDatetime, Page
from app.users import service
from app.users.repository import API_KEY_SORTS, TEAM_SORTS, USER_SORTS
from app.users.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuditEntryRead,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = api_router("/api/v1", "administration")

UserSort = sort_enum("UserSort", USER_SORTS)
TeamSort = sort_enum("TeamSort", TEAM_SORTS)
ApiKeySort = sort_enum("ApiKeySort", API_KEY_SORTS)


# Users


@router.post("/users", status_code=201, response_model=UserRead, responses=WRITE_PROBLEMS)
async def create_user(
    body: UserCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Create a user who can log in with the e-mail and password given. Admins only.

    The e-mail is unique whatever its case (409 otherwise); the password is stored only
    as an argon2 hash and never appears in any response.
    """

    async def make() -> JsonResponse:
        row = await service.add_user(conn, principal, body)
        return created_response(row, f"/api/v1/users/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("/users", response_model=Page[UserRead], responses=READ_PROBLEMS)
async def list_users(
    conn: Conn,
    principal: CurrentPrincipal,
    role: Role | None = None,
    team_id: uuid.UUID | None = None,
    is_active: bool | None = None,
    sort: UserSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List users: directors and admins see everyone, managers their team, others themselves."""
    result = await service.list_users(
        conn,
        principal,
        filters={"role": role, "team_id": team_id, "is_active": is_active},
        sort=USER_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/users/{user_id}", response_model=UserRead, responses=READ_PROBLEMS)
async def get_user(user_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read one user. A user you may not see is answered 404."""
    return record_response(await service.get_user(conn, principal, user_id))


@router.patch("/users/{user_id}", response_model=UserRead, responses=WRITE_PROBLEMS)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Change a user's name, role, team, seniority, password or activity. Admins only.

    Setting `is_active` to false locks the user out at once: their current tokens stop
    working on the next request. Send `If-Match` with the ETag you read.
    """
    row = await service.update_user(conn, principal, user_id, body, version)
    return record_response(row)


# Teams


@router.post("/teams", status_code=201, response_model=TeamRead, responses=WRITE_PROBLEMS)
async def create_team(
    body: TeamCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Create a sales team, optionally naming its manager (an active `manager`). Admins only."""

    async def make() -> JsonResponse:
        row = await service.create_team(conn, principal, body)
        return created_response(row, f"/api/v1/teams/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("/teams", response_model=Page[TeamRead], responses=READ_PROBLEMS)
async def list_teams(
    conn: Conn,
    principal: CurrentPrincipal,
    manager_id: uuid.UUID | None = None,
    sort: TeamSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List teams: directors and admins see all, others the team they belong to or manage."""
    result = await service.list_teams(
        conn,
        principal,
        filters={"manager_id": manager_id},
        sort=TEAM_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/teams/{team_id}", response_model=TeamRead, responses=READ_PROBLEMS)
async def get_team(team_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read one team."""
    return record_response(await service.get_team(conn, principal, team_id))


@router.patch("/teams/{team_id}", response_model=TeamRead, responses=WRITE_PROBLEMS)
async def update_team(
    team_id: uuid.UUID,
    body: TeamUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Rename a team or change its manager. Admins only."""
    row = await service.update_team(conn, principal, team_id, body, version)
    return record_response(row)


# Partner API keys


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, responses=WRITE_PROBLEMS)
async def create_api_key(
    body: ApiKeyCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Issue an API key for a partner system, with the scopes it may use. Admins only.

    The secret (`key`) is in this response only — store it now; the service keeps just
    its hash. Scopes are `<resource>:read` or `<resource>:write`, e.g. `leads:write`.
    """
    replay = await idem.claim()
    if replay is not None:
        return replay  # type: ignore[return-value]
    row, secret = await service.create_api_key(conn, principal, body)
    location = f"/api/v1/api-keys/{row['id']}"
    # A replay must never show the secret, so what is kept for it has `key: null`.
    await idem.remember(created_response({**row, "key": None}, location))
    return created_response({**row, "key": secret}, location)


@router.get("/api-keys", response_model=Page[ApiKeyRead], responses=READ_PROBLEMS)
async def list_api_keys(
    conn: Conn,
    principal: CurrentPrincipal,
    revoked: Annotated[
        bool | None, Query(description="true: only revoked keys; false: only live ones.")
    ] = None,
    sort: ApiKeySort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List API keys (never their secrets). Admins only."""
    result = await service.list_api_keys(
        conn, principal, revoked=revoked, sort=API_KEY_SORTS[sort], cursor=cursor, limit=limit
    )
    return JsonResponse(result.as_dict())


@router.get("/api-keys/{key_id}", response_model=ApiKeyRead, responses=READ_PROBLEMS)
async def get_api_key(key_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read one API key: its name, prefix, scopes and when it was last used. Admins only."""
    return record_response(await service.get_api_key(conn, principal, key_id))


@router.delete("/api-keys/{key_id}", response_model=ApiKeyRead, responses=WRITE_PROBLEMS)
async def revoke_api_key(
    key_id: uuid.UUID, version: IfMatch, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Revoke an API key: requests that send it are refused (401) from now on. Admins only."""
    row = await service.revoke_api_key(conn, principal, key_id, version)
    return record_response(row)


# The audit trail


@router.get("/audit", response_model=Page[AuditEntryRead], responses=READ_PROBLEMS)
async def list_audit_entries(
    conn: Conn,
    principal: CurrentPrincipal,
    entity_type: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[a-z_]+$",
            description="e.g. `user`, `api_key`, `deal`, `quote`.",
        ),
    ] = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    after: Annotated[
        AwareDatetime | None, Query(description="Only entries strictly later than this.")
    ] = None,
    before: Annotated[
        AwareDatetime | None, Query(description="Only entries strictly earlier than this.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """Who changed what and when, newest first, with the changed fields before and after.

    Managers see what they and their team did; directors and admins see everything.
    """
    result = await service.list_audit_entries(
        conn,
        principal,
        filters={"entity_type": entity_type, "entity_id": entity_id, "actor_id": actor_id},
        after=after,
        before=before,
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())

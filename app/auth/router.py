"""Login and the caller's own identity."""

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service
from app.auth.schemas import MeRead, TokenResponse
from app.core.clock import utcnow
from app.core.deps import AppSettings, Conn, CurrentPrincipal
from app.core.http import strict_request
from app.core.json import JsonResponse
from app.core.routing import problems
from app.users.repository import users_table

router = APIRouter(prefix="/api/v1", tags=["auth"], dependencies=[Depends(strict_request)])


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses=problems(400, 401, 422, 429, 503),
)
async def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    settings: AppSettings,
) -> JsonResponse:
    """OAuth2 password flow: trade an e-mail (`username`) and password for a bearer token.

    Attempts are limited per account, wherever they come from, and per client address,
    whichever accounts they try (by default 5 and 20 in 15 minutes). Past a limit the
    answer is 429 with `Retry-After`: the seconds until the window that opened with the
    first counted attempt closes. A successful login clears its account's count and does
    not count against the address.
    """
    client = request.client.host if request.client else "unknown"
    token, expires_in = await service.log_in(
        request.app.state.db, settings, form.username, form.password, client, utcnow()
    )
    return JsonResponse(
        {"access_token": token, "token_type": "bearer", "expires_in": expires_in},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/me", response_model=MeRead, responses=problems(400, 401, 422, 503))
async def get_me(conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Who the credentials belong to: a user (with role and team) or an API key (with scopes)."""
    body: dict[str, object] = {
        "kind": principal.kind,
        "id": principal.id,
        "name": principal.name,
        "role": principal.role,
        "team_id": principal.team_id,
        "scopes": sorted(principal.scopes),
    }
    if principal.kind == "user":
        statement = sa.select(
            users_table.c.email, users_table.c.seniority, users_table.c.last_login_at
        ).where(users_table.c.id == principal.id)
        row = (await conn.execute(statement)).mappings().one()
        body.update(row)
    return JsonResponse(body)

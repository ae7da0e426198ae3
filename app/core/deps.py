"""Request dependencies: the unit of work, the caller, and idempotent POSTs."""

import functools
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from app.core.access import Principal
from app.core.clock import utcnow
from app.core.config import Settings
from app.core.db import insert_or_skip
from app.core.enums import Role
from app.core.errors import Conflict, ErrorItem, InvalidInput, Unauthorized
from app.core.json import dumps, loads, record_response
from app.core.security import hash_api_key, read_access_token
from app.models import ApiKey, IdempotencyKey, User

users = User.__table__  # type: ignore[attr-defined]
api_keys = ApiKey.__table__  # type: ignore[attr-defined]
idempotency_keys = IdempotencyKey.__table__  # type: ignore[attr-defined]


async def get_settings_dep(request: Request) -> Settings:
    # async: a plain def would be sent to the threadpool on every request.
    return request.app.state.settings  # type: ignore[no-any-return]


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def transaction(request: Request) -> AsyncIterator[AsyncConnection]:
    """One unit of work per request: a transaction committed before the response is sent,
    or, for a request that only reads, plain reads (`Database.reading`)."""
    db = request.app.state.db
    reads_only = request.method in READ_ONLY_METHODS and not getattr(
        request.scope.get("route"), "reads_in_transaction", False
    )
    unit = db.reading() if reads_only else db.transaction()
    async with unit as conn:
        yield conn


Conn = Annotated[AsyncConnection, Depends(transaction, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)

_USER_BY_ID = sa.select(
    users.c.id,
    users.c.name,
    users.c.role,
    users.c.team_id,
    users.c.is_active,
    users.c.tokens_valid_after,
).where(users.c.id == sa.bindparam("user_id"))
_KEY_BY_HASH = sa.select(
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.scopes,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
    api_keys.c.last_used_at,
).where(api_keys.c.key_hash == sa.bindparam("key_hash"))
_KEY_USE_GRANULARITY = timedelta(hours=1)


async def current_principal(
    request: Request,
    conn: Conn,
    settings: AppSettings,
    token: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    if token and api_key:
        # Two credentials name two principals; acting as either one would let a bad key
        # pass unnoticed behind a good token (or the reverse).
        raise Unauthorized(
            "Send one credential: a bearer token or an X-API-Key, not both.",
            errors=[ErrorItem("ambiguous_credentials", "send only one", "X-API-Key")],
        )
    if token:
        principal = await _user_principal(conn, settings, token)
    elif api_key:
        principal = await _key_principal(conn, api_key)
    else:
        raise Unauthorized("Send a bearer token (POST /api/v1/auth/token) or an X-API-Key.")
    request.state.principal = principal
    return principal


async def _user_principal(conn: AsyncConnection, settings: Settings, token: str) -> Principal:
    claims = read_access_token(settings, token)
    if claims is None:
        raise Unauthorized("The access token is invalid or expired.")
    row = (await conn.execute(_USER_BY_ID, {"user_id": claims.user_id})).mappings().first()
    if row is None or not row["is_active"]:
        raise Unauthorized("The access token's user is no longer active.")
    if row["tokens_valid_after"] is not None and claims.issued_at < row["tokens_valid_after"]:
        raise Unauthorized("The access token was revoked; log in again.")
    return Principal("user", row["id"], row["name"], Role(row["role"]), row["team_id"])


async def _key_principal(conn: AsyncConnection, secret: str) -> Principal:
    row = (await conn.execute(_KEY_BY_HASH, {"key_hash": hash_api_key(secret)})).mappings().first()
    now = utcnow()
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("The API key is unknown or revoked.")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise Unauthorized("The API key has expired.")
    if row["last_used_at"] is None or now - row["last_used_at"] >= _KEY_USE_GRANULARITY:
        await conn.execute(
            api_keys.update().where(api_keys.c.id == row["id"]).values(last_used_at=now)
        )
    return Principal("api_key", row["id"], row["name"], scopes=frozenset(row["scopes"]))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _canonical_body(body: bytes) -> bytes:
    """The body as the request means it: the same JSON however it is spaced or ordered."""
    try:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        return body


@functools.cache
def _claim(dialect: str) -> sa.Executable:
    """Claim a key (nothing when it is taken), built once: the values are its parameters."""
    return insert_or_skip(dialect, idempotency_keys)


_REMEMBER = idempotency_keys.update().where(
    idempotency_keys.c.principal == sa.bindparam("claim_principal"),
    idempotency_keys.c.key == sa.bindparam("claim_key"),
)


class Idempotency:
    """Replays a POST's first response when a client retries with the same key.

    The key is claimed inside the request's own transaction, so the stored response
    commits or rolls back with the change it describes; a concurrent duplicate waits on
    the claim's row lock and then replays.
    """

    def __init__(
        self, conn: AsyncConnection, principal: Principal, key: str | None, request: Request
    ):
        self.conn = conn
        self.principal = principal
        self.key = key
        self.request = request

    async def respond(self, make: Callable[[], Awaitable[Response]]) -> Response:
        """Run the POST once per key: replay a stored response, or make and store one."""
        replay = await self.claim()
        if replay is not None:
            return replay
        return await self.remember(await make())

    async def act(self, run: Callable[[], Awaitable[Mapping[str, Any]]]) -> Response:
        """An action's answer — the record as it now is, with its ETag — made once per key."""

        async def make() -> Response:
            return record_response(await run())

        return await self.respond(make)

    async def claim(self) -> Response | None:
        """None when the request should run; the stored response when it already ran."""
        if self.key is None:
            return None
        body = _canonical_body(await self.request.body())
        digest = hashlib.sha256(
            self.request.method.encode() + b" " + self.request.url.path.encode() + b"\n" + body
        ).hexdigest()
        ident = {"principal": self.principal.key, "key": self.key}
        inserted = await self._insert_claim(ident, digest)
        if inserted:
            return None
        stored = (
            (
                await self.conn.execute(
                    sa.select(idempotency_keys).where(
                        idempotency_keys.c.principal == ident["principal"],
                        idempotency_keys.c.key == ident["key"],
                    )
                )
            )
            .mappings()
            .one()
        )
        if stored["request_hash"] != digest:
            raise InvalidInput(
                "This Idempotency-Key was already used with a different request.",
                errors=[
                    ErrorItem("idempotency_key_reused", "different body or path", "Idempotency-Key")
                ],
            )
        if stored["status_code"] is None:
            raise Conflict("A request with this Idempotency-Key is still in progress; retry later.")
        headers = dict(stored["response_headers"])
        headers["Idempotent-Replayed"] = "true"
        return Response(
            stored["response_body"].encode(),
            status_code=stored["status_code"],
            headers=headers,
            media_type=headers.pop("content-type", "application/json"),
        )

    async def _insert_claim(self, ident: dict[str, str], digest: str) -> bool:
        values = {
            **ident,
            "method": self.request.method,
            "path": self.request.url.path[:500],
            "request_hash": digest,
            "created_at": utcnow(),
            "response_headers": {},
        }
        result = await self.conn.execute(_claim(self.conn.dialect.name), values)
        return bool(result.rowcount)

    async def remember(self, response: Response) -> Response:
        if self.key is not None:
            kept = {
                k: v
                for k, v in response.headers.items()
                if k.lower() in {"location", "etag", "content-type"}
            }
            await self.conn.execute(
                _REMEMBER,
                {
                    "claim_principal": self.principal.key,
                    "claim_key": self.key,
                    "status_code": response.status_code,
                    "response_body": bytes(response.body).decode(),
                    "response_headers": kept,
                },
            )
        return response


async def idempotency(
    request: Request,
    conn: Conn,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retry-safe key: the same key and body replay the first response.",
        ),
    ] = None,
) -> Idempotency:
    return Idempotency(conn, principal, idempotency_key, request)


IdempotentPost = Annotated[Idempotency, Depends(idempotency)]

__all__ = ["Conn", "CurrentPrincipal", "IdempotentPost", "dumps", "loads"]


async def forget_old_idempotency_keys(
    conn: AsyncConnection, settings: Settings, now: datetime
) -> int:
    """Drop Idempotency-Keys older than `settings.idempotency_ttl_hours`: a retry that late
    runs as a new request. Served by `ix_idempotency_keys_created_at`."""
    cutoff = now - timedelta(hours=settings.idempotency_ttl_hours)
    result = await conn.execute(
        idempotency_keys.delete().where(idempotency_keys.c.created_at <= cutoff)
    )
    return int(result.rowcount)

"""The baseline's whole data path: a raw asyncpg pool, hand-written SQL, orjson.

Both baseline apps (FastAPI and pure Starlette) call these functions, so they differ only
in the framework. Every query is the statement the service runs for the same principal
(same columns, same visibility clause, same keyset order and limit), written by hand;
`bench run` captures both apps' statements in-process and prints how many each sends.
Auth is the service's check: verify the bearer JWT with the same secret and algorithm
(once per token per process, as the service does; expiry on every request), then read
the user row.

Reads run in autocommit (one statement, no BEGIN/COMMIT); writes run in a transaction and
send the service's statements one for one: the same locks, the same gate queries, the same
UPDATE ... RETURNING, and the audit entry with its outbox event in one data-modifying CTE
(`WITH audit_entry AS (INSERT INTO audit_log ...) INSERT INTO events ...`, with the
change's other rows, such as a deal's stage history, as further CTEs), as
`app/core/records.py` writes them. Responses carry the same JSON (orjson, Decimal and
UUID as strings) and headers (ETag, Location) as the service's.
"""

import functools
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import jwt
import orjson

from app.core.pagination import SortKey, decode_cursor, encode_cursor
from bench.config import JWT_SECRET

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/salesflow_bench_small")
SECRET = os.environ.get("SALESFLOW_JWT_SECRET", JWT_SECRET)
# The service's pool: SALESFLOW_DB_POOL_SIZE + SALESFLOW_DB_MAX_OVERFLOW (10 + 5).
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "15"))
# Event types the service under test does not write yet (`bench run` finds them in its
# captured statements): the baseline then writes the audit entry alone for them too, so
# both apps do the same work.
SKIP_EVENTS = frozenset(filter(None, os.environ.get("BENCH_SKIP_EVENTS", "").split(",")))


class Problem(Exception):
    def __init__(self, status: int, title: str) -> None:
        self.status = status
        self.title = title


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)


def record(row: Mapping[str, Any], status: int = 200, **headers: str) -> Reply:
    return Reply(status, dumps(dict(row)), {"ETag": f'"{row["version"]}"', **headers})


def problem(error: Problem) -> Reply:
    body = {"type": "about:blank", "title": error.title, "status": error.status}
    return Reply(error.status, dumps(body), {"content-type": "application/problem+json"})


# ---------------------------------------------------------------------------- pool, auth


async def create_pool(dsn: str = DSN, size: int = POOL_SIZE) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=size,
        max_size=size,
        init=json_codec,
        server_settings={"application_name": "salesflow-bench-baseline"},
    )


async def json_codec(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python values, as SQLAlchemy's JSON type gives the service."""

    def encode(value: Any) -> str:
        return value if isinstance(value, str) else orjson.dumps(value).decode()

    await conn.set_type_codec("jsonb", encoder=encode, decoder=orjson.loads, schema="pg_catalog")


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    name: str | None
    role: str
    team_id: uuid.UUID | None

    @property
    def sees_everything(self) -> bool:
        return self.role in ("director", "admin")


USER_BY_ID = (
    "SELECT id, name, role, team_id, is_active, tokens_valid_after FROM users WHERE id = $1"
)


@functools.lru_cache(maxsize=8192)
def _verified(token: str) -> tuple[uuid.UUID, datetime, datetime] | None:
    """As the service does: a token's signature is checked once per process, its expiry on
    every request."""
    try:
        claims = jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            options={
                "require": ["exp", "sub", "iat"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        if claims.get("typ") != "access":
            return None
        return (
            uuid.UUID(claims["sub"]),
            datetime.fromtimestamp(float(claims["iat"]), UTC),
            datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError):
        return None


async def authenticate(conn: asyncpg.Connection, authorization: str | None) -> User:
    if not authorization or not authorization.startswith("Bearer "):
        raise Problem(401, "Unauthorized")
    verified = _verified(authorization[7:])
    if verified is None or verified[2] <= datetime.now(UTC):
        raise Problem(401, "Unauthorized")
    user_id, issued_at, _ = verified
    row = await conn.fetchrow(USER_BY_ID, user_id)
    if row is None or not row["is_active"]:
        raise Problem(401, "Unauthorized")
    if row["tokens_valid_after"] is not None and issued_at < row["tokens_valid_after"]:
        raise Problem(401, "Unauthorized")
    return User(row["id"], row["name"], row["role"], row["team_id"])


# ---------------------------------------------------------------------------- customers

CUSTOMER_COLUMNS = (
    "id, name, industry, company_size, region, annual_revenue, currency, tags, owner_id, "
    "shared_with_team, tier, tier_reason, computed_tier, computed_tier_reason, tier_override, "
    "tier_override_reason, tier_override_by, tier_override_at, grade, need_intensity, "
    "purchasing_power, lifecycle_stage, marked_lost_at, marked_lost_reason, marked_lost_by, "
    "last_contact_at, last_purchase_at, archived_at, created_at, updated_at, version"
)
# The rows a teammate shared (`app.core.access`): {t} is the viewer's team.
TEAMMATES = "(SELECT users.id FROM users WHERE users.team_id = {t})"
# A rep sees the customers they own, a teammate shared, or they cover as a contact's
# covering rep.
REP_SEES_CUSTOMER = (
    "(customers.owner_id = {u} OR customers.shared_with_team IS true AND customers.owner_id "
    f"IN {TEAMMATES} OR customers.id IN "
    "(SELECT contacts.customer_id FROM contacts WHERE contacts.covering_rep_id = {u}))"
)
REP_WITHOUT_TEAM_SEES_CUSTOMER = (
    "(customers.owner_id = {u} OR customers.id IN "
    "(SELECT contacts.customer_id FROM contacts WHERE contacts.covering_rep_id = {u}))"
)
CUSTOMER_SORT = SortKey("created_at", ("created_at",))


def _visible_customers(user: User, args: list[Any]) -> list[str]:
    if user.sees_everything:
        return []
    if user.role != "rep":
        raise Problem(501, "the baseline serves director and rep principals only")
    args.append(user.id)
    viewer = f"${len(args)}"
    if user.team_id is None:
        return [REP_WITHOUT_TEAM_SEES_CUSTOMER.format(u=viewer)]
    args.append(user.team_id)
    return [REP_SEES_CUSTOMER.format(u=viewer, t=f"${len(args)}")]


async def get_customer(conn: asyncpg.Connection, user: User, customer_id: uuid.UUID) -> Reply:
    args: list[Any] = [customer_id]
    where = ["customers.id = $1", *_visible_customers(user, args)]
    sql = f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {' AND '.join(where)}"
    row = await conn.fetchrow(sql, *args)
    if row is None:
        raise Problem(404, "Not Found")
    return record(row)


async def list_customers(
    conn: asyncpg.Connection,
    user: User,
    *,
    owner_id: uuid.UUID | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> Reply:
    args: list[Any] = []
    # Like the service: one's own customers need no visibility clause.
    where = [] if owner_id == user.id else _visible_customers(user, args)
    if owner_id is not None:
        args.append(owner_id)
        where.append(f"customers.owner_id = ${len(args)}")
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.append(escaped + "%")
        where.append(f"lower(customers.name) LIKE ${len(args)} ESCAPE '\\'")
    where.append("customers.archived_at IS NULL")
    if cursor:
        created_at, ident = decode_cursor(cursor, CUSTOMER_SORT)
        args += [created_at, ident]
        where.append(f"(customers.created_at, customers.id) > (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    sql = (
        f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {' AND '.join(where)} "
        f"ORDER BY customers.created_at, customers.id LIMIT ${len(args)}"
    )
    rows = await conn.fetch(sql, *args)
    return page(rows, limit, CUSTOMER_SORT)


def page(rows: list[asyncpg.Record], limit: int, sort: SortKey) -> Reply:
    items = [dict(r) for r in rows[:limit]]
    next_cursor = encode_cursor(sort, items[-1]) if len(rows) > limit else None
    return Reply(200, dumps({"items": items, "next_cursor": next_cursor}), {})


# ---------------------------------------------------------------------------- tickets

TICKET_COLUMNS = (
    "id, subject, description, type, priority, status, category, queue, channel, customer_id, "
    "contact_id, contract_id, assignee_id, reported_at, first_responded_at, resolved_at, "
    "closed_at, CASE WHEN next_due_at <= $1 THEN 'breached' "
    "WHEN sla_status = 'on_track' AND sla_at_risk_at <= $1 THEN 'at_risk' "
    "ELSE sla_status END AS sla_status, "
    "first_response_due_at, resolution_due_at, next_due_at, "
    "escalation_level, created_at, updated_at, version"
)
TICKET_DUE_SORT = SortKey("next_due_at", ("next_due_at",))


async def list_tickets_by_due(
    conn: asyncpg.Connection,
    user: User,
    *,
    assignee_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> Reply:
    """An agent's queue, most urgent first; tickets without a running clock are not in it."""
    if user.role not in ("support_agent", "director", "admin"):
        raise Problem(501, "the baseline serves agents and directors only")
    # A running clock past its due instant reads as breached, as in the service.
    args: list[Any] = [datetime.now(UTC), assignee_id]
    where = ["assignee_id = $2", "next_due_at IS NOT NULL"]
    if cursor:
        due, ident = decode_cursor(cursor, TICKET_DUE_SORT)
        args += [due, ident]
        where.append("(next_due_at, id) > ($3, $4)")
    args.append(limit + 1)
    sql = (
        f"SELECT {TICKET_COLUMNS} FROM tickets WHERE {' AND '.join(where)} "
        f"ORDER BY next_due_at, id LIMIT ${len(args)}"
    )
    return page(await conn.fetch(sql, *args), limit, TICKET_DUE_SORT)

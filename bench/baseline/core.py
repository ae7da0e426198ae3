"""The baseline's whole data path: a raw asyncpg pool, hand-written SQL, orjson.

Both baseline apps (FastAPI and pure Starlette) call these functions, so they differ only
in the framework. Every query is the statement the service runs for the same principal
(same columns, same visibility clause, same keyset order and limit), written by hand;
`python -m bench explain` prints both plans side by side. Auth is the service's check:
verify the bearer JWT with the same secret and algorithm (once per token per process, as
the service does; expiry on every request), then read the user row.

Reads run in autocommit (one statement, no BEGIN/COMMIT); writes run in a transaction.
Responses carry the same JSON (orjson, Decimal and UUID as strings) and headers (ETag,
Location) as the service's.
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

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/salesflow_bench_small")
SECRET = os.environ.get("SALESFLOW_JWT_SECRET", "change-me-salesflow-development-secret")
# The service's pool: SALESFLOW_DB_POOL_SIZE + SALESFLOW_DB_MAX_OVERFLOW (10 + 5).
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "15"))


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


async def create_pool() -> asyncpg.Pool:
    return await asyncpg.create_pool(
        DSN,
        min_size=POOL_SIZE,
        max_size=POOL_SIZE,
        init=_json_codec,
        server_settings={"application_name": "salesflow-bench-baseline"},
    )


async def _json_codec(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python values, as SQLAlchemy's JSON type gives the service."""

    def encode(value: Any) -> str:
        return value if isinstance(value, str) else orjson.dumps(value).decode()

    await conn.set_type_codec("jsonb", encoder=encode, decoder=orjson.loads, schema="pg_catalog")


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
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
    return User(row["id"], row["role"], row["team_id"])


# ---------------------------------------------------------------------------- customers

CUSTOMER_COLUMNS = (
    "id, name, industry, company_size, region, annual_revenue, currency, tags, owner_id, tier, "
    "tier_reason, tier_override, tier_override_reason, tier_override_by, tier_override_at, "
    "grade, need_intensity, purchasing_power, lifecycle_stage, marked_lost_at, "
    "marked_lost_reason, marked_lost_by, last_contact_at, last_purchase_at, archived_at, "
    "created_at, updated_at, version"
)
# A rep sees the customers they own or cover as a contact's covering rep.
REP_SEES_CUSTOMER = (
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
    return [REP_SEES_CUSTOMER.format(u=f"${len(args)}")]


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


# ---------------------------------------------------------------------------- writes

LEAD_COLUMNS = (
    "id, status, source, source_detail, campaign, referrer_customer_id, owner_id, company_name, "
    "contact_name, contact_title, email, phone, industry, budget_confirmed, budget_amount, "
    "currency, authority_confirmed, need_confirmed, need_description, expected_purchase_date, "
    "decision_maker_count, qualification_evidence, score, grade, next_touch_at, qualified_at, "
    "disqualified_reason, duplicate_of, converted_at, converted_customer_id, "
    "converted_contact_id, converted_deal_id, created_at, updated_at, version"
)
OUTBOUND = frozenset({"telemarketing", "email_campaign", "direct_mail"})
CLAIM_KEY = (
    "INSERT INTO idempotency_keys (principal, key, method, path, request_hash, created_at, "
    "response_headers) VALUES ($1, $2, 'POST', $3, $4, now(), '{}') ON CONFLICT DO NOTHING"
)
STORE_RESPONSE = (
    "UPDATE idempotency_keys SET status_code = $3, response_body = $4, response_headers = $5 "
    "WHERE principal = $1 AND key = $2"
)
DUPLICATES = (
    "(SELECT 'lead' AS type, id FROM leads WHERE email_normalized = $1 "
    "AND status NOT IN ('converted', 'disqualified') LIMIT 20) UNION ALL "
    "(SELECT 'contact', id FROM contacts WHERE email_normalized = $1 "
    "AND archived_at IS NULL LIMIT 20)"
)
INSERT_LEAD = (
    "INSERT INTO leads (id, created_at, updated_at, version, status, source, owner_id, "
    "company_name, contact_name, email, email_normalized, currency, budget_confirmed, "
    "authority_confirmed, need_confirmed, qualification_evidence, score, grade, duplicate_of) "
    "VALUES ($1, $2, $2, 1, 'new', $3, $4, $5, $6, $7, $8, 'CNY', false, false, false, "
    f"'[]', 0, 'C', '[]') RETURNING {LEAD_COLUMNS}"
)
AUDIT = (
    "INSERT INTO audit_log (id, at, actor_type, actor_id, action, entity_type, entity_id, "
    "before, after) VALUES ($1, $2, 'user', $3, $4, $5, $6, '{}', $7)"
)


def new_id() -> uuid.UUID:
    from uuid_utils.compat import uuid7

    return uuid7()


async def create_lead(
    conn: asyncpg.Connection, user: User, body: dict[str, Any], key: str | None, path: str
) -> Reply:
    """Claim the idempotency key, check duplicates, insert, audit, remember the response."""
    import hashlib

    async with conn.transaction():
        principal = f"user:{user.id}"
        if key is not None:
            digest = hashlib.sha256(b"POST " + path.encode() + b"\n" + orjson.dumps(body))
            claimed = await conn.execute(CLAIM_KEY, principal, key, path, digest.hexdigest())
            if claimed.endswith(" 0"):
                raise Problem(409, "replays are not part of the baseline")
        email = body.get("email")
        email_key = email.strip().lower() if email else None
        if email_key and await conn.fetch(DUPLICATES, email_key):
            raise Problem(409, "Conflict")
        now = datetime.now(UTC)
        row = await conn.fetchrow(
            INSERT_LEAD,
            new_id(),
            now,
            body["source"],
            user.id,
            body["company_name"],
            body.get("contact_name"),
            email,
            email_key,
        )
        lead = {**row, "inbound": row["source"] not in OUTBOUND}
        reply = record(lead, 201, Location=f"/api/v1/leads/{row['id']}")
        await conn.execute(
            AUDIT, new_id(), now, user.id, "lead.created", "lead", row["id"], reply.body.decode()
        )
        if key is not None:
            headers = orjson.dumps({"location": reply.headers["Location"]}).decode()
            await conn.execute(STORE_RESPONSE, principal, key, 201, reply.body.decode(), headers)
        return reply


# ---------------------------------------------------------------------------- deals

DEAL_COLUMNS = (
    "id, name, customer_id, owner_id, lead_id, stage, amount, currency, expected_close_date, "
    "need_description, product, presales_approved_at, presales_approved_by, bid_submitted_at, "
    "bid_amount, lost_reason, lost_reason_text, closed_at, closed_from_stage, stage_changed_at, "
    "created_at, updated_at, version"
)
WIN_PROBABILITY = {
    "development": Decimal(10),
    "initiation": Decimal(20),
    "proposal": Decimal(40),
    "bidding": Decimal(60),
    "negotiation": Decimal(80),
    "implementation": Decimal(95),
    "won": Decimal(100),
    "lost": Decimal(0),
}
LOCK_DEAL = f"SELECT {DEAL_COLUMNS} FROM deals WHERE id = $1 {{visible}} FOR UPDATE"
CONTACT_COUNT = "SELECT count(*) FROM contacts WHERE customer_id = $1 AND archived_at IS NULL"
MOVE_DEAL = (
    "UPDATE deals SET stage = $2, stage_changed_at = $3, updated_at = $3, version = version + 1 "
    f"WHERE id = $1 AND version = $4 RETURNING {DEAL_COLUMNS}"
)
RECORD_CHANGE = (
    "INSERT INTO deal_stage_history (id, deal_id, from_stage, to_stage, changed_at, changed_by, "
    "reason, amount, currency, expected_close_date) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


async def transition_deal(
    conn: asyncpg.Connection, user: User, deal_id: uuid.UUID, body: dict[str, Any]
) -> Reply:
    """development -> initiation behind its gate (the project-information key node), or
    back from initiation with a reason: the two moves the benchmark alternates."""
    to_stage, reason = body["to_stage"], body.get("reason")
    async with conn.transaction():
        visible = "" if user.sees_everything else "AND owner_id = $2"
        args = [deal_id] if user.sees_everything else [deal_id, user.id]
        deal = await conn.fetchrow(LOCK_DEAL.format(visible=visible), *args)
        if deal is None:
            raise Problem(404, "Not Found")
        move = (deal["stage"], to_stage)
        if move == ("development", "initiation"):
            contacts = await conn.fetchval(CONTACT_COUNT, deal["customer_id"])
            fields = ("customer_id", "need_description", "amount", "expected_close_date")
            if not contacts or any(deal[f] is None for f in fields):
                raise Problem(422, "Unprocessable Entity")
        elif move != ("initiation", "development") or not reason:
            raise Problem(409, "the baseline moves development <-> initiation only")
        now = datetime.now(UTC)
        row = await conn.fetchrow(MOVE_DEAL, deal_id, to_stage, now, deal["version"])
        await conn.execute(
            RECORD_CHANGE,
            new_id(),
            deal_id,
            deal["stage"],
            to_stage,
            now,
            user.id,
            reason,
            row["amount"],
            row["currency"],
            row["expected_close_date"],
        )
        presented = present_deal(row)
        after = dumps(presented).decode()
        await conn.execute(AUDIT, new_id(), now, user.id, "transition", "deal", deal_id, after)
        return Reply(200, dumps(presented), {"ETag": f'"{row["version"]}"'})


def present_deal(row: Mapping[str, Any]) -> dict[str, Any]:
    probability = WIN_PROBABILITY[row["stage"]]
    amount = row["amount"]
    weighted = None if amount is None else (amount * probability / 100).quantize(Decimal("0.01"))
    return {
        **row,
        "weighted_amount": weighted,
        "win_probability_pct": probability,
        "is_stale": False,
    }

"""The baseline's writes: the service's statements for each action, one for one, by hand.

Each action runs in one transaction and sends what the service sends for it (captured by
`bench run` in-process, counted for both apps): the caller's user row, the record locked
with the caller's visibility clause, the gate's queries, the versioned UPDATE ...
RETURNING, then the audit entry and its outbox event in one statement, a data-modifying
CTE as `app/core/records.py` writes it:

    WITH audit_entry AS (INSERT INTO audit_log ...), <the change's other rows> AS (...)
    INSERT INTO events (txid, ...) VALUES (pg_current_xact_id()::text::bigint, ...)

The audit entry holds only the fields that changed, on each side; the event the record
after the change (`data`), before it (`previous`) and the names of the changed fields.
What the baseline leaves out is the service's generality (the rules service, policy
lookups, fingerprints): those are the features whose cost the ratio measures.
"""

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from bench.baseline.core import SKIP_EVENTS, Problem, Reply, User, dumps, record

# ---------------------------------------------------------------------------- audit + event

NOISE = frozenset({"version", "updated_at", "created_at", "password_hash", "key_hash"})
# $1-$10; a change's other rows number their parameters from $11, the event's come last.
AUDIT = (
    "INSERT INTO audit_log (id, at, actor_type, actor_id, actor_name, action, entity_type, "
    "entity_id, before, after, request_id) VALUES ($1, $2, 'user', $3, $4, $5, $6, $7, $8, "
    "$9, $10)"
)
EVENT = (
    "INSERT INTO events (txid, id, type, record_type, record_id, record_version, occurred_at, "
    "actor_type, actor_id, actor_name, origin, request_id, changed_fields, data, previous) "
    "VALUES (pg_current_xact_id()::text::bigint, ${0}, ${1}, ${2}, $7, ${3}, $2, 'user', $3, "
    "$4, NULL, $10, ${4}, ${5}, ${6})"
)
EVENT_PARAMETERS = 7


@dataclass(frozen=True)
class ChangeStatement:
    """The one statement that records a change: with its event, or (for an event type
    the service under test does not write yet) the audit entry and companions alone."""

    event_type: str
    with_event: str
    without_event: str

    @classmethod
    def build(
        cls, event_type: str, companions: Sequence[tuple[str, str]] = ()
    ) -> "ChangeStatement":
        first_event = 11 + sum(sql.count("$") and _highest(sql) - 10 for _, sql in companions[-1:])
        ctes = [("audit_entry", AUDIT), *companions]
        event = EVENT.format(*range(first_event, first_event + EVENT_PARAMETERS))
        with_event = "WITH " + ", ".join(f"{n} AS ({sql})" for n, sql in ctes) + " " + event
        *before, (_, last) = ctes
        prefix = "WITH " + ", ".join(f"{n} AS ({sql})" for n, sql in before) + " " if before else ""
        return cls(event_type, with_event, prefix + last)

    @property
    def writes_event(self) -> bool:
        return self.event_type not in SKIP_EVENTS

    async def execute(
        self,
        conn: asyncpg.Connection,
        user: User,
        change: "Change",
        companion_args: Sequence[Any] = (),
    ) -> None:
        args = [*change.audit_args(user), *companion_args]
        if self.writes_event:
            await conn.execute(self.with_event, *args, *change.event_args(self.event_type))
        else:
            await conn.execute(self.without_event, *args)


def _highest(sql: str) -> int:
    import re

    return max(int(n) for n in re.findall(r"\$(\d+)", sql))


def _json(value: Any) -> str:
    return dumps(value).decode()


def _changed(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value changed, on each side (as `app.audit.service`)."""
    before = before or {}
    keys = (before.keys() | after.keys()) - NOISE
    changed = sorted(k for k in keys if before.get(k) != after.get(k))
    return (
        {k: before[k] for k in changed if k in before},
        {k: after[k] for k in changed if k in after},
    )


@dataclass(frozen=True)
class Change:
    """One change to one record: what the audit entry and the event are made of."""

    action: str
    record_type: str
    record: Mapping[str, Any]  # as the API shows it after the change
    before: Mapping[str, Any] | None
    at: datetime
    request_id: str
    audit_note: Mapping[str, Any] | None = None

    def audit_args(self, user: User) -> list[Any]:
        after = {**self.record, **self.audit_note} if self.audit_note else self.record
        old, new = _changed(self.before, after)
        return [
            new_id(),
            self.at,
            user.id,
            user.name,
            self.action,
            self.record_type,
            self.record["id"],
            _json(old),
            _json(new),
            self.request_id,
        ]

    def event_args(self, event_type: str) -> list[Any]:
        changed = sorted(_changed(self.before, self.record)[1]) if self.before else []
        return [
            new_id(),
            event_type,
            self.record_type,
            self.record.get("version"),
            _json(changed),
            _json(self.record),
            None if self.before is None else _json(self.before),
        ]


def new_id() -> uuid.UUID:
    from uuid_utils.compat import uuid7

    return uuid7()


def request_id() -> str:
    """What the service's middleware gives a request that brings no X-Request-ID."""
    return uuid.uuid4().hex


def if_match(header: str | None) -> int | None:
    """The version an `If-Match` names (`"3"`), None without one or for `*`."""
    if header is None or header.strip() == "*":
        return None
    tag = header.strip()
    if not (tag.startswith('"') and tag.endswith('"') and tag[1:-1].isdigit()):
        raise Problem(400, "If-Match is not an ETag the service issues")
    return int(tag[1:-1])


def check_version(expected: int | None, current: int) -> None:
    if expected is not None and expected != current:
        raise Problem(412, "Precondition Failed")


# ---------------------------------------------------------------------------- leads

LEAD_COLUMNS = (
    "id, status, source, source_detail, campaign, referrer_customer_id, owner_id, "
    "shared_with_team, company_name, contact_name, contact_title, email, phone, industry, "
    "budget_confirmed, budget_amount, currency, authority_confirmed, need_confirmed, "
    "need_description, expected_purchase_date, decision_maker_count, qualification_evidence, "
    "score, grade, next_touch_at, qualified_at, disqualified_reason, duplicate_of, "
    "converted_at, converted_customer_id, converted_contact_id, converted_deal_id, "
    "created_at, updated_at, version"
)
OUTBOUND = frozenset({"telemarketing", "email_campaign", "direct_mail"})
CLAIM_KEY = (
    "INSERT INTO idempotency_keys (principal, key, method, path, request_hash, "
    "response_headers, created_at) VALUES ($1, $2, 'POST', $3, $4, '{}', now()) "
    "ON CONFLICT DO NOTHING"
)
STORE_RESPONSE = (
    "UPDATE idempotency_keys SET status_code = $3, response_body = $4, response_headers = $5 "
    "WHERE principal = $1 AND key = $2"
)
# The service asks leads and contacts separately, at most 20 of each.
LEAD_DUPLICATES = (
    "SELECT id FROM leads WHERE email_normalized = $1 "
    "AND status NOT IN ('converted', 'disqualified') ORDER BY id LIMIT 20"
)
CONTACT_DUPLICATES = (
    "SELECT id FROM contacts WHERE email_normalized = $1 AND archived_at IS NULL "
    "ORDER BY id LIMIT 20"
)
INSERT_LEAD = (
    "INSERT INTO leads (id, created_at, updated_at, version, status, source, owner_id, "
    "shared_with_team, company_name, contact_name, email, email_normalized, currency, "
    "budget_confirmed, authority_confirmed, need_confirmed, qualification_evidence, score, "
    "grade, duplicate_of) VALUES ($1, $2, $2, 1, 'new', $3, $4, false, $5, $6, $7, $8, 'CNY', "
    f"false, false, false, '[]', 0, 'C', '[]') RETURNING {LEAD_COLUMNS}"
)
LEAD_CREATED = ChangeStatement.build("lead.created")


async def create_lead(
    conn: asyncpg.Connection, user: User, body: dict[str, Any], key: str | None, path: str
) -> Reply:
    """Claim the idempotency key, check duplicates, insert, audit with the event, and
    remember the response."""
    async with conn.transaction():
        principal = f"user:{user.id}"
        if key is not None:
            digest = hashlib.sha256(b"POST " + path.encode() + b"\n" + orjson.dumps(body))
            claimed = await conn.execute(CLAIM_KEY, principal, key, path, digest.hexdigest())
            if claimed.endswith(" 0"):
                raise Problem(409, "replays are not part of the baseline")
        email = body.get("email")
        email_key = email.strip().lower() if email else None
        if email_key and (
            await conn.fetch(LEAD_DUPLICATES, email_key)
            or await conn.fetch(CONTACT_DUPLICATES, email_key)
        ):
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
        lead = dict(row)
        change = Change("create", "lead", lead, None, now, request_id())
        await LEAD_CREATED.execute(conn, user, change)
        location = f"/api/v1/leads/{row['id']}"
        reply = record({**lead, "inbound": row["source"] not in OUTBOUND}, 201, Location=location)
        if key is not None:
            headers = {"etag": reply.headers["ETag"], "location": location}
            headers["content-type"] = "application/json"
            await conn.execute(
                STORE_RESPONSE, principal, key, 201, reply.body.decode(), _json(headers)
            )
        reply.headers["X-Request-ID"] = change.request_id
        return reply


# ---------------------------------------------------------------------------- deals

DEAL_COLUMNS = (
    "id, name, customer_id, owner_id, shared_with_team, lead_id, stage, amount, currency, "
    "expected_close_date, need_description, product, presales_approved_at, "
    "presales_approved_by, bid_submitted_at, bid_amount, lost_reason, lost_reason_text, "
    "closed_at, closed_from_stage, stage_changed_at, created_at, updated_at, version"
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
# A rep sees their own deals and the ones a teammate shared ($2 the rep, $3 the team).
REP_SEES_DEAL = (
    "AND (owner_id = $2 OR shared_with_team IS true AND owner_id IN "
    "(SELECT users.id FROM users WHERE users.team_id = $3))"
)
LOCK_DEAL = f"SELECT {DEAL_COLUMNS} FROM deals WHERE id = $1 {{visible}} FOR UPDATE"
# Everything the stage gates may ask about a deal, in one round trip, as the service does.
DEAL_EVIDENCE = (
    "SELECT (SELECT count(*) FROM contacts WHERE customer_id = $2 AND archived_at IS NULL) "
    "AS contact_count, EXISTS (SELECT activities.id FROM activities "
    "JOIN contacts ON contacts.id = activities.contact_id "
    "WHERE (activities.deal_id = $1 OR activities.customer_id = $2) "
    "AND contacts.decision_role = 'decision_maker') AS decision_maker_engaged, "
    "EXISTS (SELECT quotes.id FROM quotes JOIN quote_versions "
    "ON quote_versions.quote_id = quotes.id AND quote_versions.number = quotes.current_version_no "
    "WHERE quotes.deal_id = $1 AND quote_versions.status IN ('approved', 'sent', 'accepted')) "
    "AS approved_quote, EXISTS (SELECT id FROM contracts WHERE deal_id = $1 "
    "AND signed_at IS NOT NULL AND status != 'terminated') AS contract_signed, "
    "EXISTS (SELECT id FROM contracts WHERE deal_id = $1 AND accepted_at IS NOT NULL "
    "AND status != 'terminated') AS delivery_accepted"
)
MOVE_DEAL = (
    "UPDATE deals SET stage = $2, stage_changed_at = $3, updated_at = $3, version = version + 1 "
    f"WHERE id = $1 AND version = $4 RETURNING {DEAL_COLUMNS}"
)
# The move's history row, and its time in stage: the visit to the stage left is closed
# (its span joins the stage's total), a visit to the stage entered opened ($2 the instant,
# $7 the deal).
DEAL_STAGE_CHANGED = ChangeStatement.build(
    "deal.stage_changed",
    (
        (
            "stage_change",
            "INSERT INTO deal_stage_history (id, deal_id, from_stage, to_stage, changed_at, "
            "changed_by, reason, amount, currency, expected_close_date) "
            "VALUES ($11, $7, $12, $13, $2, $3, $14, $15, $16, $17)",
        ),
        (
            "stage_left",
            "UPDATE deal_stage_stays SET arrived_at = NULL, seconds_in_stage = seconds_in_stage "
            "+ greatest(date_part('epoch', $2 - arrived_at), 0) "
            "WHERE deal_id = $7 AND stage = $12 AND arrived_at IS NOT NULL",
        ),
        (
            "stage_entered",
            "INSERT INTO deal_stage_stays (deal_id, stage, owner_id, first_arrived_at, "
            "arrived_at, seconds_in_stage, visits) VALUES ($7, $13, $18, $2, $2, 0, 1) "
            "ON CONFLICT (deal_id, stage) DO UPDATE SET arrived_at = excluded.arrived_at, "
            "visits = deal_stage_stays.visits + 1",
        ),
    ),
)


def _deal_visibility(user: User) -> tuple[str, list[Any]]:
    if user.sees_everything:
        return "", []
    if user.role != "rep":
        raise Problem(501, "the baseline serves director and rep principals only")
    if user.team_id is None:
        return "AND owner_id = $2", [user.id]
    return REP_SEES_DEAL, [user.id, user.team_id]


async def transition_deal(
    conn: asyncpg.Connection, user: User, deal_id: uuid.UUID, body: dict[str, Any]
) -> Reply:
    """development -> initiation behind its gate (the project-information key node), or
    back from initiation with a reason: the two moves the benchmark alternates."""
    to_stage, reason = body["to_stage"], body.get("reason")
    async with conn.transaction():
        visible, args = _deal_visibility(user)
        current = await conn.fetchrow(LOCK_DEAL.format(visible=visible), deal_id, *args)
        if current is None:
            raise Problem(404, "Not Found")
        deal = dict(current)
        move = (deal["stage"], to_stage)
        evidence = await conn.fetchrow(DEAL_EVIDENCE, deal_id, deal["customer_id"])
        if move == ("development", "initiation"):
            fields = ("customer_id", "need_description", "amount", "expected_close_date")
            if not evidence["contact_count"] or any(deal[f] is None for f in fields):
                raise Problem(422, "Unprocessable Entity")
        elif move != ("initiation", "development") or not reason:
            raise Problem(409, "the baseline moves development <-> initiation only")
        now = datetime.now(UTC)
        row = dict(await conn.fetchrow(MOVE_DEAL, deal_id, to_stage, now, deal["version"]))
        change = Change("transition", "deal", row, deal, now, request_id())
        history = (new_id(), deal["stage"], to_stage, reason, row["amount"], row["currency"])
        await DEAL_STAGE_CHANGED.execute(
            conn, user, change, (*history, row["expected_close_date"], row["owner_id"])
        )
        presented = present_deal(row)
        headers = {"ETag": f'"{row["version"]}"', "X-Request-ID": change.request_id}
        return Reply(200, dumps(presented), headers)


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


# ---------------------------------------------------------------------------- quotes

QUOTE_COLUMNS = (
    "id, deal_id, customer_id, owner_id, title, status, current_version_no, copied_from_id, "
    "created_at, updated_at, version"
)
VERSION_COLUMNS = (
    "id, quote_id, number, status, currency, valid_until, terms, header_discount_pct, "
    "policy_discount_pct, policy_discount_reason, list_total, subtotal, total, "
    "effective_discount_pct, fingerprint, submitted_at, submitted_by, required_approver_role, "
    "approved_at, approved_by, approved_fingerprint, rejected_at, rejected_by, "
    "rejection_reason, sent_at, accepted_at, expired_at, superseded_at, created_at, updated_at"
)
LINE_COLUMNS = (
    "id, position, sku, description, quantity, unit_list_price, line_discount_pct, "
    "line_list_total, line_net_total"
)
# The deal's people see its quotes: the quote's owner, and whoever sees the deal.
REP_SEES_QUOTE = (
    "AND (quotes.owner_id = $2 OR EXISTS (SELECT * FROM deals WHERE deals.id = quotes.deal_id "
    "AND (deals.owner_id = $2 OR deals.shared_with_team IS true AND deals.owner_id IN "
    "(SELECT users.id FROM users WHERE users.team_id = $3))))"
)
# The quote row-locked with its deal's stage share-locked, in one statement.
LOCK_QUOTE = (
    f"SELECT {QUOTE_COLUMNS}, (SELECT stage FROM deals WHERE deals.id = quotes.deal_id "
    "FOR SHARE) AS deal_stage FROM quotes WHERE quotes.id = $1 {visible} FOR UPDATE OF quotes"
)
# The current version with its lines, one row per line.
VERSION_AND_LINES = (
    "SELECT "
    + ", ".join(f"v.{c}" for c in VERSION_COLUMNS.split(", "))
    + ", "
    + ", ".join(f"l.{c} AS line__{c}" for c in LINE_COLUMNS.split(", "))
    + " FROM quote_versions v LEFT JOIN quote_line_items l ON l.quote_version_id = v.id "
    "WHERE v.quote_id = $1 AND v.number = $2 ORDER BY l.position"
)
# Written with the audit entry and the event ($2 the instant, $3 the user, $11 the version).
APPROVE_VERSION = (
    "UPDATE quote_versions SET updated_at = $2, status = 'approved', submitted_at = $2, "
    "submitted_by = $3, approved_at = $2, approved_fingerprint = fingerprint WHERE id = $11"
)
APPROVE_QUOTE = (
    "UPDATE quotes SET updated_at = $2, version = version + 1, status = 'approved' "
    f"WHERE id = $1 AND version = $3 RETURNING {QUOTE_COLUMNS}"
)
QUOTE_SUBMITTED = ChangeStatement.build("quote.submitted", [("version_update", APPROVE_VERSION)])
# A rep approves their own quote up to this discount (the service's policy data).
REP_AUTHORITY_PCT = Decimal(5)
OPEN_STAGES = frozenset(
    {"development", "initiation", "proposal", "bidding", "negotiation", "implementation"}
)


def _quote_visibility(user: User) -> tuple[str, list[Any]]:
    if user.sees_everything:
        return "", []
    if user.role != "rep":
        raise Problem(501, "the baseline serves director and rep principals only")
    if user.team_id is None:
        return "AND quotes.owner_id = $2", [user.id]
    return REP_SEES_QUOTE, [user.id, user.team_id]


async def submit_quote(
    conn: asyncpg.Connection, user: User, quote_id: uuid.UUID, expected_version: int | None
) -> Reply:
    """A rep's draft within their own authority: approved on submit, no approver named."""
    async with conn.transaction():
        visible, args = _quote_visibility(user)
        locked = await conn.fetchrow(LOCK_QUOTE.format(visible=visible), quote_id, *args)
        if locked is None:
            raise Problem(404, "Not Found")
        quote = dict(locked)
        stage = quote.pop("deal_stage")
        check_version(expected_version, quote["version"])
        rows = await conn.fetch(VERSION_AND_LINES, quote_id, quote["current_version_no"])
        version = {k: v for k, v in rows[0].items() if not k.startswith("line__")}
        lines = [
            {k.removeprefix("line__"): v for k, v in row.items() if k.startswith("line__")}
            for row in rows
            if row["line__id"] is not None
        ]
        today = datetime.now(UTC).date()
        if version["status"] != "draft" or stage not in OPEN_STAGES:
            raise Problem(409, "Conflict")
        if version["valid_until"] is not None and version["valid_until"] < today:
            raise Problem(409, "Conflict")
        if user.role != "rep" or version["effective_discount_pct"] > REP_AUTHORITY_PCT:
            raise Problem(501, "the baseline submits within a rep's own authority only")
        now = datetime.now(UTC)
        updated = await conn.fetchrow(APPROVE_QUOTE, quote_id, now, quote["version"])
        approved = {
            **version,
            "status": "approved",
            "submitted_at": now,
            "submitted_by": user.id,
            "approved_at": now,
            "approved_fingerprint": version["fingerprint"],
            "updated_at": now,
        }
        before = {**quote, "current_version": {**version, "lines": lines}}
        after = {**updated, "current_version": {**approved, "lines": lines}}
        change = Change("submit", "quote", after, before, now, request_id())
        await QUOTE_SUBMITTED.execute(conn, user, change, [version["id"]])
        reply = record(after)
        reply.headers["X-Request-ID"] = change.request_id
        return reply


# ---------------------------------------------------------------------------- tickets

# As the service reads a ticket: a running clock past its due instant reads as breached.
TICKET_COLUMNS = (
    "id, subject, description, type, priority, status, category, queue, channel, customer_id, "
    "contact_id, contract_id, assignee_id, reported_at, first_responded_at, resolved_at, "
    "closed_at, CASE WHEN next_due_at <= $1 THEN 'breached' "
    "WHEN sla_status = 'on_track' AND sla_at_risk_at <= $1 THEN 'at_risk' "
    "ELSE sla_status END AS sla_status, "
    "first_response_due_at, resolution_due_at, next_due_at, "
    "escalation_level, created_at, updated_at, version"
)
LOCK_TICKET = f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $2 FOR UPDATE"
SLA_LOG = (
    "SELECT ticket_id, seq, kind, clock, at, policy_version, calendar_version, payload, "
    "actor_id, recorded_at FROM ticket_sla_events WHERE ticket_id = $1 ORDER BY seq"
)
# The first response stops the first-response clock; what runs on is the resolution
# clock, so its due time and warning instant are the ticket's next ones.
ANSWER_TICKET = (
    "UPDATE tickets SET updated_at = $3, version = version + 1, status = 'open', "
    "first_responded_at = $3, sla_status = 'on_track', next_due_at = resolution_due_at, "
    "sla_at_risk_at = reported_at + (resolution_due_at - reported_at) * $4, "
    "sla_next_action_at = reported_at + (resolution_due_at - reported_at) * $4 "
    f"WHERE id = $2 AND version = $5 RETURNING {TICKET_COLUMNS}"
)
# The response's two SLA log rows (the clock stops, met), written with the audit entry and
# the event ($2 the instant, $3 the user; $11-$17 the rows').
APPEND_SLA_EVENTS = (
    "INSERT INTO ticket_sla_events (id, ticket_id, seq, kind, clock, at, policy_version, "
    "calendar_version, payload, actor_id, recorded_at) VALUES "
    "($11, $12, $13, 'first_response', 'first_response', $2, $14, $15, '{}', $3, $2), "
    "($16, $12, $17, 'met', 'first_response', $2, $14, $15, '{}', $3, $2)"
)
TICKET_RESPONDED = ChangeStatement.build("ticket.responded", [("sla_log", APPEND_SLA_EVENTS)])
# Share of a clock's time after which it is at risk (the SLA policy's threshold).
AT_RISK_SHARE = 0.75
ANSWERABLE = frozenset({"new", "reopened"})


async def respond_to_ticket(
    conn: asyncpg.Connection,
    user: User,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    body: dict[str, Any],
) -> Reply:
    """An agent's first public response, in time: the first-response clock stops, met."""
    if user.role not in ("support_agent", "director", "admin"):
        raise Problem(501, "the baseline serves agents and directors only")
    if body.get("public") is not True or user.role != "support_agent":
        raise Problem(501, "the baseline records an agent's public responses only")
    async with conn.transaction():
        now = datetime.now(UTC)
        current = await conn.fetchrow(LOCK_TICKET, now, ticket_id)
        if current is None:
            raise Problem(404, "Not Found")
        check_version(expected_version, current["version"])
        log = await conn.fetch(SLA_LOG, ticket_id)
        due = current["first_response_due_at"]
        if current["status"] not in ANSWERABLE or current["first_responded_at"] is not None:
            raise Problem(409, "the baseline answers a ticket's first response only")
        if due is None or due < now or not log:
            raise Problem(409, "the baseline answers in time only")
        row = await conn.fetchrow(
            ANSWER_TICKET, now, ticket_id, now, timedelta_share(), current["version"]
        )
        ticket = dict(row)
        note = {"response": {"public": True, "body": body["body"], "answers_customer": True}}
        change = Change("ticket.respond", "ticket", ticket, dict(current), now, request_id(), note)
        started = next(e for e in reversed(log) if e["kind"] in ("started", "retargeted"))
        versions = (started["policy_version"], started["calendar_version"])
        seq = log[-1]["seq"]
        rows = [new_id(), ticket_id, seq + 1, *versions, new_id(), seq + 2]
        await TICKET_RESPONDED.execute(conn, user, change, rows)
        reply = record(ticket)
        reply.headers["X-Request-ID"] = change.request_id
        return reply


def timedelta_share() -> float:
    return AT_RISK_SHARE


__all__ = ["create_lead", "respond_to_ticket", "submit_quote", "timedelta", "transition_deal"]

"""Delivering the outbox to partners' endpoints: the functions the job engine calls.

    fan_out(db)                               events -> one delivery per subscribed endpoint
    endpoints_due(db, now)                    which endpoints have a delivery due
    deliver_endpoint(db, client, endpoint_id) send one endpoint's due deliveries, in order

Each takes the app's `Database` and runs its own short transactions, so a job engine, an
in-process loop or a test can call them alike.

The promise to partners (docs/webhooks.md): at least once, and per endpoint in the feed's
order. An endpoint's deliveries are sent one at a time in the order of their events; when
one fails, the later ones wait until it is delivered or dead-lettered (after its last
retry, about three days), so a partner never sees a change before the one it followed.
"""

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import SYSTEM
from app.core.clock import utcnow
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.enums import TaskKind
from app.events.catalogue import RECORD_TYPES
from app.events.repository import FeedQuery, Position, read_feed
from app.models.webhooks import WebhookDeliveryStatus, WebhookEndpointStatus
from app.rules.tasks import TaskSpec
from app.tasks.schemas import RelatedType
from app.tasks.service import create_triggered_task
from app.webhooks import repository as repo
from app.webhooks.policy import (
    DEFAULT_WEBHOOK_POLICY,
    GONE,
    RETRY_AFTER_STATUSES,
    WebhookPolicy,
    failing_too_long,
    parse_retry_after,
    retry_delay,
    subscribes_to,
)
from app.webhooks.sending import AttemptResult, event_body, send, signing_secrets
from app.webhooks.service import ENDPOINTS

log = logging.getLogger("salesflow.webhooks")

ATTEMPTS = Counter(
    "salesflow_webhook_attempts_total",
    "Webhook delivery attempts, by endpoint and outcome "
    "(delivered, http_error, timeout, network_error, refused).",
    ["endpoint", "outcome"],
)

# Deliveries one `deliver_endpoint` call sends at most before it hands back (answering
# `now`: call again at once), so one busy endpoint cannot hold a worker for ever.
MAX_DELIVERIES_PER_CALL = 100
# Process-local exclusion where PostgreSQL's advisory locks are not available (SQLite,
# whose deliveries run in the one API process).
_DELIVERING: set[uuid.UUID] = set()


async def fan_out(db: Database, *, limit: int = 1000) -> set[uuid.UUID]:
    """Turn the events after the cursor into deliveries, and move the cursor past them.

    One transaction: the cursor row is locked first, so two workers running this at once
    take turns and the second starts where the first stopped. Events are read as the
    change feed reads them (gap-free order, behind the oldest running transaction), so
    none is skipped. An endpoint receives the events that occurred after it was created.
    Answers the endpoints that were given new deliveries."""
    async with db.transaction() as conn:
        now = utcnow()
        txid, seq = await repo.lock_cursor(conn, now)
        after = Position(txid, seq)
        query = FeedQuery(after=after, types=(), record_types=(), record_id=None, limit=limit)
        events, last = await read_feed(conn, SYSTEM, query, RECORD_TYPES)
        if not events or last is None:
            return set()
        positions = await repo.event_positions(conn, [e["id"] for e in events])
        endpoints = await repo.subscribed_endpoints(conn)
        rows = [
            repo.delivery_values(endpoint["id"], event, positions[event["id"]], now=now)
            for event in events
            for endpoint in endpoints
            if event["occurred_at"] >= endpoint["created_at"]
            and subscribes_to(endpoint["event_types"], event["type"])
        ]
        await repo.insert_deliveries(conn, rows)
        await repo.move_cursor(conn, last.txid, last.seq)
    return {row["endpoint_id"] for row in rows}


async def endpoints_due(db: Database, now: datetime) -> list[uuid.UUID]:
    """Enabled endpoints whose next delivery in line is due at `now`."""
    async with db.reading() as conn:
        return await repo.endpoints_with_due_head(conn, now)


async def oldest_undelivered_age_seconds(db: Database, now: datetime | None = None) -> float | None:
    """How long the oldest event not yet delivered to an enabled endpoint has waited:
    still to fan out, or in line at its endpoint. None when nothing waits."""
    now = now or utcnow()
    async with db.reading() as conn:
        waiting = [await repo.oldest_waiting_event(conn)]
        if await repo.subscribed_endpoints(conn):
            waiting.append(await repo.oldest_unfanned_event(conn, await repo.read_cursor(conn)))
    known = [at for at in waiting if at is not None]
    return max((now - min(known)).total_seconds(), 0.0) if known else None


async def deliver_endpoint(
    db: Database,
    client: httpx.AsyncClient,
    endpoint_id: uuid.UUID,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    policy: WebhookPolicy = DEFAULT_WEBHOOK_POLICY,
) -> datetime | None:
    """Send the endpoint's due deliveries in event order, recording every attempt; stop at
    the first failure (the later ones wait for its retry). Answers when the endpoint next
    has something due (`now` or earlier: call again at once), or None: nothing pending, the
    endpoint disabled, or another worker delivering it right now.

    `now` drives the schedule (tests pass it to step through days of retries); the
    `webhook-timestamp` of each request is always the real time. Pass a client made with
    `trust_env=False`: a proxy from the environment would defeat the address check."""
    settings = settings or get_settings()
    async with _exclusive(db, endpoint_id) as claimed:
        if not claimed:
            return None
        for _ in range(MAX_DELIVERIES_PER_CALL):
            clock = now or utcnow()
            due = await _deliver_next(db, client, endpoint_id, clock, settings, policy)
            if due is None or due > clock:
                return due
        return now or utcnow()


@contextlib.asynccontextmanager
async def _exclusive(db: Database, endpoint_id: uuid.UUID) -> AsyncIterator[bool]:
    """One deliverer per endpoint across workers. On PostgreSQL a transaction-scoped
    advisory lock, held by a transaction that never writes (so the change feed is not held
    back) while the attempts commit in short transactions of their own: a worker that
    dies mid-delivery loses its connection and with it the lock, and the next run sends
    the unrecorded attempt again, with the same webhook-id."""
    if db.engine.dialect.name != "postgresql":
        if endpoint_id in _DELIVERING:
            yield False
            return
        _DELIVERING.add(endpoint_id)
        try:
            yield True
        finally:
            _DELIVERING.discard(endpoint_id)
        return
    async with db.transaction() as conn:
        statement = sa.select(sa.func.pg_try_advisory_xact_lock(_lock_key(endpoint_id)))
        yield bool((await conn.execute(statement)).scalar())


def _lock_key(endpoint_id: uuid.UUID) -> int:
    """A signed 64-bit advisory lock key: the id's random low half."""
    low = endpoint_id.int & (2**64 - 1)
    return low - 2**64 if low >= 2**63 else low


async def _deliver_next(
    db: Database,
    client: httpx.AsyncClient,
    endpoint_id: uuid.UUID,
    now: datetime,
    settings: Settings,
    policy: WebhookPolicy,
) -> datetime | None:
    """Attempt the delivery first in line if it is due; answer when the next one is due."""
    async with db.transaction() as conn:
        endpoint = await repo.signing_secrets(conn, endpoint_id)
        if endpoint is None or not endpoint["enabled"]:
            return None
        delivery = await repo.next_in_line(conn, endpoint_id)
        if delivery is None:
            return None
        if delivery["next_attempt_at"] > now:
            return delivery["next_attempt_at"]  # type: ignore[no-any-return]
        event = await repo.event_for_webhook(conn, delivery["event_id"])
        if event is None:  # pruned before it could be delivered
            await repo.update_delivery(
                conn,
                delivery["id"],
                {"status": WebhookDeliveryStatus.dead, "next_attempt_at": None},
            )
            return now
    result = await send(
        client,
        settings,
        policy,
        url=endpoint["url"],
        msg_id=str(delivery["event_id"]),
        body=event_body(event),
        secrets=signing_secrets(endpoint, utcnow()),
    )
    ATTEMPTS.labels(endpoint=str(endpoint_id), outcome=result.outcome).inc()
    async with db.transaction() as conn:
        return await _record_attempt(conn, endpoint, delivery, result, now, policy)


async def _record_attempt(
    conn: AsyncConnection,
    endpoint: Mapping[str, Any],
    delivery: Mapping[str, Any],
    result: AttemptResult,
    now: datetime,
    policy: WebhookPolicy,
) -> datetime | None:
    attempts = delivery["attempts"] + 1
    await repo.insert_attempt(
        conn,
        {
            "delivery_id": delivery["id"],
            "at": now,
            "status_code": result.status_code,
            "duration_ms": result.duration_ms,
            "error": result.error,
            "response_body": result.response_body,
        },
    )
    seen = {"attempts": attempts, "last_attempt_at": now}
    if result.delivered:
        delivered = {"status": WebhookDeliveryStatus.delivered, "delivered_at": now}
        await repo.update_delivery(
            conn, delivery["id"], {**seen, **delivered, "next_attempt_at": None}
        )
        await _recovered(conn, endpoint)
        return now
    if result.status_code == GONE:
        await repo.update_delivery(
            conn, delivery["id"], {**seen, "status": WebhookDeliveryStatus.failed}
        )
        await disable(conn, endpoint["id"], "gone", now)
        return None
    retry_after = None
    if result.status_code in RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(result.retry_after, now)
    delay = retry_delay(policy, attempts, retry_after)
    if delay is None:
        dead = {"status": WebhookDeliveryStatus.dead, "next_attempt_at": None}
        await repo.update_delivery(conn, delivery["id"], {**seen, **dead})
    else:
        retry = {"status": WebhookDeliveryStatus.failed, "next_attempt_at": now + delay}
        await repo.update_delivery(conn, delivery["id"], {**seen, **retry})
    return await _failed(conn, endpoint, now, policy, dead_lettered=delay is None, delay=delay)


async def _failed(
    conn: AsyncConnection,
    endpoint: Mapping[str, Any],
    now: datetime,
    policy: WebhookPolicy,
    *,
    dead_lettered: bool,
    delay: timedelta | None,
) -> datetime | None:
    failing_since = endpoint["failing_since"] or now
    if endpoint["failing_since"] is None:
        await repo.set_failing_since(conn, endpoint["id"], now)
    if failing_too_long(policy, failing_since, now):
        await disable(conn, endpoint["id"], "failing_too_long", now, failing_since=failing_since)
        return None
    if dead_lettered and endpoint["status"] == WebhookEndpointStatus.healthy:
        await _set_status(
            conn, endpoint["id"], {"status": WebhookEndpointStatus.failing}, "mark_failing"
        )
    # A dead-lettered delivery no longer holds the line: the next one is due at once.
    return now if delay is None else now + delay


async def _recovered(conn: AsyncConnection, endpoint: Mapping[str, Any]) -> None:
    if endpoint["status"] == WebhookEndpointStatus.failing:
        values = {"status": WebhookEndpointStatus.healthy, "failing_since": None}
        await _set_status(conn, endpoint["id"], values, "mark_healthy")
    elif endpoint["failing_since"] is not None:
        await repo.set_failing_since(conn, endpoint["id"], None)


async def _set_status(
    conn: AsyncConnection, endpoint_id: uuid.UUID, values: Mapping[str, Any], action: str
) -> dict[str, Any]:
    current = await repo.endpoints.get(conn, SYSTEM, endpoint_id, lock=True)
    return dict(await ENDPOINTS.save(conn, SYSTEM, current, values, None, action=action))


async def disable(
    conn: AsyncConnection,
    endpoint_id: uuid.UUID,
    reason: str,
    now: datetime,
    *,
    failing_since: datetime | None = None,
) -> None:
    """Stop delivering to an endpoint, with an audit entry, and tell the admins with a
    task about the endpoint (unassigned: admins and directors see it)."""
    values = {"enabled": False, "status": WebhookEndpointStatus.disabled, "disabled_reason": reason}
    endpoint = await _set_status(conn, endpoint_id, values, "disable")
    log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
    why = (
        "answered 410 Gone"
        if reason == "gone"
        else f"has failed since {failing_since:%Y-%m-%d %H:%M} UTC"
    )
    spec = TaskSpec(
        kind=TaskKind.webhook_endpoint_disabled,
        record_id=str(endpoint_id),
        due_at=now + timedelta(days=1),
        dedupe_key=f"webhook_disabled:{endpoint_id}:{now.isoformat()}",
        title=f"Webhook endpoint {endpoint['url'][:150]} {why} and was disabled: "
        "fix it, then re-enable it (PATCH enabled=true)",
    )
    await create_triggered_task(conn, spec, None, RelatedType.webhook_endpoint, endpoint_id)

"""Delivery to a real receiver: signed, in order, retried, dead-lettered, disabled."""

import asyncio
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.events.catalogue import EventType
from app.models import AuditEntry
from app.webhooks import delivery
from app.webhooks.policy import DEFAULT_WEBHOOK_POLICY
from app.webhooks.repository import deliveries_table, endpoints_table
from tests.webhooks.conftest import deliver, emit_events, fan_out_all, register
from tests.webhooks.receiver import Answer

DEAL = EventType.deal_created


async def _deliveries(conn, endpoint):  # type: ignore[no-untyped-def]
    statement = (
        sa.select(deliveries_table)
        .where(deliveries_table.c.endpoint_id == uuid.UUID(endpoint["id"]))
        .order_by(deliveries_table.c.event_seq)
    )
    return (await conn.execute(statement)).mappings().all()


async def _endpoint(conn, endpoint):  # type: ignore[no-untyped-def]
    statement = sa.select(endpoints_table).where(endpoints_table.c.id == uuid.UUID(endpoint["id"]))
    return (await conn.execute(statement)).mappings().one()


async def test_events_arrive_signed_in_order_with_the_feed_representation(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url, ["deal.*", "quote.approved"])
    ids = await emit_events(
        conn, DEAL, EventType.lead_created, EventType.quote_approved, EventType.deal_updated
    )
    assert await fan_out_all(db) == {uuid.UUID(endpoint["id"])}
    assert await deliver(db, outbound, endpoint, hook_settings) is None

    wanted = [ids[0], ids[2], ids[3]]  # lead.created is not subscribed
    assert [r.webhook_id for r in receiver.received] == [str(i) for i in wanted]
    payloads = [r.verified(endpoint["secret"]) for r in receiver.received]
    assert [p["type"] for p in payloads] == ["deal.created", "quote.approved", "deal.updated"]
    first = payloads[0]
    assert first["id"] == str(ids[0]) and first["data"]["id"] == str(ids[0])
    assert first["data"]["record_type"] == "deal" and first["data"]["actor_type"] == "system"
    assert first["timestamp"] == first["data"]["occurred_at"]
    assert {"webhook-timestamp", "webhook-signature"} <= set(receiver.received[0].headers)
    rows = await _deliveries(conn, endpoint)
    assert [r["status"] for r in rows] == ["delivered"] * 3
    assert all(r["attempts"] == 1 and r["delivered_at"] is not None for r in rows)


async def test_fan_out_twice_creates_each_delivery_once(hooks, admin, receiver, conn, db):
    endpoint = await register(hooks, admin, receiver.url)
    await emit_events(conn, DEAL)
    assert await fan_out_all(db) == {uuid.UUID(endpoint["id"])}
    assert await fan_out_all(db) == set()
    await emit_events(conn, EventType.deal_updated)
    assert await fan_out_all(db) == {uuid.UUID(endpoint["id"])}
    assert await fan_out_all(db) == set()
    assert len(await _deliveries(conn, endpoint)) == 2


async def test_events_before_an_endpoint_existed_are_not_sent(hooks, admin, receiver, conn, db):
    await emit_events(conn, DEAL)
    endpoint = await register(hooks, admin, receiver.url)
    assert await fan_out_all(db) == set()
    assert await _deliveries(conn, endpoint) == []


async def test_a_failed_attempt_is_retried_with_the_same_webhook_id(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    (event_id,) = await emit_events(conn, DEAL)
    await fan_out_all(db)
    receiver.answer(Answer(500, body=b"boom " * 1000))
    now = utcnow()
    retry_at = await deliver(db, outbound, endpoint, hook_settings, now=now)
    first_wait = DEFAULT_WEBHOOK_POLICY.retry_schedule_seconds[0]
    assert retry_at is not None
    assert timedelta(seconds=first_wait * 0.79) <= retry_at - now <= timedelta(seconds=6.1)
    assert await deliver(db, outbound, endpoint, hook_settings, now=now) == retry_at  # not yet

    assert await deliver(db, outbound, endpoint, hook_settings, now=retry_at) is None
    assert [r.webhook_id for r in receiver.received] == [str(event_id)] * 2
    receiver.received[1].verified(endpoint["secret"])
    log = (await hooks.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                           headers=admin.headers)).json()  # fmt: skip
    (item,) = log["items"]
    assert item["status"] == "delivered" and item["attempts"] == 2
    failed, succeeded = item["attempt_log"]
    assert failed["status_code"] == 500 and failed["error"] == "HTTP 500"
    assert len(failed["response_body"]) == 1024 and failed["duration_ms"] >= 0
    assert succeeded["status_code"] == 200 and succeeded["error"] is None


async def test_later_events_wait_for_a_failing_one(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    first, second = await emit_events(conn, DEAL, EventType.deal_updated)
    await fan_out_all(db)
    receiver.answer(Answer(503))
    now = utcnow()
    retry_at = await deliver(db, outbound, endpoint, hook_settings, now=now)
    assert [r.webhook_id for r in receiver.received] == [str(first)]
    assert await delivery.endpoints_due(db, now) == []
    assert await delivery.endpoints_due(db, retry_at) == [uuid.UUID(endpoint["id"])]
    await deliver(db, outbound, endpoint, hook_settings, now=retry_at)
    assert [r.webhook_id for r in receiver.received] == [str(first), str(first), str(second)]


async def test_retry_after_is_honoured_on_429(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    await emit_events(conn, DEAL)
    await fan_out_all(db)
    receiver.answer(Answer(429, headers={"Retry-After": "120"}))
    now = utcnow()
    retry_at = await deliver(db, outbound, endpoint, hook_settings, now=now)
    assert retry_at is not None and retry_at - now >= timedelta(seconds=120)
    receiver.answer(Answer(429, headers={"Retry-After": str(30 * 24 * 3600)}))
    again = await deliver(db, outbound, endpoint, hook_settings, now=retry_at)
    cap = timedelta(seconds=DEFAULT_WEBHOOK_POLICY.retry_after_cap_seconds)
    assert again is not None and again - retry_at <= cap


async def test_a_hanging_receiver_times_out(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    await emit_events(conn, DEAL)
    await fan_out_all(db)
    receiver.answer(Answer(hang_seconds=1.0))
    assert await deliver(db, outbound, endpoint, hook_settings) is not None
    (row,) = await _deliveries(conn, endpoint)
    assert row["status"] == "failed"
    log = (await hooks.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                           headers=admin.headers)).json()  # fmt: skip
    (attempt,) = log["items"][0]["attempt_log"]
    assert attempt["status_code"] is None and attempt["error"].startswith("timeout")
    assert 400 <= attempt["duration_ms"] < 1000


async def test_410_disables_the_endpoint_with_an_audit_entry_and_a_task(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    await emit_events(conn, DEAL, EventType.deal_updated)
    await fan_out_all(db)
    receiver.answer(Answer(410))
    assert await deliver(db, outbound, endpoint, hook_settings) is None
    assert len(receiver.received) == 1
    stored = await _endpoint(conn, endpoint)
    assert (stored["enabled"], stored["status"], stored["disabled_reason"]) == (
        False,
        "disabled",
        "gone",
    )
    audit = AuditEntry.__table__  # type: ignore[attr-defined]
    actions = (
        await conn.execute(
            sa.select(audit.c.action, audit.c.actor_type).where(
                audit.c.entity_id == uuid.UUID(endpoint["id"])
            )
        )
    ).all()
    assert ("disable", "system") in actions
    # The admins' task names the endpoint as its record.
    about = {"related_type": "webhook_endpoint", "related_id": endpoint["id"]}
    listed = await hooks.get("/api/v1/tasks", params=about, headers=admin.headers)
    (task,) = listed.json()["items"]
    assert task["kind"] == "webhook_endpoint_disabled" and task["status"] == "open"
    assert task["assignee_id"] is None and task["due_at"] is not None
    assert endpoint["url"] in task["title"] and "410" in task["title"]
    assert await delivery.endpoints_due(db, utcnow() + timedelta(days=1)) == []

    # Switched on again, the waiting deliveries go out, still in order.
    current = await hooks.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=admin.headers)
    response = await hooks.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}",
        json={"enabled": True},
        headers={**admin.headers, "If-Match": current.headers["ETag"]},
    )
    assert response.json()["status"] == "healthy"
    await deliver(db, outbound, endpoint, hook_settings)
    assert len(receiver.received) == 3 and receiver.received[0].body == receiver.received[1].body


async def test_dead_letter_then_disable_after_failing_for_days(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    _, second = await emit_events(conn, DEAL, EventType.deal_updated)
    await fan_out_all(db)
    receiver.default = Answer(500)
    now = start = utcnow()
    schedule = DEFAULT_WEBHOOK_POLICY.retry_schedule_seconds
    for _ in range(len(schedule) + 1):
        due = await deliver(db, outbound, endpoint, hook_settings, now=now)
        assert due is not None
        if due > now:
            now = due
        else:
            break
    rows = await _deliveries(conn, endpoint)
    assert rows[0]["status"] == "dead" and rows[0]["attempts"] == len(schedule) + 1
    assert rows[0]["next_attempt_at"] is None
    stored = await _endpoint(conn, endpoint)
    assert stored["status"] == "failing" and stored["failing_since"] == start
    # The dead one no longer holds the line: the next event was tried right after it.
    assert receiver.received[-1].webhook_id == str(second)

    steps = 0
    while (due := await deliver(db, outbound, endpoint, hook_settings, now=now)) is not None:
        now, steps = due, steps + 1
        assert steps < 20
    stored = await _endpoint(conn, endpoint)
    assert stored["status"] == "disabled" and stored["disabled_reason"] == "failing_too_long"
    assert now - start >= timedelta(days=DEFAULT_WEBHOOK_POLICY.disable_after_failing_days)


async def test_a_worker_killed_mid_delivery_redelivers_with_the_same_webhook_id(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    (event_id,) = await emit_events(conn, DEAL)
    await fan_out_all(db)
    receiver.answer(Answer(hang_seconds=0.4))
    slow = hook_settings.model_copy(update={"webhook_timeout_seconds": 5.0})
    worker = asyncio.create_task(deliver(db, outbound, endpoint, slow))
    assert await asyncio.to_thread(receiver.got_request.wait, 2)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    (row,) = await _deliveries(conn, endpoint)
    assert row["attempts"] == 0 and row["next_attempt_at"] is not None  # nothing recorded

    assert await deliver(db, outbound, endpoint, hook_settings) is None
    assert [r.webhook_id for r in receiver.received] == [str(event_id)] * 2
    # Both copies verify, so the partner can drop the second by its webhook-id.
    payloads = [r.verified(endpoint["secret"]) for r in receiver.received]
    assert payloads[0] == payloads[1] and payloads[0]["id"] == str(event_id)
    (row,) = await _deliveries(conn, endpoint)
    assert row["status"] == "delivered" and row["attempts"] == 1


async def test_one_deliverer_per_endpoint(
    hooks, admin, receiver, conn, db, outbound, hook_settings, backend
):
    if backend == "postgresql":
        pytest.skip("the advisory lock is re-entrant on the test's one connection")
    endpoint = await register(hooks, admin, receiver.url)
    await emit_events(conn, DEAL)
    await fan_out_all(db)
    receiver.answer(Answer(hang_seconds=0.2))
    results = await asyncio.gather(
        deliver(db, outbound, endpoint, hook_settings),
        deliver(db, outbound, endpoint, hook_settings),
    )
    assert results == [None, None] and len(receiver.received) == 1


async def test_delivery_refuses_an_address_that_became_private(
    hooks, admin, receiver, conn, db, outbound, hook_settings
):
    endpoint = await register(hooks, admin, receiver.url)
    await emit_events(conn, DEAL)
    await fan_out_all(db)
    strict = hook_settings.model_copy(update={"webhook_allow_private": False})
    assert await deliver(db, outbound, endpoint, strict) is not None
    assert receiver.received == []
    log = (await hooks.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                           headers=admin.headers)).json()  # fmt: skip
    (attempt,) = log["items"][0]["attempt_log"]
    assert attempt["error"].startswith("refused:") and "127.0.0.1" in attempt["error"]


async def test_metrics_helpers(hooks, admin, receiver, conn, db, outbound, hook_settings):
    endpoint = await register(hooks, admin, receiver.url)
    await fan_out_all(db)  # past what other tests may have committed
    await emit_events(conn, DEAL)
    age = await delivery.oldest_undelivered_age_seconds(db, utcnow() + timedelta(seconds=60))
    assert age is not None and 59 <= age <= 70  # not fanned out yet
    await fan_out_all(db)
    age = await delivery.oldest_undelivered_age_seconds(db, utcnow() + timedelta(seconds=60))
    assert age is not None and 59 <= age <= 70  # in line
    counter = delivery.ATTEMPTS.labels(endpoint=endpoint["id"], outcome="delivered")
    before = counter._value.get()
    await deliver(db, outbound, endpoint, hook_settings)
    assert counter._value.get() == before + 1
    assert await delivery.oldest_undelivered_age_seconds(db) is None


async def test_a_second_worker_cannot_take_an_endpoint_being_delivered(engine, backend):
    """Two real connections: the transaction-scoped advisory lock excludes the second
    worker, and is free again once the first one's transaction ends."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's advisory locks; SQLite delivers in one process")
    from app.core.db import Database
    from app.core.ids import new_id

    db, endpoint_id = Database(engine), new_id()
    async with (
        delivery._exclusive(db, endpoint_id) as first,
        delivery._exclusive(db, endpoint_id) as second,
    ):
        assert (first, second) == (True, False)
    async with delivery._exclusive(db, endpoint_id) as again:
        assert again


async def test_the_scheduled_round_prunes_the_delivery_log_past_its_retention(
    hooks, admin, receiver, conn, db, hook_settings
):
    from app.ops.schedule import run_round
    from app.webhooks.repository import attempts_table

    endpoint = await register(hooks, admin, receiver.url)
    await emit_events(conn, DEAL, EventType.deal_updated, EventType.deal_stage_changed)
    await fan_out_all(db)
    now = utcnow()
    retention = timedelta(days=DEFAULT_WEBHOOK_POLICY.delivery_log_retention_days)
    second = timedelta(seconds=1)
    kept, removed, waiting = await _deliveries(conn, endpoint)
    ages = {
        kept["id"]: ("delivered", now - retention, None),  # just inside: kept
        removed["id"]: ("dead", now - retention - second, None),  # just outside: removed
        waiting["id"]: ("failed", now - retention - timedelta(days=9), now),  # still to send
    }
    for delivery_id, (status, created_at, next_attempt_at) in ages.items():
        await conn.execute(
            deliveries_table.update()
            .where(deliveries_table.c.id == delivery_id)
            .values(status=status, created_at=created_at, next_attempt_at=next_attempt_at)
        )
        await conn.execute(
            attempts_table.insert().values(
                id=uuid.uuid4(), delivery_id=delivery_id, at=created_at, duration_ms=5
            )
        )

    result = await run_round(db, hook_settings, now)
    assert result is not None and result.pruned_deliveries == 1
    assert [d["id"] for d in await _deliveries(conn, endpoint)] == [kept["id"], waiting["id"]]
    left = (await conn.execute(sa.select(attempts_table.c.delivery_id))).scalars().all()
    assert removed["id"] not in left and {kept["id"], waiting["id"]} <= set(left)
    log = await hooks.get(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin.headers
    )
    assert {d["id"] for d in log.json()["items"]} == {str(kept["id"]), str(waiting["id"])}

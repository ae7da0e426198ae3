"""Webhook delivery by real workers on PostgreSQL, over connections that commit (not the
test's rolled-back one): a worker process killed mid-delivery, and two workers delivering
the same endpoints at once.

The endpoints and their deliveries are committed as registration and fan-out would leave
them (without fan-out itself, whose horizon other sessions' transactions hold back), and
removed again afterwards."""

import asyncio
import os
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.access import SYSTEM
from app.core.clock import utcnow
from app.core.config import Settings
from app.core.db import Database, create_engine
from app.core.ids import new_id
from app.events.catalogue import EventType
from app.events.outbox import emit, events_table
from app.jobs import engine as jobs_engine
from app.jobs.tasks import JobContext
from app.models import WebhookEndpoint
from app.webhooks import delivery
from app.webhooks import repository as repo
from app.webhooks.policy import WebhookPolicy
from app.webhooks.service import new_secret
from tests.factories import insert
from tests.webhooks.receiver import Answer, Receiver

REPOSITORY = Path(__file__).resolve().parents[2]
PATIENCE_SECONDS = 60.0


@dataclass(frozen=True)
class Partner:
    endpoint_id: uuid.UUID
    secret: str
    url: str
    event_ids: list[str]  # in feed order

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@pytest.fixture
def worker_settings(engine: AsyncEngine, backend: str, settings: Settings) -> Settings:
    if backend != "postgresql":
        pytest.skip("workers on committing connections: PostgreSQL and Procrastinate")
    return settings.model_copy(
        update={
            "database_url": engine.url.render_as_string(hide_password=False),
            "jobs": "procrastinate",
            "sla_sweep_interval_seconds": 0,
            "triggers_interval_seconds": 0,
            "jobs_dispatch_interval_seconds": 0,
            "webhook_allow_private": True,
            "webhook_timeout_seconds": 30.0,
        }
    )


@pytest.fixture
async def partners(engine: AsyncEngine) -> AsyncIterator[list[Partner]]:
    """The committed partners a test makes, and every trace of them removed afterwards."""
    made: list[Partner] = []
    try:
        yield made
    finally:
        async with engine.begin() as conn:
            endpoints = [p.endpoint_id for p in made]
            events = [uuid.UUID(e) for p in made for e in p.event_ids]
            table = repo.endpoints_table
            await conn.execute(table.delete().where(table.c.id.in_(endpoints)))  # cascades
            await conn.execute(events_table.delete().where(events_table.c.id.in_(events)))
            for name in ("procrastinate_jobs", "procrastinate_periodic_defers"):
                await conn.execute(sa.text(f"DELETE FROM {name}"))


async def commit_partner(engine: AsyncEngine, url: str, events: int) -> Partner:
    """An endpoint and `events` deal events waiting for it, committed."""
    secret, now = new_secret(), utcnow()
    records = [new_id() for _ in range(events)]
    async with engine.begin() as conn:
        endpoint = await insert(
            conn,
            WebhookEndpoint,
            url=url,
            event_types=["deal.*"],
            enabled=True,
            status="healthy",
            secret=secret,
        )
        for record_id in records:
            record = {"id": record_id, "version": 1, "name": "Line retrofit"}
            await emit(conn, SYSTEM, EventType.deal_created, record)
        statement = (
            sa.select(events_table)
            .where(events_table.c.record_id.in_(records))
            .order_by(events_table.c.txid, events_table.c.seq)
        )
        rows = (await conn.execute(statement)).mappings().all()
        await repo.insert_deliveries(
            conn,
            [
                repo.delivery_values(endpoint["id"], row, (row["txid"], row["seq"]), now=now)
                for row in rows
            ],
        )
    return Partner(endpoint["id"], secret, url, [str(row["id"]) for row in rows])


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until it holds, for at most PATIENCE_SECONDS."""
    deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still waiting after {PATIENCE_SECONDS} s: {what}")
        await asyncio.sleep(0.05)


async def scalar(engine: AsyncEngine, statement: sa.Executable) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(statement)).scalar()


async def delivery_state(engine: AsyncEngine, partner: Partner) -> tuple[str, int]:
    table = repo.deliveries_table
    statement = sa.select(table.c.status, table.c.attempts).where(
        table.c.endpoint_id == partner.endpoint_id
    )
    async with engine.connect() as conn:
        status, attempts = (await conn.execute(statement)).one()
    return str(status), int(attempts)


async def attempts_by_event(engine: AsyncEngine, partner: Partner) -> Counter[str]:
    """How many attempts the delivery log records for each event."""
    deliveries, attempts = repo.deliveries_table, repo.attempts_table
    statement = (
        sa.select(deliveries.c.event_id)
        .join(attempts, attempts.c.delivery_id == deliveries.c.id)
        .where(deliveries.c.endpoint_id == partner.endpoint_id)
    )
    async with engine.connect() as conn:
        return Counter(str(e) for e in (await conn.execute(statement)).scalars())


def lock_holders(endpoint_id: uuid.UUID) -> sa.Executable:
    """Sessions holding the endpoint's delivery lock (pg_locks splits the bigint key)."""
    key = delivery._lock_key(endpoint_id) & (2**64 - 1)
    return sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
        "AND classid::bigint = :high AND objid::bigint = :low"
    ).bindparams(high=key >> 32, low=key & (2**32 - 1))


DELIVERY_JOBS = sa.text(
    "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'deliver_webhooks'"
)
# What 30 seconds without a heartbeat would leave: the job's worker looks gone.
AGE_THE_JOBS_WORKER = sa.text(
    "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 minute' "
    "WHERE id IN (SELECT worker_id FROM procrastinate_jobs WHERE task_name = 'deliver_webhooks')"
)


async def start_worker_process(settings: Settings) -> asyncio.subprocess.Process:
    """`salesflow worker`, as deployed: its own process, its own connections."""
    env = {
        **os.environ,
        "SALESFLOW_DATABASE_URL": settings.database_url,
        "SALESFLOW_JOBS": "procrastinate",
        "SALESFLOW_SLA_SWEEP_INTERVAL_SECONDS": "0",
        "SALESFLOW_TRIGGERS_INTERVAL_SECONDS": "0",
        "SALESFLOW_JOBS_DISPATCH_INTERVAL_SECONDS": "0",
        "SALESFLOW_WEBHOOK_ALLOW_PRIVATE": "true",
        "SALESFLOW_WEBHOOK_TIMEOUT_SECONDS": "30",
        "SALESFLOW_LOG_LEVEL": "WARNING",
    }
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("salesflow")),
        "worker",
        "--name",
        "doomed",
        cwd=REPOSITORY,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_worker_killed_mid_delivery_redelivers_with_the_same_webhook_id(
    engine, worker_settings, receiver, partners
):
    partner = await commit_partner(engine, receiver.url, events=1)
    partners.append(partner)
    receiver.answer(Answer(hang_seconds=15))  # the partner is slow; the worker dies waiting
    app = jobs_engine.build(worker_settings)
    db = Database(create_engine(worker_settings))
    try:
        async with app.open_async(), jobs_engine.http_client(worker_settings) as http:
            defer = jobs_engine.delivery_deferrer(app)
            await defer(partner.endpoint_id, None)
            doomed = await start_worker_process(worker_settings)
            try:
                sent = await asyncio.to_thread(receiver.got_request.wait, PATIENCE_SECONDS)
                if not sent:
                    doomed.terminate()
                    _, errors = await doomed.communicate()
                    raise AssertionError(f"the worker never sent: {errors.decode()[-2000:]}")
                # Mid-delivery, under the endpoint's lock.
                assert await scalar(engine, lock_holders(partner.endpoint_id)) == 1
            finally:
                if doomed.returncode is None:
                    doomed.kill()  # SIGKILL: no shutdown, no cleanup
                await doomed.wait()

            # Nothing of the attempt was recorded, and the job is left "doing".
            assert await delivery_state(engine, partner) == ("pending", 0)
            async with engine.connect() as conn:
                assert (await conn.execute(DELIVERY_JOBS)).scalars().all() == ["doing"]

            # The lock went with the dead worker's connection.
            async def unlocked() -> bool:
                return await scalar(engine, lock_holders(partner.endpoint_id)) == 0

            await until(unlocked, "the killed worker's lock to go")
            # Half a minute on, the minutely retry_stalled_jobs finds the job stalled.
            async with engine.begin() as conn:
                await conn.execute(AGE_THE_JOBS_WORKER)
            await app.tasks["retry_stalled_jobs"](timestamp=int(utcnow().timestamp()))
            async with engine.connect() as conn:
                assert (await conn.execute(DELIVERY_JOBS)).scalars().all() == ["todo"]

            # A surviving worker runs it again.
            ctx = JobContext(db, worker_settings, http, defer)
            survivor = asyncio.create_task(
                app.run_worker_async(
                    name="survivor",
                    install_signal_handlers=False,
                    additional_context={jobs_engine.CONTEXT_KEY: ctx},
                    fetch_job_polling_interval=0.1,
                )
            )
            try:

                async def delivered() -> bool:
                    return await delivery_state(engine, partner) == ("delivered", 1)

                await until(delivered, "the survivor to deliver")
            finally:
                survivor.cancel()
                await asyncio.gather(survivor, return_exceptions=True)
    finally:
        await db.dispose()

    first, again = receiver.received
    assert first.webhook_id == again.webhook_id == partner.event_ids[0]
    # The library verifies both copies: the partner drops the second by its webhook-id.
    assert first.verified(partner.secret) == again.verified(partner.secret)
    assert await attempts_by_event(engine, partner) == Counter({partner.event_ids[0]: 1})


async def test_two_workers_never_send_one_attempt_twice_at_once(
    engine, worker_settings, receiver: Receiver, partners
):
    for name in ("erp", "crm"):
        partners.append(await commit_partner(engine, f"{receiver.url}/{name}", events=8))
    receiver.default = Answer(hang_seconds=0.03)  # slow enough for the workers to overlap
    receiver.answer(Answer(500, hang_seconds=0.03))  # the first request fails...
    policy = WebhookPolicy(retry_schedule_seconds=(0, 0, 0))  # ...and is retried at once
    workers = [Database(create_engine(worker_settings)) for _ in range(2)]

    async def waiting(partner: Partner) -> bool:
        table = repo.deliveries_table
        left = sa.select(sa.func.count()).where(
            table.c.endpoint_id == partner.endpoint_id, table.c.next_attempt_at.is_not(None)
        )
        return bool(await scalar(engine, left))

    async def deliver_all(db: Database, http: httpx.AsyncClient, partner: Partner) -> None:
        """What a worker does for an endpoint: deliver what is due, again and again (a run
        that finds the other worker delivering answers None at once)."""
        async with asyncio.timeout(PATIENCE_SECONDS):
            while await waiting(partner):
                await delivery.deliver_endpoint(
                    db, http, partner.endpoint_id, settings=worker_settings, policy=policy
                )
                await asyncio.sleep(0.01)

    try:
        async with jobs_engine.http_client(worker_settings) as http:
            await asyncio.gather(
                *(deliver_all(db, http, partner) for db in workers for partner in partners)
            )
    finally:
        for db in workers:
            await db.dispose()

    # Each event reached its partner once, but for the failed one: once more, its retry.
    sent = Counter(r.webhook_id for r in receiver.received)
    assert set(sent) == {e for p in partners for e in p.event_ids}
    assert sorted(sent.values()) == [1] * 15 + [2]
    for partner in partners:
        got = [r for r in receiver.received if r.path == partner.path]
        # Every request the partner got is one attempt in the log, and the reverse.
        assert Counter(r.webhook_id for r in got) == await attempts_by_event(engine, partner)
        assert list(dict.fromkeys(r.webhook_id for r in got)) == partner.event_ids  # in order
        assert receiver.most_at_once[partner.path] == 1  # never two requests at once
        assert all(r.verified(partner.secret)["type"] == "deal.created" for r in got)

"""Procrastinate on PostgreSQL: periods as cron, two workers never running one period
twice, one waiting delivery run per endpoint, stalled jobs retried."""

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import procrastinate
import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.jobs import engine as jobs_engine
from app.jobs import tasks
from app.jobs.tasks import JobContext


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (1, "* * * * * */1"),
        (30, "* * * * * */30"),
        (60, "*/1 * * * *"),
        (300, "*/5 * * * *"),
        (3600, "0 */1 * * *"),
        (6 * 3600, "0 */6 * * *"),
    ],
)
def test_a_period_is_cron_every_worker_agrees_on(seconds, cron):
    assert jobs_engine.cron_for(seconds, "X") == cron


@pytest.mark.parametrize("seconds", [7, 45, 90, 7200 + 60, 5 * 3600, 0.5])
def test_a_period_that_divides_no_minute_hour_or_day_is_refused_by_name(seconds):
    with pytest.raises(ValueError, match="SALESFLOW_X"):
        jobs_engine.cron_for(seconds, "SALESFLOW_X")


def test_the_worker_talks_libpq(settings):
    url = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://app:s3cret@db.internal:6432/crm"}
    )
    assert jobs_engine.conninfo(url) == "postgresql://app:s3cret@db.internal:6432/crm"


@pytest.fixture
async def job_settings(backend, settings):  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        pytest.skip("Procrastinate runs on PostgreSQL; SQLite runs the tasks in-process")
    return settings.model_copy(
        update={
            "jobs": "procrastinate",
            "sla_sweep_interval_seconds": 1,
            "triggers_interval_seconds": 0,
            "jobs_dispatch_interval_seconds": 0,
        }
    )


async def _purge(
    engine_,
) -> None:  # type: ignore[no-untyped-def]
    async with engine_.begin() as conn:
        await conn.execute(sa.text("DELETE FROM procrastinate_jobs"))
        await conn.execute(sa.text("DELETE FROM procrastinate_periodic_defers"))


async def test_two_workers_run_each_period_of_the_sweep_once(engine, job_settings, monkeypatch):  # type: ignore[no-untyped-def]
    await _purge(engine)
    periods: list[int] = []
    three = asyncio.Event()

    async def sweep(ctx):  # type: ignore[no-untyped-def]
        periods.append(int(utcnow().timestamp()))
        if len(set(periods)) >= 3:
            three.set()

    monkeypatch.setattr(tasks, "sla_sweep", sweep)
    apps = [jobs_engine.build(job_settings) for _ in range(2)]
    contexts = [JobContext(None, job_settings, None, None) for _ in apps]  # type: ignore[arg-type]
    runs = []
    try:
        for number, (app, ctx) in enumerate(zip(apps, contexts, strict=True)):
            await app.open_async()
            runs.append(
                asyncio.create_task(
                    app.run_worker_async(
                        name=f"test-{number}",
                        install_signal_handlers=False,
                        additional_context={jobs_engine.CONTEXT_KEY: ctx},
                        concurrency=2,
                        fetch_job_polling_interval=0.1,
                    )
                )
            )
        await asyncio.wait_for(three.wait(), timeout=15)
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        for app in apps:
            await app.close_async()
    async with engine.begin() as conn:
        jobs = (
            await conn.execute(
                sa.text(
                    "SELECT args->>'timestamp', status::text FROM procrastinate_jobs "
                    "WHERE task_name = 'sla_sweep'"
                )
            )
        ).all()
    await _purge(engine)
    done = [period for period, status in jobs if status == "succeeded"]
    # One job per period, whichever worker deferred it, and each job ran once.
    assert max(Counter(period for period, _ in jobs).values()) == 1, jobs
    assert len(done) >= 3
    assert len(periods) == len(done), (periods, jobs)


async def test_one_waiting_delivery_run_per_endpoint_now_and_one_later(engine, job_settings):
    await _purge(engine)
    app = jobs_engine.build(job_settings)
    endpoint, other = uuid.uuid4(), uuid.uuid4()
    async with app.open_async():
        defer = jobs_engine.delivery_deferrer(app)
        for _ in range(3):
            await defer(endpoint, None)
            await defer(endpoint, utcnow() + timedelta(minutes=5))
        await defer(other, None)
    async with engine.begin() as conn:
        locks = (
            await conn.execute(
                sa.text(
                    "SELECT queueing_lock, args->>'endpoint_id' FROM procrastinate_jobs "
                    "WHERE task_name = 'deliver_webhooks' ORDER BY queueing_lock"
                )
            )
        ).all()
    await _purge(engine)
    assert sorted(locks) == sorted(
        [
            (f"webhooks:{endpoint}:later", str(endpoint)),
            (f"webhooks:{endpoint}:now", str(endpoint)),
            (f"webhooks:{other}:now", str(other)),
        ]
    )


async def test_the_worker_gives_running_jobs_the_shutdown_timeout(job_settings, monkeypatch):
    asked: list[dict[str, object]] = []

    async def run_worker_async(self, **options):  # type: ignore[no-untyped-def]
        asked.append(options)

    monkeypatch.setattr(procrastinate.App, "run_worker_async", run_worker_async)
    stopping = job_settings.model_copy(update={"shutdown_timeout_seconds": 7.5})
    await jobs_engine.run_worker(stopping)
    assert asked[0]["shutdown_graceful_timeout"] == 7.5


def test_the_worker_refuses_sqlite():
    from app.core.config import Settings

    with pytest.raises(SystemExit, match="in_process"):
        asyncio.run(jobs_engine.run_worker(Settings(database_url="sqlite+aiosqlite:///x.db")))


async def test_metrics_show_the_job_queues(client, engine, job_settings):
    await _purge(engine)
    app = jobs_engine.build(job_settings)
    async with app.open_async():
        await jobs_engine.delivery_deferrer(app)(uuid.uuid4(), None)
    try:
        scraped = (await client.get("/metrics")).text
    finally:
        await _purge(engine)
    assert 'salesflow_jobs{queue="webhooks",status="todo"} 1.0' in scraped
    assert "salesflow_webhook_oldest_undelivered_seconds 0.0" in scraped

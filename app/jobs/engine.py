"""Procrastinate, the job engine on PostgreSQL: the tasks of `app.jobs.tasks`, their
periods, and `salesflow worker`.

Periodic tasks are deferred by whichever worker gets there first: Procrastinate records
each (task, period) once, so N workers never run one period twice, and a queueing lock
keeps at most one waiting run of each. Webhook delivery runs are jobs per endpoint, at
most one waiting now and one waiting for a later retry. A worker that dies mid-job stops
sending heartbeats; its jobs are retried by the next `retry_stalled_jobs` run (a webhook
delivery is then sent again with the same `webhook-id`).
"""

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime
from typing import Any

import httpx
import procrastinate
from procrastinate import exceptions as procrastinate_errors
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.jobs import tasks
from app.jobs.tasks import JobContext

log = logging.getLogger("salesflow.jobs")

SCHEDULE_QUEUE = "schedule"
WEBHOOK_QUEUE = "webhooks"
STALLED_AFTER_SECONDS = 30.0  # no heartbeat for this long: the worker is gone
CONTEXT_KEY = "salesflow"


def conninfo(settings: Settings) -> str:
    """The libpq connection string of `SALESFLOW_DATABASE_URL` (psycopg, not asyncpg)."""
    url = make_url(settings.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def cron_for(seconds: float, name: str) -> str:
    """A period as cron (Procrastinate's sixth field is seconds): it must divide a
    minute, an hour or a day, so every worker agrees on the instants."""
    whole = int(seconds)
    if whole != seconds or whole <= 0:
        raise ValueError(f"{name} must be a whole number of seconds for the job engine")
    if whole < 60 and 60 % whole == 0:
        return f"* * * * * */{whole}"
    if whole % 60 == 0 and whole < 3600 and 60 % (whole // 60) == 0:
        return f"*/{whole // 60} * * * *"
    if whole % 3600 == 0 and 24 % (whole // 3600) == 0:
        return f"0 */{whole // 3600} * * *"
    raise ValueError(
        f"{name}={seconds}: choose a period that divides a minute, an hour or a day "
        "(30, 60, 300, 3600, ...)"
    )


def build(settings: Settings) -> procrastinate.App:
    """The Procrastinate app with every task, its periods taken from the settings (a
    period of 0 leaves that task to be deferred by hand)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings)))

    def context(job_context: procrastinate.JobContext) -> JobContext:
        extra = job_context.additional_context or {}
        return extra[CONTEXT_KEY]  # type: ignore[no-any-return]

    def periodic(seconds: float, name: str) -> Any:
        if seconds <= 0:
            return lambda task: task
        return app.periodic(cron=cron_for(seconds, name), periodic_id=name)

    @periodic(settings.sla_sweep_interval_seconds, "SALESFLOW_SLA_SWEEP_INTERVAL_SECONDS")
    @app.task(name="sla_sweep", queue=SCHEDULE_QUEUE, queueing_lock="sla_sweep", pass_context=True)
    async def sla_sweep(job: procrastinate.JobContext, timestamp: int) -> None:
        await tasks.sla_sweep(context(job))

    @periodic(settings.triggers_interval_seconds, "SALESFLOW_TRIGGERS_INTERVAL_SECONDS")
    @app.task(
        name="scheduled_round",
        queue=SCHEDULE_QUEUE,
        queueing_lock="scheduled_round",
        pass_context=True,
    )
    async def scheduled_round(job: procrastinate.JobContext, timestamp: int) -> None:
        await tasks.scheduled_round(context(job))

    @periodic(settings.jobs_dispatch_interval_seconds, "SALESFLOW_JOBS_DISPATCH_INTERVAL_SECONDS")
    @app.task(
        name="dispatch_webhooks",
        queue=WEBHOOK_QUEUE,
        queueing_lock="dispatch_webhooks",
        pass_context=True,
    )
    async def dispatch_webhooks(job: procrastinate.JobContext, timestamp: int) -> None:
        await tasks.dispatch_webhooks(context(job))

    @app.task(name="deliver_webhooks", queue=WEBHOOK_QUEUE, pass_context=True)
    async def deliver_webhooks(job: procrastinate.JobContext, endpoint_id: str) -> None:
        await tasks.deliver_webhooks(context(job), uuid.UUID(endpoint_id))

    @app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
    @app.task(name="retry_stalled_jobs", queue=SCHEDULE_QUEUE, queueing_lock="retry_stalled_jobs")
    async def retry_stalled_jobs(timestamp: int) -> None:
        stalled = await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=STALLED_AFTER_SECONDS
        )
        for stalled_job in stalled:
            log.warning(
                "retrying job %s (%s): its worker stopped", stalled_job.id, stalled_job.task_name
            )
            await app.job_manager.retry_job(stalled_job)

    return app


def delivery_deferrer(app: procrastinate.App) -> tasks.DeferDelivery:
    """Ask for a delivery run of an endpoint: at most one waiting to run now and one
    waiting for a later time, per endpoint."""
    task = app.tasks["deliver_webhooks"]

    async def defer(endpoint_id: uuid.UUID, at: datetime | None) -> None:
        lock = f"webhooks:{endpoint_id}:{'now' if at is None else 'later'}"
        options: dict[str, Any] = {"queueing_lock": lock}
        if at is not None:
            options["schedule_at"] = at
        # AlreadyEnqueued: a run is already waiting, and it sends everything due.
        with contextlib.suppress(procrastinate_errors.AlreadyEnqueued):
            await task.configure(**options).defer_async(endpoint_id=str(endpoint_id))

    return defer


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The deliveries' client: no proxy from the environment (it would defeat the
    address check), no redirects (a partner's redirect could point anywhere)."""
    return httpx.AsyncClient(trust_env=False, follow_redirects=False)


async def run_worker(settings: Settings, *, name: str | None = None) -> None:
    """`salesflow worker`: run jobs until SIGINT/SIGTERM (Procrastinate's handlers)."""
    if settings.job_runner != "procrastinate":
        raise SystemExit(
            "salesflow worker runs jobs on PostgreSQL; on SQLite `salesflow serve` runs "
            "them itself (SALESFLOW_JOBS=in_process)"
        )
    if settings.worker_metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    app = build(settings)
    db = Database(create_engine(settings))
    try:
        async with app.open_async(), http_client(settings) as http:
            job_context = JobContext(db, settings, http, delivery_deferrer(app))
            await app.run_worker_async(
                concurrency=settings.worker_concurrency,
                name=name or "salesflow-worker",
                delete_jobs="successful",
                additional_context={CONTEXT_KEY: job_context},
                stalled_worker_timeout=STALLED_AFTER_SECONDS,
                # On SIGTERM, running jobs get this long to finish before they are aborted.
                shutdown_graceful_timeout=settings.shutdown_timeout_seconds,
            )
    finally:
        await db.dispose()


def main(settings: Settings, name: str | None = None) -> None:
    asyncio.run(run_worker(settings, name=name))

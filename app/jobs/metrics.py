"""Background work as `/metrics` shows it, read from the database at scrape time (the
API process does not run the jobs on PostgreSQL, so it has no counters of its own):
jobs by queue and status, webhook deliveries still owed by endpoint and status, and the
age of the oldest event not yet delivered. Attempt counters by endpoint and outcome are
counted where the attempts are made: the worker's own `/metrics`
(`SALESFLOW_WORKER_METRICS_PORT`), or this one on SQLite."""

import sqlalchemy as sa
from prometheus_client import Gauge

from app.core.db import Database
from app.models import WebhookDelivery

JOBS = Gauge("salesflow_jobs", "Background jobs by queue and status", ["queue", "status"])
DELIVERIES = Gauge(
    "salesflow_webhook_deliveries_owed",
    "Webhook deliveries not yet delivered, by endpoint and status (pending, failed, dead)",
    ["endpoint", "status"],
)
OLDEST = Gauge(
    "salesflow_webhook_oldest_undelivered_seconds",
    "Age of the oldest event a subscribed endpoint has not received (0: none owed)",
)
deliveries = WebhookDelivery.__table__  # type: ignore[attr-defined]

_JOB_COUNTS = sa.text(
    "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing', 'failed') GROUP BY 1, 2"
)


async def refresh(db: Database, *, with_jobs: bool) -> None:
    from app.webhooks.delivery import oldest_undelivered_age_seconds

    owed = (
        sa.select(deliveries.c.endpoint_id, deliveries.c.status, sa.func.count())
        .where(deliveries.c.status != "delivered")
        .group_by(deliveries.c.endpoint_id, deliveries.c.status)
    )
    async with db.reading() as conn:
        DELIVERIES.clear()
        for endpoint_id, status, count in (await conn.execute(owed)).all():
            DELIVERIES.labels(str(endpoint_id), str(status)).set(count)
        if with_jobs:
            JOBS.clear()
            for queue, status, count in (await conn.execute(_JOB_COUNTS)).all():
                JOBS.labels(queue, status).set(count)
    OLDEST.set(await oldest_undelivered_age_seconds(db) or 0)

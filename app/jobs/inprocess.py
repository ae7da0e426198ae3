"""The same tasks in the API process, for the SQLite default (`SALESFLOW_JOBS=in_process`):
one loop runs each at its period; webhook delivery runs happen right after the fan-out
that asked for them, and retries when a later fan-out finds them due. Nothing else to run
on a bare machine, at the cost of jobs stopping with the process (ADR 0004)."""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.core.clock import utcnow
from app.jobs import tasks
from app.jobs.tasks import JobContext

log = logging.getLogger("salesflow.jobs")


async def _deliver_queued(ctx: JobContext, queued: set[uuid.UUID]) -> None:
    while queued:
        await tasks.deliver_webhooks(ctx, queued.pop())


def queue_due(queued: set[uuid.UUID]) -> tasks.DeferDelivery:
    """Delivery runs asked for now (or for a time already past) join the queue the next
    fan-out works through; later ones are found due by a later fan-out."""

    async def defer(endpoint_id: uuid.UUID, at: datetime | None) -> None:
        if at is None or at <= utcnow():
            queued.add(endpoint_id)

    return defer


def webhooks(queued: set[uuid.UUID]) -> Callable[[JobContext], Awaitable[Any]]:
    async def run(ctx: JobContext) -> None:
        await tasks.dispatch_webhooks(ctx)
        await _deliver_queued(ctx, queued)

    return run


async def run_forever(app_state: Any) -> None:
    """Until cancelled: each task at its period (a period of 0 disables it); a failing
    run is logged and the task tried again at its next period."""
    from app.jobs.engine import http_client

    settings = app_state.settings
    queued: set[uuid.UUID] = set()

    periods: list[tuple[float, str, Callable[[JobContext], Awaitable[Any]]]] = [
        (settings.sla_sweep_interval_seconds, "sla_sweep", tasks.sla_sweep),
        (settings.triggers_interval_seconds, "scheduled_round", tasks.scheduled_round),
        (settings.jobs_dispatch_interval_seconds, "webhooks", webhooks(queued)),
    ]
    jobs = [(period, name, run) for period, name, run in periods if period > 0]
    if not jobs:
        return
    async with http_client(settings) as http:
        ctx = JobContext(app_state.db, settings, http, queue_due(queued))
        due = {name: time.monotonic() for _, name, _ in jobs}
        while True:
            for period, name, run in jobs:
                if due[name] > time.monotonic():
                    continue
                try:
                    await run(ctx)
                except Exception:
                    log.exception("%s failed; trying again in %s s", name, period)
                due[name] = time.monotonic() + period
            await asyncio.sleep(max(0.0, min(due.values()) - time.monotonic()))


async def stop(jobs: asyncio.Task[None]) -> None:
    """Cancel the loop and wait until it has ended, however long; the caller bounds it."""
    jobs.cancel()
    # Not `await jobs`: a deadline around that would pass its cancellation on to the loop
    # and go on waiting for it; a deadline around asyncio.wait ends the wait.
    await asyncio.wait({jobs})
    if not jobs.cancelled() and jobs.exception() is not None:
        log.error("the background jobs had stopped on an error", exc_info=jobs.exception())

"""The background work, as plain functions of a `JobContext`: Procrastinate runs them on
PostgreSQL (`app.jobs.engine`), the in-process runner on the SQLite default
(`app.jobs.inprocess`). Each is safe to run twice at once: the SLA sweep claims tickets
with `SKIP LOCKED`, the round takes an advisory lock, webhook fan-out locks its cursor and
a delivery run its endpoint."""

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from app.core.clock import utcnow
from app.core.config import Settings
from app.core.db import Database
from app.ops.schedule import RoundResult, run_round
from app.tickets import clock
from app.tickets.sweeper import SweepResult, sweep

log = logging.getLogger("salesflow.jobs")

# Ask for a delivery run of an endpoint, now (None) or at a time.
DeferDelivery = Callable[[uuid.UUID, datetime | None], Awaitable[None]]


@dataclass
class JobContext:
    db: Database
    settings: Settings
    http: httpx.AsyncClient
    defer_delivery: DeferDelivery


async def sla_sweep(ctx: JobContext) -> SweepResult:
    result = await sweep(ctx.db, clock.now())
    if result.breaches or result.warnings:
        log.info(
            "SLA sweep: %d tickets, %d breaches, %d warnings",
            result.examined,
            result.breaches,
            result.warnings,
        )
    return result


async def scheduled_round(ctx: JobContext) -> RoundResult | None:
    result = await run_round(ctx.db, ctx.settings, utcnow())
    if result is not None:
        log.info(
            "scheduled round: %d re-tiered, %d renewal and %d reactivation tasks, "
            "%d quotes expired, %d contracts deemed accepted, %d events and %d webhook "
            "deliveries pruned",
            result.tiered,
            result.tasks.renewals,
            result.tasks.reactivations,
            result.expired_quotes,
            result.acceptances.deemed,
            result.pruned_events,
            result.pruned_deliveries,
        )
    return result


async def dispatch_webhooks(ctx: JobContext) -> int:
    """Turn new events into deliveries, and ask for a delivery run of every endpoint with
    something due (new work, retries come due, runs lost with a killed worker)."""
    from app.webhooks.delivery import endpoints_due, fan_out

    endpoints = await fan_out(ctx.db)
    endpoints.update(await endpoints_due(ctx.db, utcnow()))
    for endpoint_id in sorted(endpoints):
        await ctx.defer_delivery(endpoint_id, None)
    return len(endpoints)


async def deliver_webhooks(ctx: JobContext, endpoint_id: uuid.UUID) -> None:
    """Send one endpoint's due deliveries in order; come back when its next retry is due."""
    from app.webhooks.delivery import deliver_endpoint

    next_due = await deliver_endpoint(ctx.db, ctx.http, endpoint_id, settings=ctx.settings)
    if next_due is not None:
        await ctx.defer_delivery(endpoint_id, next_due)

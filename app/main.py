"""create_app(): routers, middleware, error handlers — nothing else."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.activities.router import router as activities_router
from app.agenda.router import router as agenda_router
from app.auth.router import router as auth_router
from app.auth.signing import serving_settings
from app.campaigns.router import router as campaigns_router
from app.contracts.router import router as contracts_router
from app.core.config import Settings, get_settings
from app.core.cors import OriginCORSMiddleware
from app.core.db import Database, create_engine
from app.core.observability import RequestContextMiddleware
from app.core.problems import install_error_handlers
from app.customers.router import router as customers_router
from app.deals.router import router as deals_router
from app.events.router import router as events_router
from app.jobs.inprocess import run_forever as run_jobs_in_process
from app.jobs.inprocess import stop as stop_jobs_in_process
from app.leads.router import router as leads_router
from app.ops.router import router as ops_router
from app.policy.router import router as policy_router
from app.quotes.router import router as quotes_router
from app.reports.router import router as reports_router
from app.tasks.router import router as tasks_router
from app.tickets.router import router as tickets_router
from app.users.router import router as users_router
from app.webhooks.router import router as webhooks_router

API_DESCRIPTION = """\
Salesflow runs a company's B2B sales procedure end to end — leads, customers, deals,
quotes, contracts and after-sales tickets — and enforces its rules: stage gates, discount
authority, SLA clocks.

Conventions shared by every resource: cursor pagination (`limit`, `cursor`), RFC 9457
problem documents for every error, `ETag`/`If-Match` optimistic concurrency, and
`Idempotency-Key` on POST so retries are safe.
"""

# Requests are matched against routes one by one, in this order (a few µs per route
# passed over): the most requested resources come first.
ROUTERS = (
    customers_router,
    leads_router,
    deals_router,
    tickets_router,
    activities_router,
    quotes_router,
    contracts_router,
    tasks_router,
    events_router,
    agenda_router,
    auth_router,
    users_router,
    ops_router,
    policy_router,
    campaigns_router,
    reports_router,
    webhooks_router,
)

log = logging.getLogger("salesflow")


def operation_id(route: APIRoute) -> str:
    return route.name


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.settings = await serving_settings(app.state.db, app.state.settings)
    # On PostgreSQL the background work is `salesflow worker`'s; on SQLite it is ours.
    jobs = None
    if app.state.settings.job_runner == "in_process":
        jobs = asyncio.create_task(run_jobs_in_process(app.state), name="jobs")
    try:
        yield
    finally:
        await shut_down(jobs, app.state.db, app.state.settings.shutdown_timeout_seconds)


async def shut_down(jobs: asyncio.Task[None] | None, db: Database, seconds: float) -> None:
    """Stop the in-process jobs, then close the pool, within `seconds` in all. A job that
    ignores its cancellation is left behind rather than allowed to hold the process."""
    try:
        async with asyncio.timeout(seconds):
            if jobs is not None:
                await stop_jobs_in_process(jobs)
            await db.dispose()
    except TimeoutError:
        log.error(
            "shutdown did not finish within %s s (SALESFLOW_SHUTDOWN_TIMEOUT_SECONDS): "
            "stopping without waiting for the background jobs or the database pool",
            seconds,
        )


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    docs = settings.docs_exposed
    app = FastAPI(
        title="Salesflow",
        version="1.0.0",
        description=API_DESCRIPTION,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.db = database or Database(create_engine(settings))
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        hsts_seconds=settings.hsts_seconds,
    )
    if settings.cors_allowed_origins:
        # Outermost, so every answer carries its CORS headers (a 413 from the size limit
        # too) and a preflight is answered before anything asks for credentials.
        app.add_middleware(OriginCORSMiddleware, origins=settings.cors_allowed_origins)
    return app

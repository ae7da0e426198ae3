"""Health and metrics for operators and orchestrators; health needs no credentials,
metrics are exposed as `SALESFLOW_METRICS` says."""

import hmac
import logging

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from app.core.errors import ErrorItem, NotFound, ServiceUnavailable, Unauthorized
from app.core.json import JsonResponse
from app.core.routing import problems
from app.jobs import metrics as job_metrics
from app.ops.migrations import migration_state

router = APIRouter(tags=["ops"])
log = logging.getLogger("salesflow.ops")


@router.get("/health/live", summary="Liveness")
async def health_live() -> JsonResponse:
    """The process is up and serving. Never touches the database."""
    return JsonResponse({"status": "ok"})


@router.get("/health/ready", summary="Readiness", responses=problems(503))
async def health_ready(request: Request) -> JsonResponse:
    """Ready when the database answers and its schema is at the migrations' head.

    Answers within its own budget (`SALESFLOW_READY_TIMEOUT_SECONDS`, 3 s by default): a
    database that does not answer in time is reported unreachable, whatever the
    statement timeout of ordinary requests.
    """
    budget = request.app.state.settings.ready_timeout_seconds
    state = await migration_state(request.app.state.db, budget)
    if not state.reachable:
        raise ServiceUnavailable(
            "The database is unreachable.",
            errors=[ErrorItem("database_unreachable", state.error or "no connection", None)],
            headers={"Retry-After": "5"},
        )
    if not state.at_head:
        raise ServiceUnavailable(
            f"The database schema is at {state.current or 'nothing'}, not {state.head}; "
            "run `salesflow migrate`.",
            errors=[ErrorItem("migrations_pending", f"head is {state.head}", None)],
        )
    return JsonResponse({"status": "ok", "database": "ok", "schema_revision": state.current})


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response, responses=problems(401, 404)
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies in the Prometheus text format.

    Public outside production; in production only with `SALESFLOW_METRICS_TOKEN` set, and
    then for a scraper that sends it as a bearer token (404 when metrics are off)."""
    settings = request.app.state.settings
    exposure = settings.metrics_exposure
    if exposure == "off":
        raise NotFound("Metrics are not exposed here (SALESFLOW_METRICS).")
    if exposure == "token":
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Unauthorized("Send the metrics token as `Authorization: Bearer <token>`.")
    try:
        await job_metrics.refresh(
            request.app.state.db, with_jobs=settings.job_runner == "procrastinate"
        )
    except Exception:  # the request metrics are still worth a scrape
        log.exception("background-work metrics unavailable")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

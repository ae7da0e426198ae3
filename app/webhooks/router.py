"""Webhook endpoints: where partner systems are told of changes, signed per Standard
Webhooks, with a delivery log, retries and replay (docs/webhooks.md)."""

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import httpx
from fastapi import Depends

from app.core.deps import AppSettings, Conn, CurrentPrincipal, IdempotentPost
from app.core.http import IfMatch, created_response, record_response
from app.core.json import JsonResponse
from app.core.pagination import sort_enum
from app.core.routing import (
    DEFAULT_PAGE_SIZE,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Cursor,
    Limit,
    api_router,
)
from app.core.schemas import Page
from app.models.webhooks import WebhookDeliveryStatus
from app.webhooks import service
from app.webhooks.repository import ENDPOINT_SORTS
from app.webhooks.schemas import (
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookReplayRequest,
    WebhookReplayResult,
    WebhookTestResult,
)

router = api_router("/api/v1/webhook-endpoints", "webhooks")

EndpointSort = sort_enum("WebhookEndpointSort", ENDPOINT_SORTS)


async def webhook_client() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client a test send uses; never a proxy from the environment, which would
    defeat the address check."""
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


WebhookClient = Annotated[httpx.AsyncClient, Depends(webhook_client)]


def _location(row: Mapping[str, Any]) -> str:
    return f"/api/v1/webhook-endpoints/{row['id']}"


@router.post(
    "", status_code=201, response_model=WebhookEndpointWithSecret, responses=WRITE_PROBLEMS
)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate,
    conn: Conn,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idem: IdempotentPost,
) -> JsonResponse:
    """Register an endpoint to receive the event types listed (exact types such as
    `quote.approved`, `deal.*` for every type of a record, or `*`). Admins, or API keys
    with `webhooks:write`.

    The URL must be https and resolve to public addresses only (loopback, private,
    link-local and reserved ranges are refused). The signing `secret` (`whsec_...`) is in
    this response only — store it now and verify every delivery with it."""
    replay = await idem.claim()
    if replay is not None:
        return replay  # type: ignore[return-value]
    row, secret = await service.create_endpoint(conn, principal, body, settings)
    # A replay must never show the secret, so what is kept for it has `secret: null`.
    await idem.remember(created_response({**row, "secret": None}, _location(row)))
    return created_response({**row, "secret": secret}, _location(row))


@router.get("", response_model=Page[WebhookEndpointRead], responses=READ_PROBLEMS)
async def list_webhook_endpoints(
    conn: Conn,
    principal: CurrentPrincipal,
    sort: EndpointSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the registered endpoints (never their secrets). Admins, or `webhooks:read`."""
    result = await service.list_endpoints(
        conn, principal, sort=ENDPOINT_SORTS[sort], cursor=cursor, limit=limit
    )
    return JsonResponse(result.as_dict())


@router.get("/{endpoint_id}", response_model=WebhookEndpointRead, responses=READ_PROBLEMS)
async def get_webhook_endpoint(
    endpoint_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Read one endpoint: its URL, event types, status and when it started failing."""
    return record_response(await service.get_endpoint(conn, principal, endpoint_id))


@router.patch("/{endpoint_id}", response_model=WebhookEndpointRead, responses=WRITE_PROBLEMS)
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID,
    body: WebhookEndpointUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    settings: AppSettings,
) -> JsonResponse:
    """Change the URL, event types, description, or switch the endpoint off and on.

    `enabled: false` holds deliveries back (they wait, nothing is lost); `enabled: true`
    resumes them and clears a `disabled` or `failing` status. Send `If-Match` with the
    ETag you read."""
    row = await service.update_endpoint(conn, principal, endpoint_id, body, version, settings)
    return record_response(row)


@router.delete("/{endpoint_id}", response_model=WebhookEndpointRead, responses=WRITE_PROBLEMS)
async def delete_webhook_endpoint(
    endpoint_id: uuid.UUID, version: IfMatch, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """Delete an endpoint: nothing more is sent to it and it answers 404 from now on."""
    return record_response(await service.archive_endpoint(conn, principal, endpoint_id, version))


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    responses=WRITE_PROBLEMS,
)
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Issue a new signing secret, shown in this response only. For 24 hours
    (`previous_secret_expires_at`) every delivery carries two signatures, one per secret,
    so you can deploy the new secret without missing a delivery; then only the new one
    signs. Rotating again within the grace period ends the older secret at once."""
    replay = await idem.claim()
    if replay is not None:
        return replay  # type: ignore[return-value]
    row, secret = await service.rotate_secret(conn, principal, endpoint_id, version)
    await idem.remember(record_response({**row, "secret": None}))
    return record_response({**row, "secret": secret})


@router.post("/{endpoint_id}/test", response_model=WebhookTestResult, responses=WRITE_PROBLEMS)
async def send_test_event(
    endpoint_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    settings: AppSettings,
    client: WebhookClient,
) -> JsonResponse:
    """Send a signed `webhook.test` event now and answer how the endpoint responded
    (status code, time taken, error, the body's first 1,024 bytes). Not retried and not
    in the delivery log."""
    result = await service.send_test(conn, principal, endpoint_id, client, settings)
    return JsonResponse(result)


@router.get(
    "/{endpoint_id}/deliveries", response_model=Page[WebhookDeliveryRead], responses=READ_PROBLEMS
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    status: WebhookDeliveryStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """The delivery log, newest first: each event sent to the endpoint, its status, and
    every attempt (time, status code, duration, error, the body's first 1,024 bytes)."""
    result = await service.list_deliveries(
        conn, principal, endpoint_id, status=status, cursor=cursor, limit=limit
    )
    return JsonResponse(result.as_dict())


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=WebhookDeliveryRead,
    responses=WRITE_PROBLEMS,
)
async def retry_webhook_delivery(
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Send a delivery's event again, with the same `webhook-id`: a delivery still
    waiting for its retry is sent at once; a delivered or dead one gets a new delivery
    (answered here) with a fresh retry schedule. Deliveries keep the endpoint's event
    order, so it goes out when the events before it have."""

    async def make() -> JsonResponse:
        row = await service.retry_delivery(conn, principal, endpoint_id, delivery_id)
        return JsonResponse(row, status_code=202)

    return await idem.respond(make)  # type: ignore[return-value]


@router.post(
    "/{endpoint_id}/replay",
    status_code=202,
    response_model=WebhookReplayResult,
    responses=WRITE_PROBLEMS,
)
async def replay_webhook_events(
    endpoint_id: uuid.UUID,
    body: WebhookReplayRequest,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Deliver past events again: those that occurred in `[since, until)`, or every event
    after `after_event_id`, of the types the endpoint subscribes to. Each becomes a new
    delivery (same `webhook-id` as the original), sent in event order; the answer says how
    many. At most 10,000 events per replay; events are kept 30 days by default."""

    async def make() -> JsonResponse:
        result = await service.replay(conn, principal, endpoint_id, body)
        return JsonResponse(result, status_code=202)

    return await idem.respond(make)  # type: ignore[return-value]

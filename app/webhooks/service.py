"""Webhook endpoint use cases: admins (and API keys with `webhooks:write`) register
partner endpoints, rotate their secrets, read the delivery log, retry and replay.

Endpoints are administration records: every change is audited (`webhook_endpoint`), none
is a partner event. Secrets are never in a read, a list or the audit trail: only the
answer that creates one shows it.
"""

import base64
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import WEBHOOK_READ_SCOPES, Principal
from app.core.clock import utcnow
from app.core.config import Settings
from app.core.crud import Page, Row
from app.core.enums import Role
from app.core.errors import ErrorItem, Forbidden, InvalidInput, not_found
from app.core.ids import new_id
from app.core.json import dumps
from app.core.pagination import SortKey
from app.core.records import Records
from app.events.catalogue import EventType
from app.models.webhooks import WebhookDeliveryStatus, WebhookEndpointStatus
from app.webhooks import repository as repo
from app.webhooks.policy import (
    DEFAULT_WEBHOOK_POLICY,
    WebhookPolicy,
    delivery_log_cutoff,
    subscribes_to,
)
from app.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate, WebhookReplayRequest
from app.webhooks.sending import AttemptResult, send, signing_secrets
from app.webhooks.ssrf import UnsafeUrl, check_url_shape, resolve

ENDPOINTS = Records(repo.endpoints, "webhook_endpoint")
READ_SCOPES = WEBHOOK_READ_SCOPES
WRITE_SCOPES = frozenset({"webhooks:write"})
SECRET_BYTES = 32
MAX_REPLAY_EVENTS = 10_000
TEST_EVENT_TYPE = "webhook.test"


def _require(principal: Principal, scopes: frozenset[str], action: str) -> None:
    if principal.kind == "api_key":
        if principal.scopes & scopes:
            return
        needed = sorted(scopes)[-1]
        raise Forbidden(
            f"Your API key may not {action}: it needs the {needed} scope.",
            errors=[ErrorItem("insufficient_permission", f"needs {needed}", None)],
        )
    principal.require_role(Role.admin, action=action)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def _require_deliverable_url(url: str, settings: Settings) -> None:
    """Refused at registration as at every send: not http(s), not public, unresolvable."""
    try:
        check_url_shape(url, settings)
        await resolve(url, settings)
    except UnsafeUrl as refusal:
        raise InvalidInput(
            f"url cannot receive webhooks: {refusal.message}.",
            errors=[ErrorItem(refusal.code, refusal.message, "url")],
        ) from None


async def create_endpoint(
    conn: AsyncConnection, principal: Principal, data: WebhookEndpointCreate, settings: Settings
) -> tuple[Row, str]:
    """The new endpoint and its secret, which no later answer shows again."""
    _require(principal, WRITE_SCOPES, "register webhook endpoints")
    await _require_deliverable_url(data.url, settings)
    secret = new_secret()
    values = {
        **data.model_dump(),
        "event_types": list(dict.fromkeys(data.event_types)),
        "status": WebhookEndpointStatus.healthy if data.enabled else WebhookEndpointStatus.disabled,
        "disabled_reason": None if data.enabled else "by_admin",
        "secret": secret,
        "created_by": principal.user_id,
    }
    return await ENDPOINTS.create(conn, principal, values, None), secret


async def list_endpoints(
    conn: AsyncConnection, principal: Principal, *, sort: SortKey, cursor: str | None, limit: int
) -> Page:
    _require(principal, READ_SCOPES, "read webhook endpoints")
    return await repo.endpoints.list(conn, principal, sort=sort, cursor=cursor, limit=limit)


async def get_endpoint(conn: AsyncConnection, principal: Principal, endpoint_id: uuid.UUID) -> Row:
    _require(principal, READ_SCOPES, "read webhook endpoints")
    return await repo.endpoints.get(conn, principal, endpoint_id)


def _switch(enabled: bool) -> dict[str, Any]:
    """Turning an endpoint on clears whatever disabled it; off is the admin's own reason."""
    if enabled:
        return {"enabled": True, "status": WebhookEndpointStatus.healthy, "disabled_reason": None}
    return {
        "enabled": False,
        "status": WebhookEndpointStatus.disabled,
        "disabled_reason": "by_admin",
    }


async def update_endpoint(
    conn: AsyncConnection,
    principal: Principal,
    endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    expected_version: int | None,
    settings: Settings,
) -> Row:
    _require(principal, WRITE_SCOPES, "change webhook endpoints")
    current = await ENDPOINTS.locked(conn, principal, endpoint_id, expected_version)
    changes = data.changes()
    if "url" in changes and changes["url"] != current["url"]:
        await _require_deliverable_url(changes["url"], settings)
    if "event_types" in changes:
        changes["event_types"] = list(dict.fromkeys(changes["event_types"]))
    enabled = changes.pop("enabled", None)
    if enabled is True and (
        not current["enabled"] or current["status"] != WebhookEndpointStatus.healthy
    ):
        changes |= {**_switch(True), "failing_since": None}
    elif enabled is False and current["enabled"]:
        changes |= _switch(False)
    return await ENDPOINTS.save(conn, principal, current, changes, None)


async def archive_endpoint(
    conn: AsyncConnection,
    principal: Principal,
    endpoint_id: uuid.UUID,
    expected_version: int | None,
) -> Row:
    """Deleted for the API (404 from now on, nothing more is sent); the row and its log stay
    for the audit trail."""
    _require(principal, WRITE_SCOPES, "delete webhook endpoints")
    current = await ENDPOINTS.locked(conn, principal, endpoint_id, expected_version)
    values = {"archived_at": utcnow(), **_switch(False)}
    return await ENDPOINTS.save(conn, principal, current, values, None, action="archive")


async def rotate_secret(
    conn: AsyncConnection,
    principal: Principal,
    endpoint_id: uuid.UUID,
    expected_version: int | None,
    policy: WebhookPolicy = DEFAULT_WEBHOOK_POLICY,
) -> tuple[Row, str]:
    """A new secret signs from now on; the one it replaces also signs for the grace period
    (both signatures are sent), so the partner can switch without losing a delivery."""
    _require(principal, WRITE_SCOPES, "rotate webhook secrets")
    current = await ENDPOINTS.locked(conn, principal, endpoint_id, expected_version)
    stored = await repo.signing_secrets(conn, endpoint_id)
    assert stored is not None
    secret = new_secret()
    grace = timedelta(hours=policy.previous_secret_grace_hours)
    changes = {
        "secret": secret,
        "previous_secret": stored["secret"],
        "previous_secret_expires_at": utcnow() + grace,
    }
    row = await ENDPOINTS.save(conn, principal, current, changes, None, action="rotate_secret")
    return row, secret


async def send_test(
    conn: AsyncConnection,
    principal: Principal,
    endpoint_id: uuid.UUID,
    client: httpx.AsyncClient,
    settings: Settings,
) -> dict[str, Any]:
    """A `webhook.test` ping, signed like any delivery, sent now; not logged as one."""
    _require(principal, WRITE_SCOPES, "test webhook endpoints")
    await repo.endpoints.get(conn, principal, endpoint_id)
    endpoint = await repo.signing_secrets(conn, endpoint_id)
    assert endpoint is not None
    msg_id, now = str(new_id()), utcnow()
    body = dumps(
        {
            "id": msg_id,
            "type": TEST_EVENT_TYPE,
            "timestamp": now,
            "data": {"endpoint_id": endpoint_id, "message": "Test event from Salesflow."},
        }
    )
    result: AttemptResult = await send(
        client,
        settings,
        DEFAULT_WEBHOOK_POLICY,
        url=endpoint["url"],
        msg_id=msg_id,
        body=body,
        secrets=signing_secrets(endpoint, now),
    )
    return {
        "delivered": result.delivered,
        "webhook_id": msg_id,
        "status_code": result.status_code,
        "duration_ms": result.duration_ms,
        "error": result.error,
        "response_body": result.response_body,
    }


async def list_deliveries(
    conn: AsyncConnection,
    principal: Principal,
    endpoint_id: uuid.UUID,
    *,
    status: WebhookDeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> Page:
    _require(principal, READ_SCOPES, "read webhook deliveries")
    await repo.endpoints.get(conn, principal, endpoint_id)
    return await repo.delivery_page(conn, endpoint_id, status=status, cursor=cursor, limit=limit)


async def retry_delivery(
    conn: AsyncConnection, principal: Principal, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> dict[str, Any]:
    """Send the delivery's event again as soon as the endpoint's line allows: a waiting
    delivery of the event is made due now; otherwise (delivered or dead) a new delivery
    of it, with the same webhook-id, starts the retry schedule afresh."""
    _require(principal, WRITE_SCOPES, "retry webhook deliveries")
    await repo.endpoints.get(conn, principal, endpoint_id, lock=True)
    delivery = await repo.get_delivery(conn, endpoint_id, delivery_id)
    if delivery is None:
        raise not_found("webhook delivery", delivery_id)
    now = utcnow()
    waiting = await repo.waiting_delivery_of(conn, endpoint_id, delivery["event_id"])
    if waiting is not None:
        await repo.update_delivery(conn, waiting["id"], {"next_attempt_at": now})
        target = waiting["id"]
    else:
        position = await repo.event_positions(conn, [delivery["event_id"]])
        if not position:
            raise InvalidInput(
                "The delivery's event is no longer kept, so it cannot be sent again.",
                errors=[ErrorItem("event_pruned", "event past its retention", "delivery_id")],
            )
        event = {
            "id": delivery["event_id"],
            "type": delivery["event_type"],
            "occurred_at": await _occurred_at(conn, delivery["event_id"]),
        }
        values = repo.delivery_values(
            endpoint_id, event, position[delivery["event_id"]], now=now, trigger="retry"
        )
        await repo.insert_deliveries(conn, [values])
        target = values["id"]
    row = await repo.get_delivery(conn, endpoint_id, target)
    assert row is not None
    await repo.attach_attempts(conn, [row])
    return row


async def _occurred_at(conn: AsyncConnection, event_id: uuid.UUID) -> datetime:
    event = await repo.event_for_webhook(conn, event_id)
    assert event is not None
    return event["occurred_at"]  # type: ignore[no-any-return]


def _replay_range_errors(data: WebhookReplayRequest) -> list[ErrorItem]:
    by_time = data.since is not None or data.until is not None
    if by_time and data.after_event_id is not None:
        return [
            ErrorItem("replay_range_ambiguous", "give since/until or after_event_id", field)
            for field in ("since", "after_event_id")
        ]
    if not by_time and data.after_event_id is None:
        return [
            ErrorItem("replay_range_missing", "give since (and until) or after_event_id", "since")
        ]
    if data.since is None and data.after_event_id is None:
        return [ErrorItem("replay_since_missing", "a time range needs since", "since")]
    if data.since is not None and data.until is not None and data.until <= data.since:
        return [ErrorItem("replay_range_reversed", "until must be after since", "until")]
    return []


async def replay(
    conn: AsyncConnection, principal: Principal, endpoint_id: uuid.UUID, data: WebhookReplayRequest
) -> dict[str, Any]:
    """New deliveries, in feed order, of exactly the endpoint's subscribed events in the
    range, among those already fanned out (later ones are on their way anyway)."""
    _require(principal, WRITE_SCOPES, "replay webhook deliveries")
    errors = _replay_range_errors(data)
    if errors:
        raise InvalidInput(
            "The replay range is not valid: " + errors[0].message + ".", errors=errors
        )
    endpoint = await repo.endpoints.get(conn, principal, endpoint_id, lock=True)
    after_position = None
    if data.after_event_id is not None:
        found = await repo.event_positions(conn, [data.after_event_id])
        if not found:
            raise InvalidInput(
                f"after_event_id names no event that is still kept: {data.after_event_id}.",
                errors=[ErrorItem("reference_not_found", "no such event", "after_event_id")],
            )
        after_position = found[data.after_event_id]
    types = [t.value for t in EventType if subscribes_to(endpoint["event_types"], t.value)]
    events = await repo.events_to_replay(
        conn,
        types=types,
        until_position=await repo.read_cursor(conn),
        since=data.since,
        until=data.until,
        after_position=after_position,
        limit=MAX_REPLAY_EVENTS + 1,
    )
    if len(events) > MAX_REPLAY_EVENTS:
        field = "since" if data.since is not None else "after_event_id"
        raise InvalidInput(
            f"The range holds more than {MAX_REPLAY_EVENTS} events; replay it in parts.",
            errors=[ErrorItem("replay_too_large", f"over {MAX_REPLAY_EVENTS} events", field)],
        )
    now = utcnow()
    rows = [
        repo.delivery_values(endpoint_id, e, (e["txid"], e["seq"]), now=now, trigger="replay")
        for e in events
    ]
    await repo.insert_deliveries(conn, rows)
    return {
        "deliveries_created": len(rows),
        "first_event_id": events[0]["id"] if events else None,
        "last_event_id": events[-1]["id"] if events else None,
    }


async def prune_delivery_log(
    conn: AsyncConnection, now: datetime, policy: WebhookPolicy = DEFAULT_WEBHOOK_POLICY
) -> int:
    """The scheduled round's share of the delivery log: delivered and dead deliveries past
    the policy's retention go, with their attempts; answers how many deliveries."""
    return await repo.prune_settled_deliveries(conn, delivery_log_cutoff(policy, now))

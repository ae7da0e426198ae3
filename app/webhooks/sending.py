"""One signed request to a partner's endpoint, per Standard Webhooks 1.0.

Headers: `webhook-id` (the event's id, the same in every retry, so a receiver can drop
duplicates), `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per signing secret, space-separated).
"""

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from app.core.clock import utcnow
from app.core.config import Settings
from app.core.json import dumps
from app.webhooks.policy import WebhookPolicy
from app.webhooks.ssrf import UnsafeUrl, resolve

USER_AGENT = "Salesflow-Webhooks/1.0"


@dataclass(frozen=True)
class AttemptResult:
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response_body: str | None
    retry_after: str | None
    outcome: str  # for the metrics: delivered, http_error, timeout, network_error, refused

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def event_body(event: Mapping[str, Any]) -> bytes:
    """What a partner receives for an event: the feed's representation in `data`."""
    return dumps(
        {
            "id": event["id"],
            "type": event["type"],
            "timestamp": event["occurred_at"],
            "data": dict(event),
        }
    )


def signature_header(secrets: Sequence[str], msg_id: str, at: datetime, body: bytes) -> str:
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)


def signing_secrets(endpoint: Mapping[str, Any], now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    secrets = [endpoint["secret"]]
    expires = endpoint["previous_secret_expires_at"]
    if endpoint["previous_secret"] and expires is not None and now < expires:
        secrets.append(endpoint["previous_secret"])
    return secrets


async def send(
    client: httpx.AsyncClient,
    settings: Settings,
    policy: WebhookPolicy,
    *,
    url: str,
    msg_id: str,
    body: bytes,
    secrets: Sequence[str],
) -> AttemptResult:
    """POST `body` to `url`'s checked address; never raises for the receiver's failures."""
    at = utcnow()
    started = time.monotonic()

    def result(
        outcome: str,
        error: str | None,
        response: httpx.Response | None = None,
        content: bytes = b"",
    ) -> AttemptResult:
        return AttemptResult(
            at=at,
            status_code=None if response is None else response.status_code,
            duration_ms=round((time.monotonic() - started) * 1000),
            error=None if error is None else error[: policy.error_chars],
            response_body=content.decode("utf-8", "replace") if response is not None else None,
            retry_after=None if response is None else response.headers.get("retry-after"),
            outcome=outcome,
        )

    try:
        target = await resolve(url, settings)
    except UnsafeUrl as refusal:
        return result("refused", f"refused: {refusal.message}")
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id, at, body),
    }
    # TLS is negotiated and verified for the URL's host name, not the address.
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    timeout = settings.webhook_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            request = client.build_request(
                "POST",
                target.pinned_url,
                content=body,
                headers=headers,
                timeout=timeout,
                extensions=extensions,
            )
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                content = await _read_some(response, policy.response_body_bytes)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        return result("timeout", f"timeout: no answer within {timeout:g} s")
    except httpx.HTTPError as error:
        return result("network_error", f"connection failed: {type(error).__name__}: {error}")
    if 200 <= response.status_code < 300:
        return result("delivered", None, response, content)
    return result("http_error", f"HTTP {response.status_code}", response, content)


async def _read_some(response: httpx.Response, limit: int) -> bytes:
    """The body's first `limit` bytes; the rest is never read."""
    content = b""
    async for chunk in response.aiter_bytes():
        content += chunk
        if len(content) >= limit:
            break
    return content[:limit]

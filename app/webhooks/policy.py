"""Webhook delivery policy: the retry schedule and the limits, as data, and the pure
decisions made from them (no clock, no I/O: the caller passes `now` and the randomness)."""

import fnmatch
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from app.events.catalogue import EventType

# Svix's schedule: a delivery is retried for about three days (5 s + 5 min + 30 min + 2 h
# + 5 h + 10 h + 10 h + 14 h + 14 h + 14 h ≈ 3 days) before it is dead-lettered.
RETRY_SCHEDULE_SECONDS: tuple[int, ...] = (
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    10 * 3600,
    14 * 3600,
    14 * 3600,
    14 * 3600,
)


class WebhookPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    retry_schedule_seconds: tuple[int, ...] = Field(
        default=RETRY_SCHEDULE_SECONDS,
        description="The wait before each retry; after the last one the delivery is dead.",
    )
    jitter_share: float = Field(
        default=0.2, ge=0, le=1, description="Each wait is stretched or shrunk by up to this share."
    )
    retry_after_cap_seconds: int = Field(
        default=6 * 3600, description="A receiver's Retry-After is honoured up to this long."
    )
    disable_after_failing_days: int = Field(
        default=5, description="An endpoint failing this long without a success is disabled."
    )
    previous_secret_grace_hours: int = Field(
        default=24, description="After a rotation, the old secret also signs this long."
    )
    response_body_bytes: int = Field(default=1024, description="What the log keeps of a body.")
    error_chars: int = Field(default=500, description="What the log keeps of an error message.")
    delivery_log_retention_days: int = Field(
        default=30,
        ge=1,
        description="Deliveries no longer to send (delivered or dead) are removed, with their "
        "attempts, once created longer ago than this; waiting ones are kept however old.",
    )


class WebhookPolicyDocument(WebhookPolicy):
    """The delivery policy in force, as `GET /api/v1/policy` publishes it."""

    timeout_seconds: float = Field(
        description="An attempt that has no answer within this long fails "
        "(SALESFLOW_WEBHOOK_TIMEOUT_SECONDS)."
    )


DEFAULT_WEBHOOK_POLICY = WebhookPolicy()

# Status codes that mean "try later", for which a Retry-After is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = 410


def policy_document(policy: WebhookPolicy, timeout_seconds: float) -> WebhookPolicyDocument:
    return WebhookPolicyDocument(**policy.model_dump(), timeout_seconds=timeout_seconds)


def delivery_log_cutoff(policy: WebhookPolicy, now: datetime) -> datetime:
    """Settled deliveries created before this instant are past their retention."""
    return now - timedelta(days=policy.delivery_log_retention_days)


def retry_delay(
    policy: WebhookPolicy,
    attempts_made: int,
    retry_after_seconds: float | None,
    rng: random.Random | None = None,
) -> timedelta | None:
    """The wait before the next attempt after `attempts_made` failed ones (None: give up).

    The schedule's wait is jittered so that endpoints failing together do not all retry in
    the same second; a receiver's Retry-After, capped, is honoured when it is longer."""
    schedule = policy.retry_schedule_seconds
    if attempts_made > len(schedule):
        return None
    base = schedule[attempts_made - 1]
    jitter = (rng or random).uniform(-policy.jitter_share, policy.jitter_share)
    seconds = base * (1 + jitter)
    if retry_after_seconds is not None:
        seconds = max(seconds, min(retry_after_seconds, policy.retry_after_cap_seconds))
    return timedelta(seconds=seconds)


def failing_too_long(policy: WebhookPolicy, failing_since: datetime | None, now: datetime) -> bool:
    if failing_since is None:
        return False
    return now - failing_since >= timedelta(days=policy.disable_after_failing_days)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


# What an endpoint may subscribe to: an exact type, or `<record type>.*`, or `*`.
_RECORD_TYPES = frozenset(t.record_type for t in EventType)


def unknown_event_types(patterns: Iterable[str]) -> list[str]:
    """The patterns that name no event type of the catalogue."""
    unknown = []
    for pattern in patterns:
        if pattern == "*" or pattern in EventType._value2member_map_:
            continue
        prefix, _, rest = pattern.partition(".")
        if rest == "*" and prefix in _RECORD_TYPES:
            continue
        unknown.append(pattern)
    return unknown


def subscribes_to(patterns: Sequence[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)

"""The one place the service reads the wall clock; tests and rules get instants passed in."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)

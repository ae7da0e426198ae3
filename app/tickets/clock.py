"""The one place the tickets package reads the wall clock, so tests can set the time."""

from datetime import datetime

from app.core.clock import utcnow


def now() -> datetime:
    return utcnow()

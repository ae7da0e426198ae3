"""Logging in: the attempt limits, the password check, token issue."""

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth import repository as repo
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import ErrorItem, TooManyRequests, Unauthorized
from app.core.security import issue_access_token, verify_password

_KEY_LENGTH = 300


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    most: int
    field: str | None
    whose: str


def attempt_limits(settings: Settings, email: str, client: str) -> tuple[Limit, Limit]:
    """One limit per account, whatever address the attempts come from (so rotating
    addresses gains nothing), and one per client address, whatever accounts it tries (so
    a spray across accounts is stopped too)."""
    account = f"account:{normalized(email)}"[:_KEY_LENGTH]
    address = f"client:{client}"[:_KEY_LENGTH]
    return (
        Limit(account, settings.login_max_failures, "username", "this account"),
        Limit(address, settings.login_max_failures_per_client, None, "this client address"),
    )


def normalized(email: str) -> str:
    return email.strip().lower()


async def log_in(
    db: Database, settings: Settings, email: str, password: str, client: str, now: datetime
) -> tuple[str, int]:
    """A token for valid credentials: Unauthorized for wrong ones, TooManyRequests once a
    limit is reached.

    The attempt is counted, committed, before the password is checked, so however many
    attempts arrive at once no more passwords are checked in a window than the limit
    allows. A success takes its attempt back: it wipes the account's count and does not
    count against the address.
    """
    account, address = attempt_limits(settings, email, client)
    async with db.transaction() as conn:
        await _count_attempt(conn, settings, (account, address), now)
        user = await repo.credentials(conn, normalized(email))
    # A deliberately slow hash: off the event loop, and no connection held meanwhile.
    valid = await asyncio.to_thread(
        verify_password, password, user["password_hash"] if user else None
    )
    if user is None or not valid or not user["is_active"]:
        raise Unauthorized("Incorrect e-mail or password.")
    async with db.transaction() as conn:
        await repo.forget_attempts(conn, account.key)
        await repo.take_back_attempt(conn, address.key)
        await repo.record_login(conn, user["id"], now)
    return issue_access_token(settings, user["id"], now)


async def _count_attempt(
    conn: AsyncConnection, settings: Settings, limits: tuple[Limit, ...], now: datetime
) -> None:
    """Count the attempt on every limit; a limit already reached refuses it (and the
    transaction rolls back, so a refused attempt counts against nothing)."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    counters = await repo.count_attempt(conn, [limit.key for limit in limits], now, now - window)
    for limit in limits:
        counter = counters[limit.key]
        if counter.attempts > limit.most:
            raise _refusal(limit, counter.window_started_at + window - now)


def _refusal(limit: Limit, remaining: timedelta) -> TooManyRequests:
    retry_after = max(1, math.ceil(remaining.total_seconds()))
    message = f"too many failed logins for {limit.whose}"
    return TooManyRequests(
        f"Too many failed logins; try again in {retry_after} seconds.",
        errors=[ErrorItem("too_many_failed_logins", message, limit.field)],
        headers={"Retry-After": str(retry_after)},
    )


async def forget_old_failures(conn: AsyncConnection, settings: Settings, now: datetime) -> int:
    """Drop the counters whose window has closed: they no longer count against anyone."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    return await repo.forget_closed_windows(conn, now - window)

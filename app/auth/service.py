"""Logging in: password check, failed-login rate limit, token issue."""

import asyncio
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.config import Settings
from app.core.errors import TooManyRequests, Unauthorized
from app.core.ids import new_id
from app.core.security import issue_access_token, verify_password
from app.users.repository import login_failures_table, users_table


def _limit_key(email: str, client: str) -> str:
    # Per address *and* client: an attacker elsewhere cannot lock the real user out.
    return f"{email.strip().lower()}|{client}"[:254]


async def _recent_failures(
    conn: AsyncConnection, key: str, since: datetime
) -> tuple[int, datetime | None]:
    table = login_failures_table
    statement = sa.select(sa.func.count(), sa.func.min(table.c.failed_at)).where(
        table.c.email == key, table.c.failed_at > since
    )
    count, oldest = (await conn.execute(statement)).one()
    return int(count), oldest


async def check_rate_limit(
    conn: AsyncConnection, settings: Settings, email: str, client: str, now: datetime
) -> None:
    window = timedelta(seconds=settings.login_failure_window_seconds)
    count, oldest = await _recent_failures(conn, _limit_key(email, client), now - window)
    if count >= settings.login_max_failures and oldest is not None:
        retry_after = max(1, int((oldest + window - now).total_seconds()) + 1)
        raise TooManyRequests(
            f"Too many failed logins; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


async def record_failure(conn: AsyncConnection, email: str, client: str, now: datetime) -> None:
    await conn.execute(
        login_failures_table.insert().values(
            id=new_id(), email=_limit_key(email, client), failed_at=now
        )
    )


async def authenticate(
    conn: AsyncConnection, settings: Settings, email: str, password: str, client: str, now: datetime
) -> tuple[str, int]:
    """A token for valid credentials; raises Unauthorized otherwise (failure kept by caller)."""
    statement = sa.select(
        users_table.c.id, users_table.c.password_hash, users_table.c.is_active
    ).where(sa.func.lower(users_table.c.email) == email.strip().lower())
    row = (await conn.execute(statement)).mappings().first()
    # A deliberately slow hash: off the event loop, so other requests go on meanwhile.
    valid = await asyncio.to_thread(
        verify_password, password, row["password_hash"] if row else None
    )
    if row is None or not valid or not row["is_active"]:
        raise Unauthorized("Incorrect e-mail or password.")
    await conn.execute(
        login_failures_table.delete().where(
            login_failures_table.c.email == _limit_key(email, client)
        )
    )
    await conn.execute(
        users_table.update().where(users_table.c.id == row["id"]).values(last_login_at=now)
    )
    return issue_access_token(settings, row["id"], now)


async def forget_old_failures(conn: AsyncConnection, settings: Settings, now: datetime) -> int:
    """Drop failed logins older than the window: they no longer count against anyone."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    table = login_failures_table
    result = await conn.execute(table.delete().where(table.c.failed_at <= now - window))
    return int(result.rowcount)

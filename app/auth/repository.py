"""Every query of logging in: credentials, the attempt counters, the instance's own secrets."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import insert_or_skip
from app.models import InstanceSecret, LoginThrottle
from app.users.repository import users_table

login_throttles_table: sa.Table = LoginThrottle.__table__  # type: ignore[attr-defined]
instance_secrets_table: sa.Table = InstanceSecret.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    attempts: int
    window_started_at: datetime


async def count_attempt(
    conn: AsyncConnection, keys: Sequence[str], now: datetime, window_opened_after: datetime
) -> dict[str, Counter]:
    """Add one attempt to each key's counter, opening a new window where the last one
    closed, and return the counters as they now stand.

    One upsert per call: each counter row stays locked until the transaction ends, so
    concurrent attempts on a key are counted one after another, never from one stale count.
    Keys are taken in sorted order, so two attempts sharing keys cannot deadlock.
    """
    table = login_throttles_table
    expired = table.c.window_started_at <= window_opened_after
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .values([{"key": key, "attempts": 1, "window_started_at": now} for key in sorted(keys)])
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "attempts": sa.case((expired, 1), else_=table.c.attempts + 1),
                "window_started_at": sa.case((expired, now), else_=table.c.window_started_at),
            },
        )
        .returning(table.c.key, table.c.attempts, table.c.window_started_at)
    )
    rows = (await conn.execute(statement)).all()
    return {row.key: Counter(row.key, row.attempts, row.window_started_at) for row in rows}


async def forget_attempts(conn: AsyncConnection, key: str) -> None:
    await conn.execute(login_throttles_table.delete().where(login_throttles_table.c.key == key))


async def take_back_attempt(conn: AsyncConnection, key: str) -> None:
    table = login_throttles_table
    await conn.execute(
        table.update()
        .where(table.c.key == key, table.c.attempts > 0)
        .values(attempts=table.c.attempts - 1)
    )


async def forget_closed_windows(conn: AsyncConnection, closed_before: datetime) -> int:
    table = login_throttles_table
    result = await conn.execute(table.delete().where(table.c.window_started_at <= closed_before))
    return int(result.rowcount)


async def credentials(conn: AsyncConnection, email: str) -> Any:
    """The id, password hash and active flag of the user with this e-mail, whatever its case."""
    statement = sa.select(
        users_table.c.id, users_table.c.password_hash, users_table.c.is_active
    ).where(sa.func.lower(users_table.c.email) == email)
    return (await conn.execute(statement)).mappings().first()


async def record_login(conn: AsyncConnection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        users_table.update().where(users_table.c.id == user_id).values(last_login_at=now)
    )


async def instance_secret(conn: AsyncConnection, name: str, candidate: str, now: datetime) -> str:
    """The secret called `name`, storing `candidate` if there is none yet.

    Insert-or-skip, then read: when several processes start at once, the first insert wins
    and every process reads the winner's value.
    """
    table = instance_secrets_table
    await conn.execute(
        insert_or_skip(conn, table, index_elements=[table.c.name]).values(
            name=name, value=candidate, created_at=now
        )
    )
    return str(
        (await conn.execute(sa.select(table.c.value).where(table.c.name == name))).scalar_one()
    )

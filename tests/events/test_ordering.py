"""The feed under concurrent writers, on a really committed PostgreSQL database: no event
is skipped or repeated, whatever order the transactions commit in."""

import asyncio
import random
import uuid

import pytest
import sqlalchemy as sa

from app.core.access import Principal
from app.core.enums import Role
from app.events import repository as feed
from app.events.catalogue import RECORD_TYPES, EventType
from app.events.outbox import emit, events_table

ADMIN = Principal("user", uuid.uuid4(), "Feed reader", Role.admin)
WRITER = Principal("system", uuid.UUID(int=0), "system")


@pytest.fixture
async def written(engine, backend):  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        pytest.skip("SQLite has one writer at a time; the commit-order race needs PostgreSQL")
    ids: list[uuid.UUID] = []
    yield ids
    async with engine.begin() as conn:
        await conn.execute(events_table.delete().where(events_table.c.record_id.in_(ids)))


async def _write(conn, ids: list[uuid.UUID]) -> uuid.UUID:  # type: ignore[no-untyped-def]
    record_id = uuid.uuid4()
    ids.append(record_id)
    await emit(conn, WRITER, EventType.lead_touched, {"id": record_id, "version": 1})
    return record_id


async def _read_all(engine, ids, after=None):  # type: ignore[no-untyped-def]
    """Everything readable now past `after`, and the position after it."""
    seen = []
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        while True:
            query = feed.FeedQuery(after, [EventType.lead_touched.value], ["lead"], None, 50)
            rows, position = await feed.read_feed(conn, ADMIN, query, RECORD_TYPES)
            mine = set(ids)  # after the read: a committed event's id is already listed
            seen += [row["record_id"] for row in rows if row["record_id"] in mine]
            if not rows:
                return seen, after
            after = position


# The feed reads below the oldest transaction still running anywhere on the server: a
# test of another worker's database, open meanwhile, holds it back for as long as it runs.
PATIENCE_SECONDS = 60.0


async def _read_until(engine, ids, count, after=None):  # type: ignore[no-untyped-def]
    """What `_read_all` gives once `count` events have come (or patience ran out)."""
    seen: list[uuid.UUID] = []
    deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
    while len(seen) < count and asyncio.get_running_loop().time() < deadline:
        page, after = await _read_all(engine, ids, after)
        seen += page
        if len(seen) < count:
            await asyncio.sleep(0.05)
    return seen, after


async def test_an_event_waits_for_the_older_transaction_still_running(engine, written):
    older, newer = await engine.connect(), await engine.connect()
    try:
        await older.begin()
        first = await _write(older, written)  # takes the lower transaction id
        async with newer.begin():
            second = await _write(newer, written)
        seen, position = await _read_all(engine, written)
        assert seen == []  # reading `second` now would skip `first` for good
        await older.commit()
        seen, _ = await _read_until(engine, written, 2, position)
        assert seen == [first, second]
    finally:
        await older.close()
        await newer.close()


async def test_many_writers_and_a_tailing_reader_agree(engine, written):
    writers = 24
    gate = asyncio.Semaphore(6)
    rng = random.Random(20261203)

    async def writer() -> None:
        async with gate, engine.begin() as conn:
            await _write(conn, written)
            for _ in range(rng.randint(0, 5)):
                await conn.execute(sa.text("SELECT 1"))  # commit at a random later point

    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    seen: list[uuid.UUID] = []
    position = None
    while not all(task.done() for task in tasks):
        page, position = await _read_all(engine, written, position)
        seen += page
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    page, position = await _read_until(engine, written, writers - len(seen), position)
    seen += page
    assert len(seen) == len(set(seen)) == writers
    assert set(seen) == set(written)

"""Read-only requests and writes sharing one really committed database and one connection.

The rolled-back harness hands every request a SAVEPOINT; these tests build the app on a
plain `Database` with a pool of one connection, so a GET's unit of work and the writes
after it run on the same pooled connection, as in production.
"""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from app.core.db import Database, create_engine, is_unavailable
from app.core.enums import Role
from app.main import create_app
from app.models import Customer, User
from tests.factories import make_customer, make_user

customers = Customer.__table__
users = User.__table__


@pytest.fixture
async def single_connection(engine, settings) -> AsyncIterator[Database]:
    if engine.dialect.name == "sqlite":
        pytest.skip("the file database of the SQLite suite is owned by the session's engine")
    one = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    db = Database(create_engine(one))
    yield db
    await db.dispose()


@pytest.fixture
async def two_reps(engine, settings):
    async with engine.begin() as conn:
        alice = await make_user(conn, settings, role=Role.rep)
        bob = await make_user(conn, settings, role=Role.rep)
        customer_id = await make_customer(conn, owner_id=alice.id, name="Before")
    yield alice, bob, customer_id
    async with engine.begin() as conn:
        await conn.execute(sa.delete(customers).where(customers.c.owner_id == alice.id))
        await conn.execute(sa.delete(users).where(users.c.id.in_([alice.id, bob.id])))


async def test_reads_see_each_commit_and_leave_the_connection_transactional(
    single_connection, settings, two_reps
):
    alice, bob, customer_id = two_reps
    app = create_app(settings, single_connection)
    url = f"/api/v1/customers/{customer_id}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        first = await http.get(url, headers=alice.headers)
        # Same statement shape, another rep: still hidden.
        hidden = await http.get(url, headers=bob.headers)

        async with single_connection.transaction() as conn:
            await conn.execute(
                customers.update().where(customers.c.id == customer_id).values(name="After")
            )
        second = await http.get(url, headers=alice.headers)

        # The pool's one connection served the reads; a failed unit of work on it must
        # still leave nothing behind.
        with pytest.raises(RuntimeError):
            async with single_connection.transaction() as conn:
                await conn.execute(
                    customers.update().where(customers.c.id == customer_id).values(name="Torn")
                )
                raise RuntimeError("fails after writing")
        third = await http.get(url, headers=alice.headers)

    assert first.status_code == 200 and first.json()["name"] == "Before"
    assert hidden.status_code == 404
    assert second.json()["name"] == "After"
    assert third.json()["name"] == "After"


async def test_each_request_gets_the_unit_of_work_it_needs(engine, conn, settings):
    """Plain GETs only read; writes and reports (transaction-local planner settings) get a
    transaction."""
    from contextlib import asynccontextmanager

    from tests.conftest import RolledBackDatabase

    units: list[str] = []

    class Recording(RolledBackDatabase):
        @asynccontextmanager
        async def transaction(self):  # type: ignore[no-untyped-def]
            units.append("transaction")
            async with super().transaction() as c:
                yield c

        @asynccontextmanager
        async def reading(self):  # type: ignore[no-untyped-def]
            units.append("reading")
            async with super().transaction() as c:
                yield c

    director = await make_user(conn, settings, role=Role.director)
    app = create_app(settings, Recording(engine, conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        requests = {
            "list": http.get("/api/v1/customers", headers=director.headers),
            "report": http.get(
                "/api/v1/reports/sales?from=2026-01-01&to=2026-02-01", headers=director.headers
            ),
            "create": http.post(
                "/api/v1/customers", json={"name": "Unit Co"}, headers=director.headers
            ),
        }
        seen = {}
        for name, request in requests.items():
            units.clear()
            response = await request
            assert response.status_code < 300, response.text
            seen[name] = units.copy()
    assert seen == {"list": ["reading"], "report": ["transaction"], "create": ["transaction"]}


@pytest.mark.parametrize("steps", range(12))
async def test_units_of_work_get_connections_first_come_first_served(single_connection, steps):
    """A unit of work arriving just as a connection comes back queues behind those that
    were already waiting, so under load no request waits for ever longer. (`steps`: how
    many turns of the event loop after the release the late one arrives.)"""
    db, order = single_connection, []
    holding, release = asyncio.Event(), asyncio.Event()

    async def unit(name: str, hold: asyncio.Event | None = None) -> None:
        async with db.reading() as conn:
            await conn.execute(sa.text("SELECT 1"))
            order.append(name)
            if hold is not None:
                holding.set()
                await hold.wait()

    first = asyncio.create_task(unit("first", release))
    await holding.wait()
    waiting = []
    for name in ("second", "third"):
        waiting.append(asyncio.create_task(unit(name)))
        await asyncio.sleep(0.01)  # each is queued before the next arrives
    release.set()
    for _ in range(steps):
        await asyncio.sleep(0)
    late = asyncio.create_task(unit("late"))
    await asyncio.gather(first, *waiting, late)
    assert order == ["first", "second", "third", "late"]


async def test_waiting_longer_than_the_pool_timeout_is_unavailable(engine, settings):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no connection pool to wait for")
    one = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.2}
    )
    db = Database(create_engine(one))
    try:
        async with db.reading():
            with pytest.raises(sa.exc.TimeoutError) as raised:
                async with db.reading():
                    pass
        assert is_unavailable(raised.value)  # answered as 503
    finally:
        await db.dispose()

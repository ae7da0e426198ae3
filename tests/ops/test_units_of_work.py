"""Read-only requests and writes sharing one really committed database and one connection.

The rolled-back harness hands every request a SAVEPOINT; these tests build the app on a
plain `Database` with a pool of one connection, so a GET's unit of work and the writes
after it run on the same pooled connection, as in production.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from app.core.db import Database, create_engine
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

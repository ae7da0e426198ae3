"""A database that stops answering: requests give up at the client-side timeout, never hang.

The app runs on its own pool through a proxy that can stall (tests/stall_proxy.py), so
the timeout exercised is asyncpg's own, against a real network connection.
"""

import asyncio
import uuid

import httpx
import pytest
import sqlalchemy as sa

from app.core.db import Database, create_engine
from app.core.enums import Role
from app.main import create_app
from app.models import Customer, User
from tests.factories import make_user
from tests.stall_proxy import stall_proxy

customers = Customer.__table__
users = User.__table__


@pytest.fixture
async def committed_rep(engine, settings):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite is a file, not a network peer")
    async with engine.begin() as conn:
        rep = await make_user(conn, settings, role=Role.rep)
    yield rep
    async with engine.begin() as conn:
        await conn.execute(sa.delete(customers).where(customers.c.owner_id == rep.id))
        await conn.execute(sa.delete(users).where(users.c.id == rep.id))


@pytest.fixture
async def stalling_app(engine, settings, committed_rep):
    async with stall_proxy(engine.url.render_as_string(hide_password=False)) as (proxy, url):
        proxied = settings.model_copy(
            update={
                "database_url": url,
                "db_statement_timeout_ms": 300,
                "db_client_timeout_margin_ms": 200,
            }
        )
        db = Database(create_engine(proxied))
        try:
            yield proxy, create_app(proxied, db), proxied
        finally:
            await db.dispose()


async def test_a_stalled_database_answers_503_at_the_client_timeout_and_commits_nothing(
    engine, stalling_app, committed_rep
):
    proxy, app, settings = stalling_app
    name = f"Stalled {uuid.uuid4().hex[:8]}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        warm = await http.get("/api/v1/customers", headers=committed_rep.headers)
        assert warm.status_code == 200, warm.text

        proxy.stall()
        started = asyncio.get_running_loop().time()
        stalled = await asyncio.wait_for(
            http.post("/api/v1/customers", json={"name": name}, headers=committed_rep.headers),
            timeout=10,
        )
        waited = asyncio.get_running_loop().time() - started
        proxy.resume()
        after = await http.get("/api/v1/customers", headers=committed_rep.headers)

    assert stalled.status_code == 503, stalled.text
    assert stalled.headers["content-type"] == "application/problem+json"
    assert stalled.headers["retry-after"] == "30"
    assert "statement timeout" in stalled.json()["detail"]
    assert settings.db_client_timeout_seconds <= waited < settings.db_client_timeout_seconds + 2
    # The stalled connection was dropped, not handed to the next request.
    assert after.status_code == 200, after.text
    async with engine.connect() as conn:
        stored = await conn.scalar(sa.select(sa.func.count()).where(customers.c.name == name))
    assert stored == 0

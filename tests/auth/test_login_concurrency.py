"""Many wrong passwords at once, against a really committed database.

The rolled-back harness runs every request on one connection, so it cannot race; these
tests build their own app on the engine (a pool of connections), commit their rows and
delete them at the end.
"""

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from app.auth import service
from app.core.db import Database
from app.core.enums import Role
from app.main import create_app
from app.models import LoginThrottle, User
from tests.factories import PASSWORD, make_user

ATTEMPTS = 30


@pytest.fixture
async def committed_rep(engine, settings):
    async with engine.begin() as conn:
        rep = await make_user(conn, settings, role=Role.rep)
    yield rep
    async with engine.begin() as conn:
        throttles, users = LoginThrottle.__table__, User.__table__
        await conn.execute(sa.delete(throttles))
        await conn.execute(sa.delete(users).where(users.c.id == rep.id))


@pytest.fixture
def password_checks(monkeypatch):
    checked = []

    def counting(password, password_hash):  # type: ignore[no-untyped-def]
        checked.append(password)
        return real(password, password_hash)

    real = service.verify_password
    monkeypatch.setattr(service, "verify_password", counting)
    return checked


@pytest.mark.parametrize("addresses", [1, ATTEMPTS], ids=["one-address", "an-address-each"])
async def test_simultaneous_wrong_passwords_check_no_more_than_the_limit(
    engine, settings, committed_rep, password_checks, addresses
):
    app = create_app(settings, Database(engine))

    async def attempt(n: int, password: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(f"203.0.113.{n % addresses}", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            form = {"username": committed_rep.email, "password": password}
            return await http.post("/api/v1/auth/token", data=form)

    responses = await asyncio.gather(*(attempt(n, f"guess {n}") for n in range(ATTEMPTS)))

    most = settings.login_max_failures
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * most + [429] * (ATTEMPTS - most)
    assert len(password_checks) == most
    # Until the window closes the right password is refused unchecked as well.
    assert (await attempt(ATTEMPTS, PASSWORD)).status_code == 429
    assert len(password_checks) == most

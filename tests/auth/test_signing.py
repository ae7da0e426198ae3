"""Without a configured JWT secret the service signs with one its database generated."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import sqlalchemy as sa

from app.auth.signing import JWT_SECRET_NAME, serving_settings
from app.core.config import PUBLISHED_JWT_SECRET, Settings
from app.core.db import Database
from app.core.enums import Role
from app.main import create_app
from app.models import InstanceSecret
from tests.conftest import RolledBackDatabase
from tests.factories import PASSWORD, make_user

secrets_table = InstanceSecret.__table__


@pytest.fixture
def unconfigured(settings):
    """The settings of a development instance nobody gave a secret: nothing runs behind."""
    return settings.model_copy(
        update={"jwt_secret": None, "sla_sweep_interval_seconds": 0, "triggers_interval_seconds": 0}
    )


@pytest.fixture
def auth_log(caplog):
    """The service's loggers do not propagate to the root, where caplog listens."""
    logger = logging.getLogger("salesflow.auth")
    logger.addHandler(caplog.handler)
    propagates, logger.propagate = logger.propagate, False
    yield caplog
    logger.propagate = propagates
    logger.removeHandler(caplog.handler)


def messages(log):  # type: ignore[no-untyped-def]
    return [record.getMessage() for record in log.records]


async def started(app):  # type: ignore[no-untyped-def]
    async with app.router.lifespan_context(app):
        return app.state.settings


async def log_in(app, email):  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return token, me


def forged_admin_token(user_id, secret):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


async def test_a_generated_secret_signs_tokens_and_survives_a_restart(
    engine, conn, settings, unconfigured, auth_log
):
    admin = await make_user(conn, settings, role=Role.admin)
    first = create_app(unconfigured, RolledBackDatabase(engine, conn))
    serving = await started(first)
    assert any("SALESFLOW_JWT_SECRET is not set" in m for m in messages(auth_log))
    stored = await conn.scalar(
        sa.select(secrets_table.c.value).where(secrets_table.c.name == JWT_SECRET_NAME)
    )
    assert serving.jwt_secret == stored and len(stored) >= 64

    token, me = await log_in(first, admin.email)
    assert me.status_code == 200 and me.json()["role"] == "admin"

    restarted = create_app(unconfigured, RolledBackDatabase(engine, conn))
    await started(restarted)
    transport = httpx.ASGITransport(app=restarted)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        still = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        for forged_with in (PUBLISHED_JWT_SECRET, settings.jwt_secret):
            forged = forged_admin_token(admin.id, forged_with)
            refused = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
            assert refused.status_code == 401, forged_with
    assert still.status_code == 200


async def test_a_configured_secret_is_used_as_it_is(engine, conn, settings, auth_log):
    quiet = settings.model_copy(
        update={"sla_sweep_interval_seconds": 0, "triggers_interval_seconds": 0}
    )
    app = create_app(quiet, RolledBackDatabase(engine, conn))
    assert (await started(app)).jwt_secret == settings.jwt_secret
    assert messages(auth_log) == []
    assert await conn.scalar(sa.select(sa.func.count()).select_from(secrets_table)) == 0


async def test_workers_starting_together_agree_on_one_secret(engine, unconfigured):
    db = Database(engine)
    try:
        starts = await asyncio.gather(*(serving_settings(db, unconfigured) for _ in range(8)))
        async with engine.connect() as check:
            rows = (await check.execute(sa.select(secrets_table.c.value))).scalars().all()
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(sa.delete(secrets_table))
    assert len({s.jwt_secret for s in starts}) == 1
    assert rows == [starts[0].jwt_secret]


async def test_unwise_production_settings_are_logged_at_start_up(auth_log):
    settings = Settings(
        environment="production",
        database_url="postgresql+asyncpg://salesflow@db/salesflow",
        jwt_secret="only-ops-knows-this-0123456789ab",
        access_token_minutes=8 * 60,
        _env_file=None,
    )
    # A configured secret needs no database.
    assert await serving_settings(None, settings) is settings  # type: ignore[arg-type]
    [warning] = messages(auth_log)
    assert "SALESFLOW_ACCESS_TOKEN_MINUTES is 480" in warning

"""Webhook tests: a real receiver on 127.0.0.1, an app that may deliver to it, and the
delivery functions run on the test's rolled-back connection."""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.access import SYSTEM
from app.core.config import Settings
from app.core.enums import Role
from app.core.ids import new_id
from app.events.catalogue import EventType
from app.events.outbox import emit
from app.main import create_app
from app.webhooks import delivery
from tests.conftest import RolledBackDatabase
from tests.factories import Actor, make_user
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """Deliveries to 127.0.0.1 allowed, and a short timeout for the receiver that hangs."""
    return settings.model_copy(
        update={"webhook_allow_private": True, "webhook_timeout_seconds": 0.5}
    )


@pytest.fixture
def db(engine: AsyncEngine, conn: AsyncConnection) -> RolledBackDatabase:
    return RolledBackDatabase(engine, conn)


@pytest.fixture
async def hooks(
    db: RolledBackDatabase, hook_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The API, allowed to deliver to the local receiver."""
    transport = httpx.ASGITransport(app=create_app(hook_settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def outbound() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
async def admin(conn: AsyncConnection, settings: Settings) -> Actor:
    return await make_user(conn, settings, role=Role.admin)


async def register(
    hooks: httpx.AsyncClient, admin: Actor, url: str, event_types: list[str] | None = None
) -> dict[str, Any]:
    body = {"url": url, "event_types": event_types or ["deal.*"]}
    response = await hooks.post("/api/v1/webhook-endpoints", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def emit_events(conn: AsyncConnection, *types: EventType) -> list[Any]:
    """Write events to the outbox as changes would; answers their ids in order."""
    ids = []
    for event_type in types:
        await emit(conn, SYSTEM, event_type, {"id": new_id(), "version": 1, "name": "x"})
        ids.append(await _last_event_id(conn))
    return ids


async def _last_event_id(conn: AsyncConnection) -> Any:
    from sqlalchemy import select

    from app.events.outbox import events_table

    statement = select(events_table.c.id).order_by(events_table.c.seq.desc()).limit(1)
    return (await conn.execute(statement)).scalar_one()


async def fan_out_all(db: RolledBackDatabase) -> set[Any]:
    """Fan out everything, past what other tests may have committed to the feed."""
    return await delivery.fan_out(db, limit=100_000)


async def deliver(
    db: RolledBackDatabase,
    client: httpx.AsyncClient,
    endpoint: dict[str, Any],
    settings: Settings,
    now: datetime | None = None,
) -> datetime | None:
    endpoint_id = uuid.UUID(str(endpoint["id"]))
    return await delivery.deliver_endpoint(db, client, endpoint_id, now=now, settings=settings)

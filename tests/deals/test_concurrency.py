"""Two transitions of one deal at once, against a really committed PostgreSQL database.

The rolled-back harness runs every request on one connection, so it cannot race; this test
builds its own app on the engine, commits its rows and deletes them at the end.
"""

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from app.core.db import Database
from app.core.enums import Role
from app.main import create_app
from app.models import AuditEntry, Deal, DealStageChange, User
from tests.factories import make_deal, make_user


@pytest.fixture
async def committed_deal(engine, backend, settings):
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers; the row-lock race needs PostgreSQL")
    async with engine.begin() as conn:
        rep = await make_user(conn, settings, role=Role.rep)
        deal_id = await make_deal(conn, owner_id=rep.id)
    yield rep, deal_id
    async with engine.begin() as conn:
        for table, column in (
            (AuditEntry.__table__, "entity_id"),
            (DealStageChange.__table__, "deal_id"),
            (Deal.__table__, "id"),
        ):
            await conn.execute(sa.delete(table).where(table.c[column] == deal_id))
        users = User.__table__
        await conn.execute(sa.delete(users).where(users.c.id == rep.id))


@pytest.mark.parametrize(
    ("if_match", "loser_status"),
    [(None, 409), ('"1"', 412)],
    ids=["no-if-match", "same-if-match"],
)
async def test_two_concurrent_transitions_exactly_one_wins(
    engine, settings, committed_deal, if_match, loser_status
):
    rep, deal_id = committed_deal
    app = create_app(settings, Database(engine))
    headers = rep.headers | ({"If-Match": if_match} if if_match else {})
    url = f"/api/v1/deals/{deal_id}/transition"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        responses = await asyncio.gather(
            http.post(url, json={"to_stage": "lost", "lost_reason": "price"}, headers=headers),
            http.post(url, json={"to_stage": "lost", "lost_reason": "timing"}, headers=headers),
        )
    assert sorted(r.status_code for r in responses) == [200, loser_status]
    winner = next(r for r in responses if r.status_code == 200).json()

    history = DealStageChange.__table__
    async with engine.connect() as conn:
        moves = (
            await conn.execute(sa.select(history.c.to_stage).where(history.c.deal_id == deal_id))
        ).scalars()
        stored = (
            (await conn.execute(sa.select(Deal.__table__).where(Deal.__table__.c.id == deal_id)))
            .mappings()
            .one()
        )
    assert list(moves) == ["lost"]
    assert stored["version"] == 2
    assert stored["lost_reason"] == winner["lost_reason"]

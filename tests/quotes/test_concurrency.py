"""Races on one quote against a real, committed PostgreSQL database: exactly one side wins.

These tests cannot use the rolled-back harness (every request there shares one
connection, so nothing runs concurrently); they commit their own rows and delete them.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.db import Database
from app.core.enums import Role
from app.main import create_app
from app.models import AuditEntry, Customer, Deal, Quote, QuoteVersion, Team, User
from tests.factories import make_customer, make_deal, make_quote, make_team, make_user
from tests.quotes.helpers import act


@pytest.fixture
async def committed(engine, backend, settings) -> AsyncIterator[dict[str, Any]]:
    """A rep's quote awaiting a manager's approval, and two managers, all committed."""
    if backend != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    async with engine.begin() as conn:
        team = await make_team(conn)
        rep = await make_user(conn, settings, role=Role.rep, team_id=team)
        first = await make_user(conn, settings, role=Role.manager, team_id=team)
        second = await make_user(conn, settings, role=Role.manager, team_id=team)
        customer = await make_customer(conn, owner_id=rep.id)
        deal = await make_deal(conn, owner_id=rep.id, customer_id=customer, stage="proposal")
        quote = await make_quote(
            conn,
            deal_id=deal,
            owner_id=rep.id,
            customer_id=customer,
            status="pending_approval",
            header_discount_pct="8",
            submitted_at=utcnow(),
            submitted_by=rep.id,
            required_approver_role="manager",
        )
    yield {"rep": rep, "managers": (first, second), "quote_id": quote["quote_id"]}
    async with engine.begin() as conn:
        await conn.execute(sa.delete(AuditEntry).where(AuditEntry.entity_id == quote["quote_id"]))
        await conn.execute(sa.delete(Quote).where(Quote.deal_id == deal))
        await conn.execute(sa.delete(Deal).where(Deal.id == deal))
        await conn.execute(sa.delete(Customer).where(Customer.id == customer))
        await conn.execute(sa.delete(User).where(User.team_id == team))
        await conn.execute(sa.delete(Team).where(Team.id == team))


@pytest.fixture
async def live_client(engine, settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app on its own committed transactions, one pooled connection per request."""
    app = create_app(settings, Database(engine))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _stored(engine, quote_id: uuid.UUID) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with engine.connect() as conn:
        quote = (await conn.execute(sa.select(Quote.__table__).where(Quote.id == quote_id))).one()
        versions = (
            await conn.execute(
                sa.select(QuoteVersion.__table__)
                .where(QuoteVersion.quote_id == quote_id)
                .order_by(QuoteVersion.number)
            )
        ).all()
    return dict(quote._mapping), [dict(v._mapping) for v in versions]


async def test_two_approvers_at_once_exactly_one_wins(engine, committed, live_client):
    quote = {"id": committed["quote_id"], "version": 1}
    responses = await asyncio.gather(
        *(act(live_client, manager, quote, "approve") for manager in committed["managers"])
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] == 200 and statuses[1] in (409, 412), [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    stored, versions = await _stored(engine, committed["quote_id"])
    assert (stored["status"], stored["version"]) == ("approved", 2)
    assert str(versions[0]["approved_by"]) == winner["current_version"]["approved_by"]


async def test_an_edit_racing_an_approval_never_leaves_an_approved_edit(
    engine, committed, live_client
):
    quote = {"id": committed["quote_id"], "version": 1}
    rep, manager = committed["rep"], committed["managers"][0]
    edit = live_client.patch(
        f"/api/v1/quotes/{quote['id']}",
        json={"header_discount_pct": "14"},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    responses = await asyncio.gather(edit, act(live_client, manager, quote, "approve"))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 412], [r.text for r in responses]
    stored, versions = await _stored(engine, committed["quote_id"])
    if len(versions) == 1:  # the approval won; the edit was refused
        assert stored["status"] == "approved"
    else:  # the edit won; the approval did not carry over
        assert [v["status"] for v in versions] == ["superseded", "draft"]
        assert versions[1]["approved_at"] is None
        assert stored["status"] == "draft"

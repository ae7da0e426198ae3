import pytest
import sqlalchemy as sa

from app.core.errors import Conflict
from app.demo import seed_demo
from app.models import Customer, Deal, Ticket


async def test_demo_company_covers_every_tier_and_stage_and_can_log_in(conn, client):
    company = await seed_demo(conn, "demo-password-123")
    tiers = set((await conn.execute(sa.select(Customer.__table__.c.tier))).scalars())
    stages = set((await conn.execute(sa.select(Deal.__table__.c.stage))).scalars())
    assert {"strategic", "growth", "potential", "dormant"} <= tiers
    assert {
        "development",
        "initiation",
        "proposal",
        "bidding",
        "negotiation",
        "implementation",
        "won",
        "lost",
    } <= stages
    assert (
        await conn.execute(sa.select(sa.func.count()).select_from(Ticket.__table__))
    ).scalar() >= 4

    login = await client.post(
        "/api/v1/auth/token",
        data={"username": company.users["manager.east"], "password": "demo-password-123"},
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    deals = await client.get("/api/v1/deals", headers={"Authorization": f"Bearer {token}"})
    assert deals.status_code == 200 and deals.json()["items"]
    with pytest.raises(Conflict):
        await seed_demo(conn, "demo-password-123")

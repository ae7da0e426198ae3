import pytest

from app.core.enums import Role
from tests.factories import make_customer, make_deal, make_team, make_user


@pytest.fixture
async def team(conn):
    return await make_team(conn)


@pytest.fixture
async def rep(conn, settings, team):
    return await make_user(conn, settings, role=Role.rep, team_id=team)


@pytest.fixture
async def manager(conn, settings, team):
    return await make_user(conn, settings, role=Role.manager, team_id=team)


@pytest.fixture
async def director(conn, settings):
    return await make_user(conn, settings, role=Role.director)


@pytest.fixture
async def customer_id(conn, rep):
    return await make_customer(conn, owner_id=rep.id)


@pytest.fixture
async def deal_id(conn, rep, customer_id):
    return await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="proposal")

"""Ticket test fixtures: a settable clock and a support desk with a customer."""

import pytest

from app.core.clock import utcnow
from app.core.enums import Role
from tests.factories import make_customer, make_user
from tests.tickets.helpers import Desk, FrozenClock, make_managed_team


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    clock = FrozenClock(utcnow().replace(microsecond=0))
    monkeypatch.setattr("app.tickets.clock.utcnow", clock)
    return clock


@pytest.fixture
async def desk(conn, settings) -> Desk:  # type: ignore[no-untyped-def]
    team, manager = await make_managed_team(conn, settings)
    agent = await make_user(conn, settings, role=Role.support_agent, team_id=team)
    rep = await make_user(conn, settings, role=Role.rep)
    customer_id = await make_customer(conn, owner_id=rep.id)
    return Desk(manager, agent, rep, customer_id)

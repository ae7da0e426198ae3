"""The SLA sweeper: breaches and warnings recorded once, dated when they happened."""

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.access import Principal
from app.core.clock import utcnow
from app.core.enums import Role
from app.models import AuditEntry, Customer, Task, Team, Ticket, TicketSlaEvent, User
from app.rules.calendar import TWENTY_FOUR_SEVEN, business_hours
from app.rules.sla import DEFAULT_SLA_POLICY_SET, SlaPolicy, SlaPolicySet
from app.rules.sla_registry import build_registry
from app.tickets.schemas import TicketCreate
from app.tickets.service import open_ticket as open_ticket_directly
from app.tickets.sweeper import SweepResult, sweep
from tests.factories import make_customer, make_team, make_user
from tests.tickets.helpers import act, audit_actions, instant, make_managed_team, open_ticket

HOUR = timedelta(hours=1)
tasks_table = Task.__table__  # type: ignore[attr-defined]
events_table = TicketSlaEvent.__table__  # type: ignore[attr-defined]
tickets_table = Ticket.__table__  # type: ignore[attr-defined]


async def sla_tasks(conn: AsyncConnection, ticket_ids: list[uuid.UUID]) -> list[tuple]:
    statement = (
        sa.select(
            tasks_table.c.related_id,
            tasks_table.c.kind,
            tasks_table.c.dedupe_key,
            tasks_table.c.assignee_id,
            tasks_table.c.due_at,
        )
        .where(tasks_table.c.related_id.in_(ticket_ids))
        .order_by(tasks_table.c.related_id, tasks_table.c.kind, tasks_table.c.dedupe_key)
    )
    return [tuple(row) for row in (await conn.execute(statement)).all()]


async def marker_events(conn: AsyncConnection, ticket_ids: list[uuid.UUID]) -> list[tuple]:
    statement = (
        sa.select(
            events_table.c.ticket_id, events_table.c.kind, events_table.c.clock, events_table.c.at
        )
        .where(
            events_table.c.ticket_id.in_(ticket_ids),
            events_table.c.kind.in_(["breached", "at_risk"]),
        )
        .order_by(events_table.c.ticket_id, events_table.c.seq)
    )
    return [tuple(row) for row in (await conn.execute(statement)).all()]


async def test_a_late_sweep_dates_each_breach_at_its_due_instant(client, app, conn, desk, frozen):
    start = frozen.at
    ticket = await open_ticket(client, desk.agent, desk.customer_id, assignee_id=str(desk.agent.id))
    ident = uuid.UUID(ticket["id"])
    result = await sweep(app.state.db, start + timedelta(days=3))
    assert (result.breaches, result.warnings) == (2, 0)
    assert await marker_events(conn, [ident]) == [
        (ident, "breached", "first_response", start + HOUR),
        (ident, "breached", "resolution", start + 48 * HOUR),
    ]
    # Each breach goes to the assignee's manager, once per clock.
    assert [
        (kind, key, assignee) for _, kind, key, assignee, _ in await sla_tasks(conn, [ident])
    ] == [
        ("sla_escalation", f"sla_escalation:{ident}:first_response", desk.manager.id),
        ("sla_escalation", f"sla_escalation:{ident}:resolution", desk.manager.id),
    ]
    swept = (await client.get(f"/api/v1/tickets/{ident}", headers=desk.agent.headers)).json()
    assert (swept["sla_status"], swept["escalation_level"], swept["version"]) == ("breached", 2, 2)
    assert await audit_actions(conn, ticket) == [
        "ticket.created",
        "ticket.sla_breached",
        "ticket.sla_breached",
    ]
    # Both clocks breached on record: nothing left to do, so the ticket is not even read.
    assert await sweep(app.state.db, start + timedelta(days=4)) == SweepResult(0, 0, 0)
    assert len(await sla_tasks(conn, [ident])) == 2
    assert (await audit_actions(conn, ticket)).count("ticket.sla_breached") == 2


async def test_a_sweep_reads_only_tickets_with_a_warning_or_breach_due(
    client, app, conn, desk, frozen
):
    start = frozen.at
    for _ in range(3):
        await open_ticket(client, desk.agent, desk.customer_id, assignee_id=str(desk.agent.id))
    assert await sweep(app.state.db, start + 2 * HOUR) == SweepResult(3, 3, 0)
    # Sweeping again right away, or any time before the resolution clocks turn at risk,
    # finds nothing due: the breached but still open tickets are not claimed again.
    assert await sweep(app.state.db, start + 2 * HOUR) == SweepResult(0, 0, 0)
    assert await sweep(app.state.db, start + 36 * HOUR - timedelta(seconds=1)) == SweepResult()
    assert await sweep(app.state.db, start + 36 * HOUR) == SweepResult(3, 0, 3)
    assert await sweep(app.state.db, start + 40 * HOUR) == SweepResult(0, 0, 0)
    assert await sweep(app.state.db, start + 48 * HOUR) == SweepResult(3, 3, 0)
    assert await sweep(app.state.db, start + 60 * HOUR) == SweepResult(0, 0, 0)


async def test_the_at_risk_warning_comes_once_per_clock_to_the_assignee(
    client, app, conn, desk, frozen
):
    start = frozen.at
    ticket = await open_ticket(client, desk.agent, desk.customer_id, assignee_id=str(desk.agent.id))
    ident = uuid.UUID(ticket["id"])
    assert await sweep(app.state.db, start + timedelta(minutes=44, seconds=59)) == SweepResult()
    assert await sweep(app.state.db, start + timedelta(minutes=45)) == SweepResult(1, 0, 1)
    # Warned: the ticket is next claimed when its first response falls due.
    assert await sweep(app.state.db, start + timedelta(minutes=50)) == SweepResult()
    assert await marker_events(conn, [ident]) == [
        (ident, "at_risk", "first_response", start + timedelta(minutes=45))
    ]
    assert [
        (kind, assignee, due) for _, kind, _, assignee, due in await sla_tasks(conn, [ident])
    ] == [("sla_at_risk", desk.agent.id, start + HOUR)]
    read = (await client.get(f"/api/v1/tickets/{ident}", headers=desk.agent.headers)).json()
    assert read["sla_status"] == "at_risk"
    assert (await audit_actions(conn, ticket)).count("ticket.sla_at_risk") == 1


async def test_an_unassigned_breach_goes_to_the_manager_of_the_customer_owners_team(
    client, app, conn, settings, desk, frozen
):
    team, manager = await make_managed_team(conn, settings)
    owner = await make_user(conn, settings, role=Role.rep, team_id=team)
    customer_id = await make_customer(conn, owner_id=owner.id)
    unassigned = await open_ticket(client, desk.agent, customer_id)
    # An assignee with no team manager of their own: the owner's manager again.
    loner = await make_user(conn, settings, role=Role.support_agent)
    lone = await open_ticket(client, desk.agent, customer_id, assignee_id=str(loner.id))
    # Neither the assignee nor the desk customer's owner has a manager: the pool.
    pooled = await open_ticket(client, desk.agent, desk.customer_id)
    await sweep(app.state.db, frozen.at + 2 * HOUR)
    for ticket, escalated_to in ((unassigned, manager.id), (lone, manager.id), (pooled, None)):
        [(_, kind, _, assignee, _)] = await sla_tasks(conn, [uuid.UUID(ticket["id"])])
        assert (kind, assignee) == ("sla_escalation", escalated_to)


OFFICE = business_hours(
    name="berlin-office",
    version="berlin-office-v1",
    time_zone="Europe/Berlin",
    windows=((time(9), time(12)), (time(13), time(18))),
)
OFFICE_HOURS = SlaPolicy(
    version="office-hours-v1",
    name="Business hours: respond in 1 h, resolve in 8 h",
    first_response=timedelta(hours=1),
    resolution=timedelta(hours=8),
    calendar_name="berlin-office",
)


@pytest.fixture
def office_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new ticket on business hours in Berlin."""
    office_set = SlaPolicySet(version="office-set-v1", default=OFFICE_HOURS)
    registry = build_registry([DEFAULT_SLA_POLICY_SET, office_set], [TWENTY_FOUR_SEVEN, OFFICE])
    monkeypatch.setattr("app.tickets.policy.REGISTRY", registry)


async def test_a_business_hours_warning_is_recorded_at_its_real_at_risk_instant(
    client, app, conn, desk, frozen, office_hours
):
    # Opened Friday 11:00 in Berlin and answered at once: 6 of its 8 business hours are
    # used at Friday's closing, 18:00; it is due on Monday at 11:00, 65 real hours later.
    frozen.at = datetime(2025, 6, 6, 9, tzinfo=UTC)
    friday_18, monday_11 = datetime(2025, 6, 6, 16, tzinfo=UTC), datetime(2025, 6, 9, 9, tzinfo=UTC)
    ticket = await open_ticket(client, desk.agent, desk.customer_id, assignee_id=str(desk.agent.id))
    ticket = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "On it"})
    assert instant(ticket["resolution_due_at"]) == monday_11
    url = f"/api/v1/tickets/{ticket['id']}"

    frozen.at = friday_18 - timedelta(seconds=1)
    assert await sweep(app.state.db, frozen.at) == SweepResult()
    assert (await client.get(url, headers=desk.agent.headers)).json()["sla_status"] == "on_track"
    frozen.at = friday_18
    assert (await client.get(url, headers=desk.agent.headers)).json()["sla_status"] == "at_risk"
    assert await sweep(app.state.db, frozen.at) == SweepResult(1, 0, 1)
    ident = uuid.UUID(ticket["id"])
    assert await marker_events(conn, [ident]) == [(ident, "at_risk", "resolution", friday_18)]
    assert [(kind, due) for _, kind, _, _, due in await sla_tasks(conn, [ident])] == [
        ("sla_at_risk", monday_11)
    ]


async def test_clocks_that_do_not_run_are_not_swept(client, app, conn, desk, frozen):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    ticket = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hi"})
    await act(client, desk.agent, ticket, "pause")
    result = await sweep(app.state.db, frozen.at + timedelta(days=30))
    assert result == SweepResult(0, 0, 0)


async def test_one_sweep_covers_every_due_ticket_batch_after_batch(client, app, conn, desk, frozen):
    ids = [
        uuid.UUID((await open_ticket(client, desk.agent, desk.customer_id))["id"]) for _ in range(5)
    ]
    result = await sweep(app.state.db, frozen.at + 2 * HOUR, batch=2)
    assert (result.examined, result.breaches) == (5, 5)
    assert len(await marker_events(conn, ids)) == 5


# --- two sweepers at once, on committed rows ------------------------------------------------


async def _committed_desk(engine: AsyncEngine, settings, count: int):  # type: ignore[no-untyped-def]
    """A team, its manager and agent, a customer and `count` tickets opened 30 min ago."""
    async with engine.begin() as conn:
        team = await make_team(conn)
        manager = await make_user(conn, settings, role=Role.manager, team_id=team)
        await conn.execute(
            Team.__table__.update().where(Team.__table__.c.id == team).values(manager_id=manager.id)  # type: ignore[attr-defined]
        )
        agent = await make_user(conn, settings, role=Role.support_agent, team_id=team)
        customer_id = await make_customer(conn, owner_id=None)
        principal = Principal("user", agent.id, "Agent", Role.support_agent, team)
        reported_at = utcnow() - timedelta(minutes=30)
        ids = []
        for number in range(count):
            data = TicketCreate(
                subject=f"Concurrent {number}",
                type="hardware_fault",
                customer_id=customer_id,
                assignee_id=agent.id,
                reported_at=reported_at,
            )
            ids.append((await open_ticket_directly(conn, principal, data))["id"])
    return team, [manager.id, agent.id], customer_id, ids, reported_at


async def _delete(engine: AsyncEngine, team, users, customer_id, ids) -> None:  # type: ignore[no-untyped-def]
    audit = AuditEntry.__table__  # type: ignore[attr-defined]
    teams, people = Team.__table__, User.__table__  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(tasks_table.delete().where(tasks_table.c.related_id.in_(ids)))
        await conn.execute(audit.delete().where(audit.c.entity_id.in_(ids)))
        await conn.execute(tickets_table.delete().where(tickets_table.c.id.in_(ids)))
        await conn.execute(
            Customer.__table__.delete().where(Customer.__table__.c.id == customer_id)
        )  # type: ignore[attr-defined]
        await conn.execute(teams.update().where(teams.c.id == team).values(manager_id=None))
        await conn.execute(people.delete().where(people.c.id.in_(users)))
        await conn.execute(teams.delete().where(teams.c.id == team))


async def test_two_concurrent_sweepers_escalate_each_breach_exactly_once(engine, backend, settings):
    if backend != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) need PostgreSQL")
    count = 24
    team, users, customer_id, ids, reported_at = await _committed_desk(engine, settings, count)
    manager_id, agent_id = users
    try:
        # 50 min into the first hour: every first response is at risk, none due yet.
        warned = await asyncio.gather(
            *(sweep(engine, reported_at + timedelta(minutes=50), batch=3) for _ in range(2))
        )
        # 70 min: every first response is overdue.
        breached = await asyncio.gather(
            *(sweep(engine, reported_at + timedelta(minutes=70), batch=3) for _ in range(2))
        )
        assert sum(r.warnings for r in warned) == count
        assert sum(r.breaches for r in breached) == count
        assert all(r.breaches > 0 for r in breached), "both sweepers should have shared the work"

        async with engine.connect() as conn:
            markers = await marker_events(conn, ids)
            tasks = await sla_tasks(conn, ids)
            levels = (
                (
                    await conn.execute(
                        sa.select(tickets_table.c.escalation_level).where(
                            tickets_table.c.id.in_(ids)
                        )
                    )
                )
                .scalars()
                .all()
            )
        due = reported_at + HOUR
        expected_markers = sorted(
            [(i, "at_risk", "first_response", reported_at + timedelta(minutes=45)) for i in ids]
            + [(i, "breached", "first_response", due) for i in ids]
        )
        assert sorted(markers) == expected_markers
        escalated_at = reported_at + timedelta(minutes=70)
        expected_tasks = sorted(
            [(i, "sla_at_risk", f"sla_at_risk:{i}:first_response", agent_id, due) for i in ids]
            + [
                (
                    i,
                    "sla_escalation",
                    f"sla_escalation:{i}:first_response",
                    manager_id,
                    escalated_at,
                )
                for i in ids
            ]
        )
        assert sorted(tasks) == expected_tasks
        assert levels == [1] * count
    finally:
        await _delete(engine, team, users, customer_id, ids)

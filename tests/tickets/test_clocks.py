"""SLA clocks through the API, to the second: boundaries, pauses, reopening, retargeting."""

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.core.enums import CustomerTier, TicketPriority
from app.models import AuditEntry, Task
from app.rules.calendar import TWENTY_FOUR_SEVEN, business_hours
from app.rules.sla import (
    DEFAULT_SLA_POLICY,
    DEFAULT_SLA_POLICY_SET,
    SlaPolicy,
    SlaPolicySet,
    SlaRule,
)
from app.rules.sla_registry import build_registry
from app.tickets.sweeper import sweep
from tests.factories import make_customer
from tests.tickets.helpers import act, audit_actions, instant, open_ticket

TICKETS = "/api/v1/tickets"
HOUR = timedelta(hours=1)


async def read(client, actor, ticket):  # type: ignore[no-untyped-def]
    response = await client.get(f"{TICKETS}/{ticket['id']}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def sla_events(client, actor, ticket) -> list[tuple[str, str | None, datetime]]:  # type: ignore[no-untyped-def]
    sla = (await client.get(f"{TICKETS}/{ticket['id']}/sla", headers=actor.headers)).json()
    return [(e["kind"], e["clock"], instant(e["at"])) for e in sla["events"]]


async def escalations(conn, ticket) -> list[tuple[str, uuid.UUID | None]]:  # type: ignore[no-untyped-def]
    tasks = Task.__table__  # type: ignore[attr-defined]
    statement = sa.select(tasks.c.dedupe_key, tasks.c.assignee_id).where(
        tasks.c.related_id == uuid.UUID(ticket["id"]), tasks.c.kind == "sla_escalation"
    )
    return [(key, assignee) for key, assignee in (await conn.execute(statement)).all()]


# --- the first-response boundary ------------------------------------------------------------


async def test_first_response_is_not_breached_at_59_59_and_is_at_one_hour(
    client, app, desk, frozen
):
    reported = frozen.at - timedelta(minutes=59, seconds=59)
    ticket = await open_ticket(client, desk.agent, desk.customer_id, reported_at=reported)
    due = reported + HOUR
    assert instant(ticket["first_response_due_at"]) == due
    assert ticket["sla_status"] == "at_risk"
    assert (await sweep(app.state.db, frozen.at)).breaches == 0
    assert (await read(client, desk.agent, ticket))["sla_status"] == "at_risk"

    frozen.advance(seconds=1)
    # Due now: reads say so before any sweeper has looked.
    assert (await read(client, desk.agent, ticket))["sla_status"] == "breached"
    assert (await sweep(app.state.db, frozen.at)).breaches == 1
    swept = await read(client, desk.agent, ticket)
    assert (swept["sla_status"], swept["escalation_level"]) == ("breached", 1)
    assert ("breached", "first_response", due) in await sla_events(client, desk.agent, ticket)


async def test_an_imported_ticket_an_hour_old_is_breached_at_its_due_time(
    client, app, conn, desk, frozen
):
    reported = frozen.at - HOUR
    ticket = await open_ticket(client, desk.agent, desk.customer_id, reported_at=reported)
    assert (ticket["sla_status"], ticket["escalation_level"]) == ("breached", 1)
    events = await sla_events(client, desk.agent, ticket)
    assert [e for e in events if e[0] == "breached"] == [("breached", "first_response", frozen.at)]
    assert await audit_actions(conn, ticket) == ["ticket.created", "ticket.sla_breached"]
    # Recorded once: a later sweep finds it on record and escalates nothing again.
    frozen.advance(minutes=10)
    assert (await sweep(app.state.db, frozen.at)).breaches == 0
    assert (await read(client, desk.agent, ticket))["escalation_level"] == 1
    assert len(await escalations(conn, ticket)) == 1
    assert (await audit_actions(conn, ticket)).count("ticket.sla_breached") == 1


async def test_a_late_response_records_the_breach_at_the_due_time_and_escalates(
    client, app, conn, desk, frozen
):
    assigned = await open_ticket(
        client, desk.agent, desk.customer_id, assignee_id=str(desk.agent.id)
    )
    start = frozen.at
    frozen.advance(hours=1, seconds=1)
    answered = await act(client, desk.agent, assigned, "respond", {"public": True, "body": "Hi"})
    assert (answered["status"], answered["escalation_level"]) == ("open", 1)
    assert (answered["sla_status"], instant(answered["first_responded_at"])) == (
        "breached",
        frozen.at,
    )
    events = await sla_events(client, desk.agent, assigned)
    assert events[1:] == [
        ("first_response", "first_response", frozen.at),
        ("breached", "first_response", start + HOUR),
    ]
    assert await escalations(conn, assigned) == [
        (f"sla_escalation:{assigned['id']}:first_response", desk.manager.id)
    ]
    assert await audit_actions(conn, assigned) == [
        "ticket.created",
        "ticket.respond",
        "ticket.sla_breached",
    ]
    # The sweeper finds the breach on record: neither escalated nor audited again.
    assert (await sweep(app.state.db, frozen.at + HOUR)).breaches == 0
    assert len(await escalations(conn, assigned)) == 1
    assert (await audit_actions(conn, assigned)).count("ticket.sla_breached") == 1


async def test_a_breach_the_sweeper_recorded_is_not_recorded_again_by_a_late_response(
    client, app, conn, desk, frozen
):
    ticket = await open_ticket(client, desk.agent, desk.customer_id, assignee_id=str(desk.agent.id))
    frozen.advance(hours=2)
    assert (await sweep(app.state.db, frozen.at)).breaches == 1
    ticket = await read(client, desk.agent, ticket)
    answered = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hi"})
    assert answered["escalation_level"] == 1
    assert len(await escalations(conn, ticket)) == 1
    assert (await audit_actions(conn, ticket)).count("ticket.sla_breached") == 1


async def test_a_response_exactly_at_the_due_time_meets_the_clock(client, desk, frozen):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    frozen.advance(hours=1)
    answered = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hi"})
    assert (answered["sla_status"], answered["escalation_level"]) == ("on_track", 0)
    assert ("met", "first_response", frozen.at) in await sla_events(client, desk.agent, ticket)


async def sla_status_everywhere(client, actor, ticket) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The status as the ticket, its SLA explanation and the `sla_status` filter show it."""
    sla = (await client.get(f"{TICKETS}/{ticket['id']}/sla", headers=actor.headers)).json()
    listed = {}
    for status in ("on_track", "at_risk", "breached"):
        params = {"sla_status": status, "customer_id": ticket["customer_id"]}
        page = (await client.get(TICKETS, params=params, headers=actor.headers)).json()
        listed[status] = [item["id"] for item in page["items"]]
    found = [status for status, ids in listed.items() if ticket["id"] in ids]
    return {
        "ticket": (await read(client, actor, ticket))["sla_status"],
        "sla": sla["explanation"]["sla_status"],
        "filter": found,
    }


async def test_at_risk_reads_from_its_second_on_every_endpoint_before_any_sweep(
    client, desk, frozen
):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    frozen.advance(minutes=44, seconds=59)
    on_track = {"ticket": "on_track", "sla": "on_track", "filter": ["on_track"]}
    assert await sla_status_everywhere(client, desk.agent, ticket) == on_track
    frozen.advance(seconds=1)
    at_risk = {"ticket": "at_risk", "sla": "at_risk", "filter": ["at_risk"]}
    assert await sla_status_everywhere(client, desk.agent, ticket) == at_risk
    frozen.advance(minutes=14, seconds=59)
    assert await sla_status_everywhere(client, desk.agent, ticket) == at_risk
    frozen.advance(seconds=1)
    breached = {"ticket": "breached", "sla": "breached", "filter": ["breached"]}
    assert await sla_status_everywhere(client, desk.agent, ticket) == breached


async def test_a_business_hours_clock_reads_at_risk_at_its_real_instant(
    client, desk, frozen, monkeypatch
):
    calendar = business_hours(
        name="berlin-office",
        version="berlin-office-v1",
        time_zone="Europe/Berlin",
        windows=((time(9), time(12)), (time(13), time(18))),
    )
    policy = SlaPolicy(
        version="office-hours-v1",
        name="Business hours: respond in 1 h, resolve in 8 h",
        first_response=HOUR,
        resolution=8 * HOUR,
        calendar_name=calendar.name,
    )
    registry = build_registry(
        [DEFAULT_SLA_POLICY_SET, SlaPolicySet(version="office-set-v1", default=policy)],
        [TWENTY_FOUR_SEVEN, calendar],
    )
    monkeypatch.setattr("app.tickets.policy.REGISTRY", registry)
    # Friday 17:30 in Berlin: half an hour of the response target passes before closing,
    # the next 15 minutes on Monday from 09:00.
    frozen.at = datetime(2025, 6, 6, 15, 30, tzinfo=UTC)
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    frozen.at = datetime(2025, 6, 9, 7, 14, 59, tzinfo=UTC)
    assert (await sla_status_everywhere(client, desk.agent, ticket))["ticket"] == "on_track"
    frozen.advance(seconds=1)
    at_risk = {"ticket": "at_risk", "sla": "at_risk", "filter": ["at_risk"]}
    assert await sla_status_everywhere(client, desk.agent, ticket) == at_risk


# --- who answers ----------------------------------------------------------------------------


async def test_only_a_public_response_by_an_agent_stops_the_first_response_clock(
    client, conn, desk, frozen
):
    ticket = await open_ticket(client, desk.rep, desk.customer_id)
    due = ticket["first_response_due_at"]
    frozen.advance(minutes=5)
    by_rep = await act(client, desk.rep, ticket, "respond", {"public": True, "body": "We'll call"})
    frozen.advance(minutes=5)
    note = await act(client, desk.agent, by_rep, "respond", {"public": False, "body": "Check logs"})
    for unanswered in (by_rep, note):
        assert (unanswered["status"], unanswered["first_responded_at"]) == ("new", None)
        assert (unanswered["next_due_at"], unanswered["first_response_due_at"]) == (due, due)
    frozen.advance(minutes=5)
    answered = await act(client, desk.agent, note, "respond", {"public": True, "body": "Fixed?"})
    assert (answered["status"], instant(answered["first_responded_at"])) == ("open", frozen.at)
    assert answered["next_due_at"] == answered["resolution_due_at"]
    frozen.advance(minutes=5)
    await act(client, desk.agent, answered, "respond", {"public": True, "body": "Again"})
    kinds = [kind for kind, _, _ in await sla_events(client, desk.agent, ticket)]
    assert kinds == ["started", "first_response", "met"]
    # Every response is kept, counted or not.
    audit = AuditEntry.__table__  # type: ignore[attr-defined]
    rows = await conn.execute(
        sa.select(audit.c.after)
        .where(audit.c.entity_id == uuid.UUID(ticket["id"]), audit.c.action == "ticket.respond")
        .order_by(audit.c.at)
    )
    kept = [(r["response"]["body"], r["response"]["answers_customer"]) for (r,) in rows]
    assert kept == [
        ("We'll call", False),
        ("Check logs", False),
        ("Fixed?", True),
        ("Again", True),
    ]


# --- pausing, reopening ---------------------------------------------------------------------


async def test_waiting_on_the_customer_moves_the_resolution_due_time_by_the_pause(
    client, desk, frozen
):
    start = frozen.at
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    frozen.advance(minutes=5)
    ticket = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hi"})
    assert instant(ticket["resolution_due_at"]) == start + 48 * HOUR
    frozen.advance(minutes=55)
    paused = await act(client, desk.agent, ticket, "pause")
    assert paused["status"] == "pending_customer"
    # While paused the due time moves, and nothing is due: out of the work queue.
    assert (paused["resolution_due_at"], paused["next_due_at"]) == (None, None)
    frozen.advance(hours=3)
    resumed = await act(client, desk.agent, paused, "resume")
    assert resumed["status"] == "open"
    assert instant(resumed["resolution_due_at"]) == start + 51 * HOUR
    assert instant(resumed["next_due_at"]) == start + 51 * HOUR


async def test_reopening_continues_the_resolution_clock_where_it_stopped(client, desk, frozen):
    start = frozen.at
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    frozen.advance(minutes=10)
    ticket = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hi"})
    frozen.advance(hours=9, minutes=50)
    resolved = await act(client, desk.agent, ticket, "resolve", {"resolution": "Replaced fuse"})
    assert (resolved["status"], resolved["sla_status"], resolved["next_due_at"]) == (
        "resolved",
        "met",
        None,
    )
    frozen.advance(hours=20)
    reopened = await act(client, desk.agent, resolved, "reopen", {"reason": "Fuse blew again"})
    assert (reopened["status"], reopened["resolved_at"], reopened["sla_status"]) == (
        "reopened",
        None,
        "on_track",
    )
    # 10 h were used before the resolution; 38 h remain from the reopening.
    assert instant(reopened["resolution_due_at"]) == start + 68 * HOUR
    assert instant(reopened["next_due_at"]) == start + 68 * HOUR
    answered = await act(client, desk.agent, reopened, "respond", {"public": True, "body": "Back"})
    assert answered["status"] == "open"
    assert answered["first_responded_at"] == ticket["first_responded_at"]


# --- retargeting ---------------------------------------------------------------------------

URGENT = SlaPolicy(
    version="urgent-v1",
    name="Urgent: respond in 15 min, resolve in 4 h",
    first_response=timedelta(minutes=15),
    resolution=timedelta(hours=4),
)
STRATEGIC = SlaPolicy(
    version="strategic-v1",
    name="Strategic customers: respond in 30 min, resolve in 24 h",
    first_response=timedelta(minutes=30),
    resolution=timedelta(hours=24),
)


@pytest.fixture
def tiered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy set with priority and tier rules, the default set's versions still known."""
    tightened = SlaPolicySet(
        version="sla-set-v2",
        default=DEFAULT_SLA_POLICY,
        rules=(
            *DEFAULT_SLA_POLICY_SET.rules,
            SlaRule(priority=TicketPriority.urgent, policy=URGENT),
            SlaRule(customer_tier=CustomerTier.strategic, policy=STRATEGIC),
        ),
    )
    registry = build_registry([DEFAULT_SLA_POLICY_SET, tightened], [TWENTY_FOUR_SEVEN])
    monkeypatch.setattr("app.tickets.policy.REGISTRY", registry)


async def test_a_priority_change_retargets_the_clocks_keeping_elapsed_time(
    client, desk, frozen, tiered
):
    start = frozen.at
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    frozen.advance(minutes=5)
    ticket = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hi"})
    frozen.advance(minutes=55)
    urgent = await act(client, desk.agent, ticket, "priority", {"priority": "urgent"})
    # 1 h used of the new 4 h target: due 4 h after opening, not 4 h after the change.
    assert urgent["priority"] == "urgent"
    assert instant(urgent["resolution_due_at"]) == start + 4 * HOUR
    # The answered first response keeps its settled outcome and target.
    assert instant(urgent["first_response_due_at"]) == start + HOUR
    frozen.advance(hours=1)
    normal = await act(client, desk.agent, urgent, "priority", {"priority": "normal"})
    assert instant(normal["resolution_due_at"]) == start + 48 * HOUR
    events = await sla_events(client, desk.agent, ticket)
    assert [(kind, at) for kind, _, at in events if kind == "retargeted"] == [
        ("retargeted", start + HOUR),
        ("retargeted", start + 2 * HOUR),
    ]


async def test_retargeting_below_the_time_used_is_a_breach_at_the_change(
    client, conn, desk, frozen, tiered
):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    frozen.advance(minutes=20)
    urgent = await act(client, desk.agent, ticket, "priority", {"priority": "urgent"})
    assert (urgent["sla_status"], urgent["escalation_level"]) == ("breached", 1)
    breaches = [e for e in await sla_events(client, desk.agent, ticket) if e[0] == "breached"]
    assert breaches == [("breached", "first_response", frozen.at)]
    assert len(await escalations(conn, ticket)) == 1


async def test_a_priority_change_within_the_same_policy_appends_no_event(client, desk, frozen):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    high = await act(client, desk.agent, ticket, "priority", {"priority": "high"})
    assert high["resolution_due_at"] == ticket["resolution_due_at"]
    assert [kind for kind, _, _ in await sla_events(client, desk.agent, ticket)] == ["started"]


async def test_a_type_change_to_complaint_tightens_the_clocks_keeping_elapsed_time(
    client, desk, frozen
):
    start = frozen.at
    ticket = await open_ticket(client, desk.agent, desk.customer_id, type="usage_question")
    frozen.advance(minutes=5)
    ticket = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hi"})
    frozen.advance(hours=9, minutes=55)
    complaint = await act(client, desk.agent, ticket, "type", {"type": "complaint"})
    assert (complaint["type"], complaint["queue"]) == ("complaint", "after_sales")
    assert instant(complaint["resolution_due_at"]) == start + 24 * HOUR


async def test_a_strategic_customer_gets_the_tier_policy(client, conn, desk, frozen, tiered):
    strategic = await make_customer(conn, owner_id=desk.rep.id, tier="strategic")
    overridden = await make_customer(
        conn, owner_id=desk.rep.id, tier="potential", tier_override="strategic"
    )
    for customer_id in (strategic, overridden):
        ticket = await open_ticket(client, desk.agent, customer_id)
        assert instant(ticket["first_response_due_at"]) == frozen.at + timedelta(minutes=30)
        assert instant(ticket["resolution_due_at"]) == frozen.at + 24 * HOUR


# --- the work queue and the sla_status filter ----------------------------------------------


async def test_sla_status_filter_and_the_next_due_work_queue(client, desk, frozen):
    start = frozen.at
    almost = await open_ticket(
        client, desk.agent, desk.customer_id, reported_at=start - timedelta(minutes=59)
    )
    late = await open_ticket(client, desk.agent, desk.customer_id, reported_at=start - 2 * HOUR)
    fresh = await open_ticket(client, desk.agent, desk.customer_id)
    done = await open_ticket(client, desk.agent, desk.customer_id)
    done = await act(client, desk.agent, done, "respond", {"public": True, "body": "Hi"})
    done = await act(client, desk.agent, done, "resolve", {"resolution": "Done"})
    waiting = await open_ticket(client, desk.agent, desk.customer_id)
    waiting = await act(client, desk.agent, waiting, "respond", {"public": True, "body": "Hi"})
    waiting = await act(client, desk.agent, waiting, "pause")
    await act(client, desk.agent, almost, "assign", {"assignee_id": str(desk.agent.id)})
    await act(client, desk.agent, fresh, "assign", {"assignee_id": str(desk.agent.id)})

    async def listed(**params: str) -> list[str]:
        response = await client.get(TICKETS, params=params, headers=desk.agent.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed(sla_status="breached") == [late["id"]]
    assert await listed(sla_status="at_risk") == [almost["id"]]
    assert set(await listed(sla_status="on_track")) == {fresh["id"], waiting["id"]}
    assert await listed(sla_status="met") == [done["id"]]

    queue = [late["id"], almost["id"], fresh["id"]]
    assert await listed(sort="next_due_at") == queue
    assert await listed(sort="-next_due_at") == queue[::-1]
    assert await listed(sort="next_due_at", assignee_id=str(desk.agent.id)) == queue[1:]
    paged, cursor = [], None
    while True:
        params = {"sort": "next_due_at", "limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(TICKETS, params=params, headers=desk.agent.headers)).json()
        paged += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == queue

    # One minute later the first ticket's response is overdue: no sweep needed to see it.
    frozen.advance(minutes=1)
    assert set(await listed(sla_status="breached")) == {late["id"], almost["id"]}
    assert await listed(sla_status="at_risk") == []

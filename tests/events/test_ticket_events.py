"""Every ticket change emits exactly its event, with the ticket's id and new version; a
refused one, or one that changes nothing, emits none. SLA breaches and warnings are
events of their own, once per clock, whether a request or the sweeper records them.
Driven over HTTP (the sweeper directly), read back from the feed."""

from datetime import timedelta
from typing import Any

from app.tickets.sweeper import sweep
from tests.events.feed import events_of, types_of
from tests.factories import Actor, make_customer
from tests.tickets.conftest import desk, frozen
from tests.tickets.helpers import Desk, FrozenClock, act, instant, open_ticket

__all__ = ["desk", "frozen"]

HOUR = timedelta(hours=1)


async def patch(client, actor: Actor, ticket: dict[str, Any], body: dict[str, Any]):  # type: ignore[no-untyped-def]
    headers = {**actor.headers, "If-Match": f'"{ticket["version"]}"'}
    return await client.patch(f"/api/v1/tickets/{ticket['id']}", json=body, headers=headers)


async def test_a_ticket_through_its_status_flow(client, desk: Desk, frozen: FrozenClock):
    agent = desk.agent
    ticket = await open_ticket(client, agent, desk.customer_id)
    edited = await patch(client, agent, ticket, {"channel": "email"})
    assert edited.status_code == 200, edited.text
    unchanged = await patch(client, agent, edited.json(), {"channel": "email"})
    assert unchanged.status_code == 200
    note = await act(client, agent, unchanged.json(), "respond", {"public": False, "body": "Logs?"})
    answered = await act(client, agent, note, "respond", {"public": True, "body": "On it"})
    paused = await act(client, agent, answered, "pause")
    resumed = await act(client, agent, paused, "resume")
    resolved = await act(client, agent, resumed, "resolve", {"resolution": "New head"})
    reopened = await act(client, agent, resolved, "reopen", {"reason": "Jams again"})
    again = await act(client, agent, reopened, "respond", {"public": True, "body": "Coming"})
    resolved = await act(client, agent, again, "resolve", {"resolution": "Replaced"})
    closed = await act(client, agent, resolved, "close")

    events = await events_of(client, agent, ticket["id"])
    assert [e["type"] for e in events] == [
        "ticket.created",
        "ticket.updated",
        "ticket.responded",
        "ticket.paused",
        "ticket.resumed",
        "ticket.resolved",
        "ticket.reopened",
        "ticket.responded",
        "ticket.resolved",
        "ticket.closed",
    ]
    assert {(e["record_type"], e["record_id"]) for e in events} == {("ticket", ticket["id"])}
    # Neither the unchanged PATCH nor the internal note made a version (or an event).
    assert [e["record_version"] for e in events] == list(range(1, 11))
    assert closed["version"] == 10
    created, updated, responded = events[:3]
    assert created["previous"] is None and created["data"]["status"] == "new"
    assert updated["changed_fields"] == ["channel"]
    assert (updated["previous"]["channel"], updated["data"]["channel"]) == (None, "email")
    assert (responded["previous"]["status"], responded["data"]["status"]) == ("new", "open")
    assert instant(responded["data"]["first_responded_at"]) == frozen.at
    assert "first_responded_at" in responded["changed_fields"]
    assert [e["data"]["status"] for e in events[3:]] == [
        "pending_customer",
        "open",
        "resolved",
        "reopened",
        "open",
        "resolved",
        "closed",
    ]
    assert all(e["actor_id"] == str(agent.id) and e["origin"] is None for e in events)
    assert events[-1]["data"] == closed


async def test_assignment_and_retargeting_are_events(client, settings, conn, desk: Desk, frozen):
    agent = desk.agent
    ticket = await open_ticket(client, agent, desk.customer_id)
    assigned = await act(client, agent, ticket, "assign", {"assignee_id": str(agent.id)})
    same = await act(client, agent, assigned, "assign", {"assignee_id": str(agent.id)})
    # The default policies do not depend on priority: an edit, not a retarget.
    urgent = await act(client, agent, same, "priority", {"priority": "urgent"})
    complaint = await act(client, agent, urgent, "type", {"type": "complaint"})

    events = await events_of(client, agent, ticket["id"])
    assert [e["type"] for e in events] == [
        "ticket.created",
        "ticket.assigned",
        "ticket.updated",
        "ticket.retargeted",
    ]
    moved, edited, retargeted = events[1:]
    assert (moved["previous"]["assignee_id"], moved["data"]["assignee_id"]) == (None, str(agent.id))
    assert edited["changed_fields"] == ["priority"]
    assert (retargeted["previous"]["type"], retargeted["data"]["type"]) == (
        "hardware_fault",
        "complaint",
    )
    # Complaints are stricter: a first solution within 30 minutes, not an hour.
    assert "first_response_due_at" in retargeted["changed_fields"]
    assert instant(retargeted["data"]["first_response_due_at"]) == frozen.at + HOUR / 2
    assert retargeted["data"] == complaint
    assert [e["record_version"] for e in events] == [1, 2, 3, 4]


async def test_refused_ticket_changes_emit_nothing(client, conn, desk: Desk):
    agent = desk.agent
    ticket = await open_ticket(client, agent, desk.customer_id)
    url = f"/api/v1/tickets/{ticket['id']}"
    await act(client, agent, ticket, "resolve", {"resolution": "x"}, expect=409)
    await act(client, agent, ticket, "close", expect=409)
    await act(client, agent, ticket, "respond", {"public": "yes", "body": "Hi"}, expect=422)
    await act(client, agent, ticket, "type", {"type": "feedback"}, expect=422)  # no category
    stale = {**agent.headers, "If-Match": '"7"'}
    assert (await client.patch(url, json={"channel": "chat"}, headers=stale)).status_code == 412
    other = await make_customer(conn, owner_id=None)
    hidden = await open_ticket(client, agent, other)
    refused = await client.post(f"/api/v1/tickets/{hidden['id']}/pause", headers=desk.rep.headers)
    assert refused.status_code == 404
    await act(client, desk.rep, ticket, "assign", {"assignee_id": str(agent.id)}, expect=403)
    assert await types_of(client, agent, ticket["id"]) == ["ticket.created"]
    assert await types_of(client, agent, hidden["id"]) == ["ticket.created"]


async def test_a_late_response_emits_the_breach_once(client, app, desk: Desk, frozen):
    agent = desk.agent
    ticket = await open_ticket(client, agent, desk.customer_id, assignee_id=str(agent.id))
    due = frozen.at + HOUR
    frozen.advance(hours=1, seconds=1)
    answered = await act(client, agent, ticket, "respond", {"public": True, "body": "Sorry"})
    assert (await sweep(app.state.db, frozen.at + HOUR)).breaches == 0

    events = await events_of(client, agent, ticket["id"])
    assert [e["type"] for e in events] == [
        "ticket.created",
        "ticket.responded",
        "ticket.sla_breached",
    ]
    responded, breached = events[1:]
    assert responded["actor_id"] == str(agent.id)
    # By the clock, so by no one: the service records it, dated at the due instant.
    assert (breached["actor_type"], breached["actor_id"], breached["origin"]) == (
        "system",
        None,
        "job:sla_clock",
    )
    assert instant(breached["occurred_at"]) == due
    assert breached["record_version"] == answered["version"] == 2
    assert (breached["data"]["sla_status"], breached["data"]["escalation_level"]) == ("breached", 1)
    assert breached["data"] == answered


async def test_an_imported_overdue_ticket_is_created_breached(client, desk: Desk, frozen):
    ticket = await open_ticket(client, desk.agent, desk.customer_id, reported_at=frozen.at - HOUR)
    events = await events_of(client, desk.agent, ticket["id"])
    assert [e["type"] for e in events] == ["ticket.created", "ticket.sla_breached"]
    assert [e["record_version"] for e in events] == [1, 1]
    assert instant(events[1]["occurred_at"]) == frozen.at
    assert events[1]["previous"] is None and events[1]["data"] == ticket


async def test_the_sweeper_emits_each_breach_once_however_often_it_sweeps(
    client, app, desk: Desk, frozen
):
    agent = desk.agent
    start = frozen.at
    ticket = await open_ticket(client, agent, desk.customer_id, assignee_id=str(agent.id))
    for hours in (2, 2, 3):
        await sweep(app.state.db, start + hours * HOUR)
    events = await events_of(client, agent, ticket["id"])
    assert [e["type"] for e in events] == ["ticket.created", "ticket.sla_breached"]
    breached = events[1]
    assert (breached["actor_type"], breached["origin"]) == ("system", "job:sla_sweep")
    assert (breached["record_type"], breached["record_id"]) == ("ticket", ticket["id"])
    assert instant(breached["occurred_at"]) == start + HOUR
    assert breached["record_version"] == 2
    assert (breached["data"]["sla_status"], breached["data"]["escalation_level"]) == ("breached", 1)
    assert breached["previous"]["escalation_level"] == 0
    assert "escalation_level" in breached["changed_fields"]
    read = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers)
    assert breached["data"] == read.json()


async def test_the_sweeper_warns_once_per_clock_and_breaches_each(
    client, app, desk, frozen, monkeypatch
):
    # A batch writing what it gathered in several statements emits the same events.
    monkeypatch.setattr("app.tickets.sweeper.FLUSH_AT", 2)
    agent = desk.agent
    start = frozen.at
    tickets = [
        await open_ticket(client, agent, desk.customer_id, assignee_id=str(agent.id))
        for _ in range(2)
    ]
    for minutes in (45, 50, 50):
        await sweep(app.state.db, start + timedelta(minutes=minutes))
    await sweep(app.state.db, start + timedelta(days=3))
    await sweep(app.state.db, start + timedelta(days=4), batch=1)
    for ticket in tickets:
        events = await events_of(client, agent, ticket["id"])
        assert [e["type"] for e in events] == [
            "ticket.created",
            "ticket.sla_at_risk",
            "ticket.sla_breached",  # the first response, due after an hour
            "ticket.sla_breached",  # the resolution, due after 48 hours
        ]
        assert [instant(e["occurred_at"]) for e in events[1:]] == [
            start + timedelta(minutes=45),
            start + HOUR,
            start + 48 * HOUR,
        ]
        assert [e["record_version"] for e in events] == [1, 2, 3, 3]
        assert {e["origin"] for e in events[1:]} == {"job:sla_sweep"}

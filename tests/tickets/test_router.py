"""The tickets API: round trip, lists, conventions, visibility and the status machine."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from app.core.enums import Role
from app.models import AuditEntry, Task
from tests.factories import make_contact, make_customer, make_user
from tests.tickets.helpers import act, instant, open_ticket

TICKETS = "/api/v1/tickets"


async def test_ticket_round_trip(client, desk, frozen):
    created = await client.post(
        TICKETS,
        json={
            "subject": "  Scanner does not start  ",
            "type": "hardware_fault",
            "priority": "high",
            "customer_id": str(desk.customer_id),
            "channel": "phone",
        },
        headers=desk.agent.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"{TICKETS}/{body['id']}"
    assert created.headers["etag"] == '"1"'
    assert (body["subject"], body["status"], body["queue"]) == (
        "Scanner does not start",
        "new",
        "after_sales",
    )
    assert instant(body["reported_at"]) == frozen.at
    assert instant(body["first_response_due_at"]) == frozen.at + timedelta(hours=1)
    assert instant(body["resolution_due_at"]) == frozen.at + timedelta(hours=48)
    assert instant(body["next_due_at"]) == frozen.at + timedelta(hours=1)
    assert (body["sla_status"], body["escalation_level"]) == ("on_track", 0)

    fetched = await client.get(created.headers["location"], headers=desk.agent.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body

    patched = await client.patch(
        created.headers["location"],
        json={"description": "Since the firmware update", "channel": "email"},
        headers={**desk.agent.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["description"], patched.json()["channel"]) == (
        "Since the firmware update",
        "email",
    )
    assert patched.json()["version"] == 2


async def test_opening_a_ticket_is_audited_with_its_sla_start(client, conn, desk, frozen):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    audit = AuditEntry.__table__  # type: ignore[attr-defined]
    actions = (
        await conn.execute(
            sa.select(audit.c.action).where(audit.c.entity_id == uuid.UUID(ticket["id"]))
        )
    ).scalars()
    assert list(actions) == ["ticket.created"]
    sla = (await client.get(f"{TICKETS}/{ticket['id']}/sla", headers=desk.agent.headers)).json()
    [started] = sla["events"]
    assert (started["kind"], started["seq"], started["policy_version"]) == (
        "started",
        1,
        "default-v1",
    )
    assert started["payload"] == {
        "type": "hardware_fault",
        "priority": "normal",
        "customer_tier": "potential",
    }


async def test_feedback_is_routed_by_category(client, desk):
    queues = {}
    for category in ("product", "service", "process"):
        ticket = await open_ticket(
            client, desk.agent, desk.customer_id, type="feedback", category=category
        )
        queues[category] = ticket["queue"]
    assert queues == {"product": "rnd", "service": "after_sales", "process": "operations"}


async def test_category_is_required_for_feedback_and_refused_for_other_types(client, desk):
    cases = [
        ({"type": "feedback"}, "category_required"),
        ({"type": "software_bug", "category": "product"}, "category_not_allowed"),
    ]
    for fields, code in cases:
        response = await client.post(
            TICKETS,
            json={"subject": "x", "customer_id": str(desk.customer_id), **fields},
            headers=desk.agent.headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {"code": code, "message": response.json()["errors"][0]["message"], "field": "category"}
        ]


async def test_a_type_change_to_feedback_reroutes_the_ticket(client, desk):
    ticket = await open_ticket(client, desk.agent, desk.customer_id, type="usage_question")
    refused = await act(client, desk.agent, ticket, "type", {"type": "feedback"}, expect=422)
    assert refused["errors"][0]["code"] == "category_required"
    moved = await act(
        client, desk.agent, ticket, "type", {"type": "feedback", "category": "product"}
    )
    assert (moved["type"], moved["category"], moved["queue"]) == ("feedback", "product", "rnd")


async def test_reported_at_in_the_future_or_without_zone_is_422(client, desk, frozen):
    future = await client.post(
        TICKETS,
        json={
            "subject": "x",
            "type": "usage_question",
            "customer_id": str(desk.customer_id),
            "reported_at": (frozen.at + timedelta(seconds=1)).isoformat(),
        },
        headers=desk.agent.headers,
    )
    assert future.status_code == 422
    assert future.json()["errors"][0]["code"] == "reported_at_in_future"
    assert future.json()["errors"][0]["field"] == "reported_at"
    naive = await client.post(
        TICKETS,
        json={
            "subject": "x",
            "type": "usage_question",
            "customer_id": str(desk.customer_id),
            "reported_at": "2026-01-01T09:00:00",
        },
        headers=desk.agent.headers,
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "reported_at"


async def test_reported_at_more_than_90_days_ago_or_not_a_timestamp_string_is_422(
    client, desk, frozen
):
    base = {"subject": "x", "type": "usage_question", "customer_id": str(desk.customer_id)}

    async def opened(reported_at: object) -> httpx.Response:
        body = {**base, "reported_at": reported_at}
        return await client.post(TICKETS, json=body, headers=desk.agent.headers)

    oldest = frozen.at - timedelta(days=90)
    accepted = await opened(oldest.isoformat())
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["sla_status"] == "breached"
    for too_old in (oldest - timedelta(seconds=1), datetime(1, 1, 1, tzinfo=UTC)):
        refused = await opened(too_old.isoformat())
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert (error["code"], error["field"]) == ("reported_at_too_old", "reported_at")
    for not_a_string in (12345, "12345", 1.5e9, True, "next tuesday"):
        refused = await opened(not_a_string)
        assert refused.status_code == 422, (not_a_string, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["reported_at"]


async def test_public_must_be_a_json_boolean(client, desk):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    for not_a_boolean in ("yes", "true", 1, 0, "1"):
        refused = await act(
            client, desk.agent, ticket, "respond", {"public": not_a_boolean, "body": "Hi"}, 422
        )
        assert [e["field"] for e in refused["errors"]] == ["public"], not_a_boolean
    current = await client.get(f"{TICKETS}/{ticket['id']}", headers=desk.agent.headers)
    assert (current.json()["status"], current.json()["version"]) == ("new", 1)


async def test_references_must_exist_be_visible_and_belong_to_the_customer(
    client, conn, settings, desk
):
    other_customer = await make_customer(conn, owner_id=None)
    foreign_contact = await make_contact(conn, customer_id=other_customer)
    own_contact = await make_contact(conn, customer_id=desk.customer_id)
    inactive = await make_user(conn, settings, role=Role.support_agent, is_active=False)
    base = {"subject": "x", "type": "usage_question", "customer_id": str(desk.customer_id)}
    cases = [
        ({"customer_id": str(uuid.uuid4())}, "customer_id"),
        ({"contact_id": str(foreign_contact)}, "contact_id"),
        ({"contract_id": str(uuid.uuid4())}, "contract_id"),
        ({"assignee_id": str(inactive.id)}, "assignee_id"),
    ]
    for fields, field in cases:
        response = await client.post(TICKETS, json={**base, **fields}, headers=desk.agent.headers)
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["errors"][0]["field"] == field
    # A rep may only open tickets for customers they can see.
    hidden = await client.post(
        TICKETS, json={**base, "customer_id": str(other_customer)}, headers=desk.rep.headers
    )
    assert hidden.status_code == 422
    ticket = await open_ticket(client, desk.rep, desk.customer_id, contact_id=str(own_contact))
    patch = await client.patch(
        f"{TICKETS}/{ticket['id']}",
        json={"contact_id": str(foreign_contact)},
        headers=desk.rep.headers,
    )
    assert patch.status_code == 422
    assert patch.json()["errors"][0]["code"] == "contact_not_of_customer"


async def test_support_agents_open_tickets_for_any_customer_and_see_all(client, conn, desk):
    stranger = await make_customer(conn, owner_id=None)
    ticket = await open_ticket(client, desk.agent, stranger)
    assert ticket["customer_id"] == str(stranger)
    url = f"{TICKETS}/{ticket['id']}"
    assert (await client.get(url, headers=desk.agent.headers)).status_code == 200
    # The rep owns another customer: this ticket is not theirs to see.
    assert (await client.get(url, headers=desk.rep.headers)).status_code == 404
    listing = (await client.get(TICKETS, headers=desk.rep.headers)).json()
    assert ticket["id"] not in [item["id"] for item in listing["items"]]
    mine = await open_ticket(client, desk.agent, desk.customer_id)
    assert (
        await client.get(f"{TICKETS}/{mine['id']}", headers=desk.rep.headers)
    ).status_code == 200
    hidden_action = await client.post(f"{url}/pause", headers=desk.rep.headers)
    assert hidden_action.status_code == 404


async def test_rep_assigns_only_to_themselves_agents_to_anyone(client, conn, settings, desk):
    other_agent = await make_user(conn, settings, role=Role.support_agent)
    ticket = await open_ticket(client, desk.rep, desk.customer_id)
    refused = await client.post(
        f"{TICKETS}/{ticket['id']}/assign",
        json={"assignee_id": str(other_agent.id)},
        headers=desk.rep.headers,
    )
    assert refused.status_code == 403
    assigned = await act(client, desk.agent, ticket, "assign", {"assignee_id": str(other_agent.id)})
    assert assigned["assignee_id"] == str(other_agent.id)
    queued = await act(client, desk.agent, assigned, "assign", {"assignee_id": None})
    assert queued["assignee_id"] is None


async def test_stale_if_match_is_412_for_patch_and_actions(client, desk):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    url = f"{TICKETS}/{ticket['id']}"
    await client.patch(
        url, json={"channel": "chat"}, headers={**desk.agent.headers, "If-Match": '"1"'}
    )
    stale_patch = await client.patch(
        url, json={"channel": "phone"}, headers={**desk.agent.headers, "If-Match": '"1"'}
    )
    assert stale_patch.status_code == 412
    assert stale_patch.headers["content-type"] == "application/problem+json"
    stale_action = await client.post(
        f"{url}/respond",
        json={"public": True, "body": "On it"},
        headers={**desk.agent.headers, "If-Match": '"1"'},
    )
    assert stale_action.status_code == 412
    current = (await client.get(url, headers=desk.agent.headers)).json()
    assert (current["channel"], current["status"], current["version"]) == ("chat", "new", 2)


async def test_idempotency_key_replays_create_and_actions(client, conn, desk):
    headers = {**desk.agent.headers, "Idempotency-Key": "ticket-1"}
    body = {"subject": "Once", "type": "usage_question", "customer_id": str(desk.customer_id)}
    first = await client.post(TICKETS, json=body, headers=headers)
    again = await client.post(TICKETS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listing = (
        await client.get(TICKETS, params={"customer_id": str(desk.customer_id)}, headers=headers)
    ).json()
    assert [item["id"] for item in listing["items"]] == [first.json()["id"]]
    different = await client.post(TICKETS, json={**body, "subject": "Twice"}, headers=headers)
    assert different.status_code == 422

    respond_headers = {**desk.agent.headers, "Idempotency-Key": "respond-1", "If-Match": '"1"'}
    url = f"{TICKETS}/{first.json()['id']}/respond"
    answered = await client.post(url, json={"public": True, "body": "Hi"}, headers=respond_headers)
    retried = await client.post(url, json={"public": True, "body": "Hi"}, headers=respond_headers)
    assert answered.status_code == retried.status_code == 200
    assert retried.json() == answered.json()
    audit = AuditEntry.__table__  # type: ignore[attr-defined]
    responses = await conn.scalar(
        sa.select(sa.func.count()).where(
            audit.c.entity_id == uuid.UUID(first.json()["id"]), audit.c.action == "ticket.respond"
        )
    )
    assert responses == 1


async def test_status_machine_refuses_illegal_moves_with_the_current_status(client, desk):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    refused = await act(client, desk.agent, ticket, "resolve", {"resolution": "x"}, expect=409)
    assert refused["errors"][0]["code"] == "ticket_is_new"
    assert (await act(client, desk.agent, ticket, "close", expect=409))["errors"][0]["code"] == (
        "ticket_is_new"
    )
    opened = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Hello"})
    assert opened["status"] == "open"
    assert (await act(client, desk.agent, opened, "resume", expect=409))["errors"][0]["code"] == (
        "ticket_is_open"
    )
    resolved = await act(client, desk.agent, opened, "resolve", {"resolution": "Replaced"})
    closed = await act(client, desk.agent, resolved, "close")
    assert (closed["status"], instant(closed["closed_at"]) is not None) == ("closed", True)
    for action, body in [("reopen", {"reason": "again"}), ("priority", {"priority": "high"})]:
        answer = await act(client, desk.agent, closed, action, body, expect=409)
        assert answer["errors"][0]["code"] == "ticket_is_closed"
    frozen_patch = await client.patch(
        f"{TICKETS}/{ticket['id']}", json={"channel": "x"}, headers=desk.agent.headers
    )
    assert frozen_patch.status_code == 409


async def test_patch_refuses_state_fields_and_names_the_action(client, desk):
    ticket = await open_ticket(client, desk.agent, desk.customer_id)
    for field, action in [
        ("status", "respond"),
        ("priority", "/priority"),
        ("assignee_id", "/assign"),
    ]:
        response = await client.patch(
            f"{TICKETS}/{ticket['id']}", json={field: "x"}, headers=desk.agent.headers
        )
        assert response.status_code == 422
        assert action in response.text


async def test_bad_inputs_are_problems_not_500s(client, desk):
    cases = [
        ("get", f"{TICKETS}/not-a-uuid", None, 400),
        ("get", f"{TICKETS}/{uuid.uuid4()}", None, 404),
        ("get", f"{TICKETS}?sla_status=late", None, 422),
        ("get", f"{TICKETS}?sort=subject", None, 422),
        ("get", f"{TICKETS}?cursor=garbage", None, 400),
        ("get", f"{TICKETS}?created_after=yesterday", None, 422),
        ("get", f"{TICKETS}?asignee_id={uuid.uuid4()}", None, 400),
        ("post", TICKETS, {"subject": "", "type": "usage_question"}, 422),
        (
            "post",
            TICKETS,
            {"subject": "x", "type": "rumour", "customer_id": str(uuid.uuid4())},
            422,
        ),
        ("post", f"{TICKETS}/{uuid.uuid4()}/respond", {"public": True, "body": "x"}, 404),
        ("post", f"{TICKETS}/{uuid.uuid4()}/respond", {"body": "x"}, 422),
    ]
    for method, url, body, status in cases:
        kwargs = {"json": body} if body is not None else {}
        response = await getattr(client, method)(url, headers=desk.agent.headers, **kwargs)
        assert response.status_code == status, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_list_filters(client, desk, frozen):
    bug = await open_ticket(client, desk.agent, desk.customer_id, type="software_bug")
    question = await open_ticket(
        client, desk.agent, desk.customer_id, type="usage_question", priority="urgent"
    )
    assigned = await act(
        client, desk.agent, question, "assign", {"assignee_id": str(desk.agent.id)}
    )
    feedback = await open_ticket(
        client, desk.agent, desk.customer_id, type="feedback", category="process"
    )

    async def ids(**params: str) -> set[str]:
        params = {"customer_id": str(desk.customer_id), **params}
        page = await client.get(TICKETS, params=params, headers=desk.agent.headers)
        assert page.status_code == 200, page.text
        return {item["id"] for item in page.json()["items"]}

    assert await ids(type="software_bug") == {bug["id"]}
    assert await ids(priority="urgent") == {assigned["id"]}
    assert await ids(assignee_id=str(desk.agent.id)) == {assigned["id"]}
    assert await ids(queue="operations") == {feedback["id"]}
    assert await ids(status="new") == {bug["id"], assigned["id"], feedback["id"]}
    assert await ids(status="open") == set()
    assert await ids(created_after=(frozen.at + timedelta(days=1)).isoformat()) == set()


async def test_cursor_pages_cover_every_ticket_once(client, desk):
    created = {(await open_ticket(client, desk.agent, desk.customer_id))["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, "customer_id": str(desk.customer_id)} | (
            {"cursor": cursor} if cursor else {}
        )
        page = (await client.get(TICKETS, params=params, headers=desk.agent.headers)).json()
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


async def test_resolving_a_complaint_schedules_the_follow_up_call(client, conn, desk, frozen):
    ticket = await open_ticket(client, desk.agent, desk.customer_id, type="complaint")
    assert instant(ticket["first_response_due_at"]) == frozen.at + timedelta(minutes=30)
    assert instant(ticket["resolution_due_at"]) == frozen.at + timedelta(hours=24)
    ticket = await act(client, desk.agent, ticket, "respond", {"public": True, "body": "Sorry"})
    frozen.advance(hours=5)
    await act(client, desk.agent, ticket, "resolve", {"resolution": "Refunded"})
    tasks = Task.__table__  # type: ignore[attr-defined]
    rows = (
        await conn.execute(
            sa.select(tasks.c.kind, tasks.c.due_at, tasks.c.assignee_id).where(
                tasks.c.related_id == uuid.UUID(ticket["id"])
            )
        )
    ).all()
    assert [(kind, due, assignee) for kind, due, assignee in rows] == [
        ("complaint_follow_up", frozen.at + timedelta(hours=72), desk.agent.id)
    ]
    plain = await open_ticket(client, desk.agent, desk.customer_id)
    plain = await act(client, desk.agent, plain, "respond", {"public": True, "body": "Hi"})
    await act(client, desk.agent, plain, "resolve", {"resolution": "Done"})
    none = await conn.scalar(
        sa.select(sa.func.count()).where(tasks.c.related_id == uuid.UUID(plain["id"]))
    )
    assert none == 0

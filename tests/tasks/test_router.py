import uuid
from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.core.enums import Role
from tests.factories import (
    make_customer,
    make_deal,
    make_lead,
    make_task,
    make_team,
    make_user,
)


@pytest.fixture
async def team(conn):
    return await make_team(conn)


@pytest.fixture
async def rep(conn, settings, team):
    return await make_user(conn, settings, role=Role.rep, team_id=team)


@pytest.fixture
async def manager(conn, settings, team):
    return await make_user(conn, settings, role=Role.manager, team_id=team)


async def test_task_round_trip_about_a_visible_record(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id)
    created = await client.post(
        "/api/v1/tasks",
        json={
            "title": "Send the revised layout",
            "due_at": "2027-01-05T09:00:00+08:00",
            "related_type": "deal",
            "related_id": str(deal_id),
        },
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["assignee_id"] == str(rep.id)
    assert task["kind"] == "general"
    assert task["status"] == "open"
    assert task["due_at"] == "2027-01-05T01:00:00Z"
    assert created.headers["location"] == f"/api/v1/tasks/{task['id']}"
    assert (await client.get(created.headers["location"], headers=rep.headers)).json() == task

    patched = await client.patch(
        created.headers["location"],
        json={"title": "Send the final layout", "due_at": None},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Send the final layout"
    assert patched.json()["due_at"] is None
    assert patched.headers["etag"] == '"2"'


async def test_related_record_must_exist_and_be_visible(client, conn, settings, rep):
    stranger = await make_user(conn, settings, role=Role.rep)
    hidden_lead = await make_lead(conn, owner_id=stranger.id)
    hidden_customer = await make_customer(conn, owner_id=stranger.id)
    for related_type, related_id in [
        ("lead", hidden_lead),
        ("customer", hidden_customer),
        ("quote", uuid.uuid4()),
    ]:
        response = await client.post(
            "/api/v1/tasks",
            json={"title": "x", "related_type": related_type, "related_id": str(related_id)},
            headers=rep.headers,
        )
        assert response.status_code == 422, related_type
        assert response.json()["errors"][0]["field"] == "related_id"
    half = await client.post(
        "/api/v1/tasks", json={"title": "x", "related_type": "lead"}, headers=rep.headers
    )
    assert half.status_code == 422


async def test_support_agent_cannot_hang_a_task_on_a_deal(client, conn, settings, rep):
    agent = await make_user(conn, settings, role=Role.support_agent)
    deal_id = await make_deal(conn, owner_id=agent.id)
    response = await client.post(
        "/api/v1/tasks",
        json={"title": "x", "related_type": "deal", "related_id": str(deal_id)},
        headers=agent.headers,
    )
    assert response.status_code == 422


async def test_assignment_rules(client, conn, rep, manager):
    given = await client.post(
        "/api/v1/tasks",
        json={"title": "Visit", "assignee_id": str(rep.id)},
        headers=manager.headers,
    )
    assert given.status_code == 201
    assert given.json()["assignee_id"] == str(rep.id)
    refused = await client.post(
        "/api/v1/tasks",
        json={"title": "Yours", "assignee_id": str(manager.id)},
        headers=rep.headers,
    )
    assert refused.status_code == 403
    handoff = await client.patch(
        f"/api/v1/tasks/{given.json()['id']}",
        json={"assignee_id": str(manager.id)},
        headers=rep.headers,
    )
    assert handoff.status_code == 403
    unassign = await client.patch(
        f"/api/v1/tasks/{given.json()['id']}", json={"assignee_id": None}, headers=manager.headers
    )
    assert unassign.status_code == 422


async def test_complete_and_cancel_only_open_tasks(client, conn, rep):
    task_id = await make_task(conn, assignee_id=rep.id)
    url = f"/api/v1/tasks/{task_id}"
    stale = await client.post(f"{url}/complete", headers={**rep.headers, "If-Match": '"5"'})
    assert stale.status_code == 412
    done = await client.post(f"{url}/complete", headers={**rep.headers, "If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["completed_by"] == str(rep.id)
    assert done.json()["completed_at"] is not None
    for action in ("complete", "cancel"):
        again = await client.post(f"{url}/{action}", headers=rep.headers)
        assert again.status_code == 409
        assert again.json()["errors"][0]["code"] == "task_not_open"
    edit = await client.patch(url, json={"title": "late edit"}, headers=rep.headers)
    assert edit.status_code == 409

    other = await make_task(conn, assignee_id=rep.id)
    cancelled = await client.post(f"/api/v1/tasks/{other}/cancel", headers=rep.headers)
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["completed_at"] is None


async def test_patch_refuses_status_and_names_the_actions(client, conn, rep):
    task_id = await make_task(conn, assignee_id=rep.id)
    response = await client.patch(
        f"/api/v1/tasks/{task_id}", json={"status": "done"}, headers=rep.headers
    )
    assert response.status_code == 422
    assert "/complete" in response.text


async def test_visibility_own_tasks_and_the_managers_team(client, conn, settings, rep, manager):
    task_id = await make_task(conn, assignee_id=rep.id)
    peer = await make_user(conn, settings, role=Role.rep, team_id=rep.team_id)
    outsider = await make_user(conn, settings, role=Role.manager, team_id=await make_team(conn))
    url = f"/api/v1/tasks/{task_id}"
    assert (await client.get(url, headers=rep.headers)).status_code == 200
    assert (await client.get(url, headers=manager.headers)).status_code == 200
    assert (await client.get(url, headers=peer.headers)).status_code == 404
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    assert (await client.post(f"{url}/complete", headers=peer.headers)).status_code == 404
    assert (await client.get("/api/v1/tasks", headers=peer.headers)).json()["items"] == []


async def test_list_filters(client, conn, rep):
    now = utcnow()
    deal_id = await make_deal(conn, owner_id=rep.id)
    late = await make_task(conn, assignee_id=rep.id, due_at=now - timedelta(hours=1))
    soon = await make_task(
        conn,
        assignee_id=rep.id,
        due_at=now + timedelta(days=1),
        kind="renewal",
        related_type="deal",
        related_id=deal_id,
    )
    undated = await make_task(conn, assignee_id=rep.id)
    late_but_done = await make_task(
        conn, assignee_id=rep.id, due_at=now - timedelta(days=2), status="done"
    )

    async def ids(query: str) -> set[uuid.UUID]:
        response = await client.get(f"/api/v1/tasks?{query}", headers=rep.headers)
        assert response.status_code == 200, response.text
        return {uuid.UUID(t["id"]) for t in response.json()["items"]}

    assert await ids("overdue=true") == {late}
    assert await ids("overdue=false") == {soon, undated, late_but_done}
    assert await ids("status=open") == {late, soon, undated}
    assert await ids("kind=renewal") == {soon}
    assert await ids(f"related_type=deal&related_id={deal_id}") == {soon}
    assert await ids(f"assignee_id={rep.id}") == {late, soon, undated, late_but_done}
    cut = now.isoformat().replace("+00:00", "Z")
    assert await ids(f"due_before={cut}") == {late, late_but_done}
    assert await ids(f"due_after={cut}") == {soon}
    half = await client.get(f"/api/v1/tasks?related_id={deal_id}", headers=rep.headers)
    assert half.status_code == 422


async def test_keyset_pages_cover_every_task_once(client, conn, rep):
    for _ in range(5):
        await make_task(conn, assignee_id=rep.id)
    for sort in ("created_at", "-created_at", "updated_at"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/tasks", params=params, headers=rep.headers)).json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 5, sort


async def test_idempotent_create(client, rep):
    headers = {**rep.headers, "Idempotency-Key": "task-1"}
    first = await client.post("/api/v1/tasks", json={"title": "Call"}, headers=headers)
    again = await client.post("/api/v1/tasks", json={"title": "Call"}, headers=headers)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listing = (await client.get("/api/v1/tasks", headers=rep.headers)).json()
    assert len(listing["items"]) == 1
    other = await client.post("/api/v1/tasks", json={"title": "Visit"}, headers=headers)
    assert other.status_code == 422


async def test_bad_inputs_are_problems_not_500s(client, rep):
    cases = [
        ("get", "/api/v1/tasks/nope", {}, 400),
        ("get", "/api/v1/tasks?status=later", {}, 422),
        ("get", "/api/v1/tasks?sort=due_at", {}, 422),
        ("get", "/api/v1/tasks?due_before=2026-01-01T00:00:00", {}, 422),
        ("get", "/api/v1/tasks?related_type=invoice&related_id=" + str(uuid.uuid4()), {}, 422),
        ("get", "/api/v1/tasks?overdue=perhaps", {}, 422),
        ("get", "/api/v1/tasks?assignee=me", {}, 400),
        ("post", "/api/v1/tasks", {"json": {"title": ""}}, 422),
        ("post", "/api/v1/tasks", {"json": {"title": "x", "due_at": "2026-01-01T09:00:00"}}, 422),
        ("post", "/api/v1/tasks", {"json": {"title": "x", "kind": "chore"}}, 422),
        ("post", "/api/v1/tasks", {"json": {"title": "x", "status": "done"}}, 422),
        ("post", f"/api/v1/tasks/{uuid.uuid4()}/complete", {}, 404),
    ]
    for method, url, kwargs, status in cases:
        response = await getattr(client, method)(url, headers=rep.headers, **kwargs)
        assert response.status_code == status, (url, kwargs, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_task_about_a_webhook_endpoint_is_for_the_admins(client, conn, settings, rep):
    from app.models import WebhookEndpoint
    from tests.factories import insert

    endpoint = await insert(
        conn,
        WebhookEndpoint,
        url="https://erp.example.com/hooks",
        event_types=["*"],
        enabled=False,
        status="disabled",
        secret="whsec_x",
    )
    await make_task(
        conn,
        assignee_id=None,
        kind="webhook_endpoint_disabled",
        related_type="webhook_endpoint",
        related_id=endpoint["id"],
    )
    about = {"related_type": "webhook_endpoint", "related_id": str(endpoint["id"])}
    admin = await make_user(conn, settings, role=Role.admin)
    seen = await client.get("/api/v1/tasks", params=about, headers=admin.headers)
    assert [t["kind"] for t in seen.json()["items"]] == ["webhook_endpoint_disabled"]
    hidden = await client.get("/api/v1/tasks", params=about, headers=rep.headers)
    assert hidden.status_code == 200 and hidden.json()["items"] == []

    by_hand = await client.post(
        "/api/v1/tasks", json={"title": "Call the ERP team", **about}, headers=admin.headers
    )
    assert by_hand.status_code == 201, by_hand.text
    assert by_hand.json()["related_type"] == "webhook_endpoint"
    refused = await client.post("/api/v1/tasks", json={"title": "x", **about}, headers=rep.headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "reference_not_found"
    missing = {**about, "related_id": str(uuid.uuid4())}
    unknown = await client.post(
        "/api/v1/tasks", json={"title": "x", **missing}, headers=admin.headers
    )
    assert unknown.status_code == 422

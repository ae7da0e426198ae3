"""What a request says must be heard: unknown, repeated or ignored input is refused."""

import pytest

from app.core.enums import Role
from tests.factories import make_task, make_user


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


@pytest.mark.parametrize("query", ["limit=5&limit=6", "tier=growth&tier=dormant"])
async def test_a_query_parameter_sent_twice_is_refused(client, rep, query):
    response = await client.get(f"/api/v1/customers?{query}", headers=rep.headers)
    assert response.status_code == 400, response.text
    name = query.split("=")[0]
    assert response.json()["errors"] == [
        {"code": "repeated_query_parameter", "message": f"'{name}' takes one value", "field": name}
    ]


async def test_a_body_sent_to_an_action_that_takes_none_is_refused(client, conn, rep):
    task_id = await make_task(conn, assignee_id=rep.id)
    refused = await client.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"completed_by": "someone else", "note": "done"},
        headers=rep.headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["code"] == "unexpected_body"
    task = await client.get(f"/api/v1/tasks/{task_id}", headers=rep.headers)
    assert task.json()["status"] == "open"


@pytest.mark.parametrize("body", [None, {}])
async def test_an_action_without_a_body_takes_none_or_an_empty_object(client, conn, rep, body):
    task_id = await make_task(conn, assignee_id=rep.id)
    response = await client.post(
        f"/api/v1/tasks/{task_id}/complete", json=body, headers=rep.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"

"""Problem documents: a body the API cannot read, and a long list of errors, stay readable."""

import json

import pytest

from app.core.enums import Role
from app.core.errors import MAX_PROBLEM_ERRORS
from tests.factories import PASSWORD, make_customer, make_task, make_user


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_a_json_body_sent_as_another_media_type_is_a_415(client, rep, content_type):
    headers = {**rep.headers, **({"Content-Type": content_type} if content_type else {})}
    response = await client.post(
        "/api/v1/customers", content=json.dumps({"name": "Acme"}), headers=headers
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "application/json" in response.json()["detail"]
    assert response.json()["errors"] == [
        {
            "code": "unsupported_media_type",
            "message": "expected application/json",
            "field": "Content-Type",
        }
    ]
    listing = await client.get("/api/v1/customers", headers=rep.headers)
    assert listing.json()["items"] == []


async def test_a_json_media_type_with_parameters_or_a_suffix_is_still_json(client, rep):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.post(
            "/api/v1/customers",
            content=json.dumps({"name": "Acme"}),
            headers={**rep.headers, "Content-Type": content_type},
        )
        assert response.status_code == 201, (content_type, response.text)


async def test_the_415_comes_after_authentication(client):
    response = await client.post(
        "/api/v1/customers", content='{"name": "Acme"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 401, response.text


async def test_forms_and_bodiless_requests_are_unaffected(client, conn, rep):
    login = await client.post(
        "/api/v1/auth/token", data={"username": rep.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    task_id = await make_task(conn, assignee_id=rep.id)
    done = await client.post(
        f"/api/v1/tasks/{task_id}/complete", headers={**rep.headers, "Content-Type": "text/plain"}
    )
    assert done.status_code == 200, done.text
    missing = await client.post(
        "/api/v1/customers", headers={**rep.headers, "Content-Type": "text/plain"}
    )
    assert missing.status_code == 422, missing.text


async def test_a_problem_lists_at_most_so_many_errors_and_counts_the_rest(client, rep):
    unknown = {f"field_{n:05}": 1 for n in range(50_000)}
    response = await client.post(
        "/api/v1/customers", json={"name": "Acme", **unknown}, headers=rep.headers
    )
    assert response.status_code == 422
    body = response.json()
    omitted = 50_000 - MAX_PROBLEM_ERRORS
    assert len(body["errors"]) == MAX_PROBLEM_ERRORS
    assert body["errors"][0] == {
        "code": "extra_forbidden",
        "message": "Extra inputs are not permitted",
        "field": "field_00000",
    }
    assert body["errors_omitted"] == omitted
    assert f"{omitted} more" in body["detail"]
    assert "field_00099" in body["detail"] and "field_00100" not in body["detail"]
    assert len(response.content) < 20_000


async def test_a_short_list_of_errors_is_complete(client, conn, rep):
    customer_id = await make_customer(conn, owner_id=rep.id)
    response = await client.patch(
        f"/api/v1/customers/{customer_id}", json={"bogus": 1, "other": 2}, headers=rep.headers
    )
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 2
    assert "errors_omitted" not in response.json()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/leads", "GET, POST"),
        ("DELETE", "/api/v1/leads", "GET, POST"),
        ("PUT", "/api/v1/customers/0190a0a0-0000-7000-8000-000000000000", "GET, PATCH, DELETE"),
        ("GET", "/api/v1/tasks/0190a0a0-0000-7000-8000-000000000000/complete", "POST"),
    ],
)
async def test_a_405_lists_every_method_the_path_serves(client, rep, method, path, allowed):
    response = await client.request(method, path, headers=rep.headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/method-not-allowed")

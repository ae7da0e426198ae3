"""What a request says must be heard: unknown, repeated or ignored input is refused."""

import uuid

import pytest

from app.core.enums import Role
from tests.factories import make_customer, make_task, make_user


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


def _task_writes(task_id):
    """A PATCH and an action on one task (DELETE is tried on a customer below)."""
    return [
        ("PATCH", f"/api/v1/tasks/{task_id}", {"title": "Renamed"}),
        ("POST", f"/api/v1/tasks/{task_id}/complete", None),
    ]


# Sent as bytes: a server reads header bytes as Latin-1, so b"\xb2" arrives as "²".
SUPERSCRIPT_TWO = '"²"'.encode("latin-1")
MALFORMED_IF_MATCH = [SUPERSCRIPT_TWO, '"' + "9" * 4400 + '"', "abc", '"abc"', '"1', "", '"1", "x"']


@pytest.mark.parametrize("if_match", MALFORMED_IF_MATCH)
async def test_a_malformed_if_match_is_a_400_naming_the_header(client, conn, rep, if_match):
    task_id = await make_task(conn, assignee_id=rep.id)
    for method, url, body in _task_writes(task_id):
        response = await client.request(
            method, url, json=body, headers={**rep.headers, "If-Match": if_match}
        )
        assert response.status_code == 400, (method, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
            ("invalid_if_match", "If-Match")
        ]
        assert len(response.json()["detail"]) < 300
    task = await client.get(f"/api/v1/tasks/{task_id}", headers=rep.headers)
    assert (task.json()["status"], task.json()["version"]) == ("open", 1)


async def test_a_malformed_if_match_on_a_delete_is_a_400(client, conn, rep):
    customer_id = await make_customer(conn, owner_id=rep.id)
    response = await client.delete(
        f"/api/v1/customers/{customer_id}", headers={**rep.headers, "If-Match": SUPERSCRIPT_TWO}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "If-Match"


@pytest.mark.parametrize("if_match", [SUPERSCRIPT_TWO, "abc", '"1"'])
async def test_without_credentials_any_if_match_is_a_401(client, conn, rep, if_match):
    task_id = await make_task(conn, assignee_id=rep.id)
    for method, url, body in _task_writes(task_id):
        response = await client.request(method, url, json=body, headers={"If-Match": if_match})
        assert response.status_code == 401, (method, response.text)


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"1"', 200),
        ("*", 200),
        ('W/"2", "1"', 200),
        ('"3", "1"', 200),
        ('"1", "4"', 200),
        ('"2"', 412),
        ('"2", "3"', 412),
        ('W/"1", "2"', 412),
        ('"' + "9" * 18 + '"', 412),
        ('W/"1"', 412),
    ],
)
async def test_a_well_formed_if_match_is_judged_against_the_version(
    client, conn, rep, if_match, status
):
    task_id = await make_task(conn, assignee_id=rep.id)
    response = await client.patch(
        f"/api/v1/tasks/{task_id}",
        json={"title": "Renamed"},
        headers={**rep.headers, "If-Match": if_match},
    )
    assert response.status_code == status, response.text
    task = await client.get(f"/api/v1/tasks/{task_id}", headers=rep.headers)
    assert (task.json()["title"] == "Renamed") is (status == 200)


async def test_a_weak_etag_names_the_reason_and_an_unknown_record_is_still_a_404(client, conn, rep):
    task_id = await make_task(conn, assignee_id=rep.id)
    weak = {**rep.headers, "If-Match": 'W/"1"'}
    response = await client.patch(f"/api/v1/tasks/{task_id}", json={"title": "X"}, headers=weak)
    assert response.status_code == 412
    assert [e["code"] for e in response.json()["errors"]] == ["weak_etag"]
    missing = await client.patch(f"/api/v1/tasks/{uuid.uuid4()}", json={"title": "X"}, headers=weak)
    assert missing.status_code == 404


@pytest.mark.parametrize("if_match", [SUPERSCRIPT_TWO, "abc", '"1", "x"', 'W/"1"', '"1", "2"'])
async def test_any_if_match_on_an_unknown_record_is_a_404(client, rep, if_match):
    for method, url, body in _task_writes(uuid.uuid4()):
        response = await client.request(
            method, url, json=body, headers={**rep.headers, "If-Match": if_match}
        )
        assert response.status_code == 404, (method, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_if_match_list_names_every_version_in_its_refusal(client, conn, rep):
    task_id = await make_task(conn, assignee_id=rep.id)
    stale = {**rep.headers, "If-Match": '"3", "2"'}
    response = await client.patch(f"/api/v1/tasks/{task_id}", json={"title": "X"}, headers=stale)
    assert response.status_code == 412
    assert "version 1, not 2, 3" in response.json()["detail"]
    assert [e["code"] for e in response.json()["errors"]] == ["stale_version"]
    fresh = {**rep.headers, "If-Match": '"2", "1"'}
    done = await client.post(f"/api/v1/tasks/{task_id}/complete", headers=fresh)
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"'

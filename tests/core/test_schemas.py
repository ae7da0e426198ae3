"""Input models: refusals name the field; money stays exact on every backend."""

import pytest

from app.core.enums import Role
from tests.factories import make_customer, make_lead, make_user


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


async def test_a_state_field_in_a_patch_is_refused_naming_the_field_and_action(client, conn, rep):
    lead_id = await make_lead(conn, owner_id=rep.id)
    response = await client.patch(
        f"/api/v1/leads/{lead_id}",
        json={"status": "qualified", "company_name": None},
        headers=rep.headers,
    )
    assert response.status_code == 422
    (item,) = response.json()["errors"]
    assert item["code"] == "state_field"
    assert item["field"] == "status"
    assert "/status" in item["message"]


async def test_null_for_a_required_field_names_the_field(client, conn, rep):
    customer_id = await make_customer(conn, owner_id=rep.id)
    response = await client.patch(
        f"/api/v1/customers/{customer_id}", json={"name": None}, headers=rep.headers
    )
    assert response.status_code == 422
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("not_nullable", "name")
    ]


@pytest.mark.parametrize("amount", ["9999999999999.99", "1234567890123.45"])
async def test_the_largest_amounts_come_back_to_the_cent(client, rep, amount):
    response = await client.post(
        "/api/v1/customers", json={"name": "Big", "annual_revenue": amount}, headers=rep.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["annual_revenue"] == amount


async def test_an_amount_beyond_fifteen_digits_is_refused(client, rep):
    response = await client.post(
        "/api/v1/customers",
        json={"name": "Bigger", "annual_revenue": "99999999999999.99"},
        headers=rep.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "annual_revenue"

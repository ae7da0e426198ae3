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


TWO_DECIMALS = r"^-?\d+\.\d{2}$"


def _response_schemas(spec):
    """Every component schema a response can contain, found by following `$ref`s."""
    components = spec["components"]["schemas"]
    pending = [
        media["schema"]
        for path in spec["paths"].values()
        for operation in path.values()
        for response in operation.get("responses", {}).values()
        for media in response.get("content", {}).values()
    ]
    seen = {}
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if ref:
                name = ref.rsplit("/", 1)[-1]
                if name not in seen:
                    seen[name] = components[name]
                    pending.append(components[name])
            pending.extend(node.values())
    return seen


def _string_forms(schema):
    """The non-null forms a property's value (or, for a mapping, each value) may take."""
    if "additionalProperties" in schema:
        return _string_forms(schema["additionalProperties"])
    if "anyOf" in schema:
        return [f for option in schema["anyOf"] for f in _string_forms(option)]
    return [] if schema.get("type") == "null" else [schema]


async def test_every_percentage_in_a_response_is_a_two_decimal_string(client):
    spec = (await client.get("/openapi.json")).json()
    percentages = {
        f"{name}.{field}": prop
        for name, schema in _response_schemas(spec).items()
        for field, prop in schema.get("properties", {}).items()
        if field.endswith("_pct") or field == "percent"
    }
    assert {"DealRead.win_probability_pct", "MilestoneRead.percent"} <= set(percentages)
    assert any(key.startswith("DealPolicy") for key in percentages)
    for key, prop in percentages.items():
        forms = _string_forms(prop)
        assert forms, key
        assert all((f.get("type"), f.get("pattern")) == ("string", TWO_DECIMALS) for f in forms), (
            key,
            prop,
        )


async def test_a_currency_must_be_an_iso_4217_code(client, conn, rep):
    made_up = await client.post(
        "/api/v1/customers", json={"name": "Zed Ltd", "currency": "ZZZ"}, headers=rep.headers
    )
    assert made_up.status_code == 422, made_up.text
    (item,) = made_up.json()["errors"]
    assert (item["code"], item["field"]) == ("unknown_currency", "currency")
    assert "ZZZ" in item["message"]
    for code in ("USD", "EUR", "CNY"):
        real = await client.post(
            "/api/v1/customers", json={"name": f"{code} Ltd", "currency": code}, headers=rep.headers
        )
        assert real.status_code == 201, real.text
        assert real.json()["currency"] == code

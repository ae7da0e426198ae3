"""Request helpers shared by the quote tests."""

import uuid
from typing import Any

import httpx
from pydantic import BaseModel

from tests.factories import Actor


def line(
    price: str = "1000.00", quantity: str = "1", discount: str = "0", sku: str = "SKU-1"
) -> dict[str, Any]:
    return {
        "sku": sku,
        "description": "Conveyor belt",
        "quantity": quantity,
        "unit_list_price": price,
        "line_discount_pct": discount,
    }


def quote_body(deal_id: uuid.UUID, header: str = "0", **extra: Any) -> dict[str, Any]:
    return {
        "deal_id": str(deal_id),
        "title": "Line 3 retrofit",
        "currency": "CNY",
        "header_discount_pct": header,
        "lines": [line()],
        **extra,
    }


async def create_quote(
    client: httpx.AsyncClient, actor: Actor, deal_id: uuid.UUID, header: str = "0", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/quotes", json=quote_body(deal_id, header, **extra), headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def act(
    client: httpx.AsyncClient,
    actor: Actor,
    quote: dict[str, Any],
    action: str,
    json: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST an action with the quote's ETag as If-Match."""
    headers = {**actor.headers, "If-Match": f'"{quote["version"]}"'}
    return await client.post(f"/api/v1/quotes/{quote['id']}/{action}", json=json, headers=headers)


async def advance(
    client: httpx.AsyncClient, actor: Actor, quote: dict[str, Any], *actions: str
) -> dict[str, Any]:
    """Run actions in order, each expected to succeed; the quote as it ends up."""
    for action in actions:
        response = await act(client, actor, quote, action)
        assert response.status_code == 200, (action, response.text)
        quote = response.json()
    return quote


def codes(response: httpx.Response) -> list[str]:
    return [item["code"] for item in response.json().get("errors", [])]


def assert_shape(model: type[BaseModel], body: dict[str, Any]) -> None:
    """The body is exactly the documented model: every field, nothing more (what the
    schemathesis conformance check holds the API to)."""
    model.model_validate(body)
    assert set(body) == set(model.model_fields), set(body) ^ set(model.model_fields)


async def make_prior_contract(
    conn: Any, *, customer_id: uuid.UUID, owner_id: uuid.UUID, status: str
) -> uuid.UUID:
    """A contract of the customer on another deal, in `status`: what a renewal renews."""
    from app.models import Contract
    from tests.factories import make_contract_for, make_deal

    deal = await make_deal(conn, owner_id=owner_id, customer_id=customer_id, stage="won")
    contract_id = await make_contract_for(
        conn, deal_id=deal, owner_id=owner_id, amount="5000.00", status=status
    )
    table = Contract.__table__  # type: ignore[attr-defined]
    await conn.execute(
        table.update().where(table.c.id == contract_id).values(customer_id=customer_id)
    )
    return contract_id

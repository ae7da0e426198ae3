"""Request helpers shared by the contract tests."""

import uuid
from datetime import datetime
from typing import Any

import httpx

from tests.factories import Actor

PLAN = [
    {"kind": "advance", "percent": "30", "anchor": "signing", "days_after": 0},
    {"kind": "on_delivery", "percent": "60", "anchor": "delivery", "days_after": 10},
    {"kind": "on_acceptance", "percent": "10", "anchor": "acceptance", "days_after": 30},
]


def contract_body(quote: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "quote_id": str(quote["quote_id"]),
        "title": "Line 3 retrofit contract",
        "milestones": PLAN,
        **extra,
    }


async def create_contract(
    client: httpx.AsyncClient, actor: Actor, quote: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/contracts", json=contract_body(quote, **extra), headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def act(
    client: httpx.AsyncClient,
    actor: Actor,
    contract: dict[str, Any],
    path: str,
    json: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST `/contracts/{id}/{path}` with the contract's ETag as If-Match."""
    headers = {**actor.headers, "If-Match": f'"{contract["version"]}"'}
    url = f"/api/v1/contracts/{contract['id']}/{path}"
    return await client.post(url, json=json, headers=headers)


async def step(
    client: httpx.AsyncClient,
    actor: Actor,
    contract: dict[str, Any],
    path: str,
    json: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await act(client, actor, contract, path, json)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()  # type: ignore[no-any-return]


async def read(client: httpx.AsyncClient, actor: Actor, contract: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/api/v1/contracts/{contract['id']}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def add(
    client: httpx.AsyncClient,
    actor: Actor,
    contract: dict[str, Any],
    path: str,
    json: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST a delivery or change request: (the contract as it now is, the created item)."""
    response = await act(client, actor, contract, path, json)
    assert response.status_code == 201, (path, response.text)
    return await read(client, actor, contract), response.json()


async def signed(
    client: httpx.AsyncClient, rep: Actor, manager: Actor, quote: dict[str, Any]
) -> dict[str, Any]:
    """A contract taken through review, approval and signing."""
    contract = await create_contract(client, rep, quote)
    contract = await step(client, rep, contract, "submit-review")
    contract = await step(client, manager, contract, "approve")
    return await step(client, rep, contract, "sign")


async def delivered(
    client: httpx.AsyncClient,
    rep: Actor,
    contract: dict[str, Any],
    **times: str,
) -> dict[str, Any]:
    """Schedule one delivery and take it to installed; `times` backdates steps."""
    contract, delivery = await add(
        client, rep, contract, "deliveries", {"description": "Main line"}
    )
    delivery_id = delivery["id"]
    for status in ("shipped", "arrived", "installed"):
        body = {"status": status} | ({"at": times[status]} if status in times else {})
        contract = await step(client, rep, contract, f"deliveries/{delivery_id}/progress", body)
    return contract


async def backdate_signing(conn: Any, contract: dict[str, Any], signed_at: datetime) -> None:
    """Make the signature older, so delivery steps may be dated back to it."""
    from app.models import Contract

    table = Contract.__table__  # type: ignore[attr-defined]
    await conn.execute(
        table.update().where(table.c.id == uuid.UUID(contract["id"])).values(signed_at=signed_at)
    )

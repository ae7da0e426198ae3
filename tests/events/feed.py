"""Reading a record's events back from the change feed, as a partner would."""

from typing import Any


async def events_of(client, actor, record_id: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = await client.get(
        "/api/v1/events", params={"record_id": str(record_id)}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def types_of(client, actor, record_id: Any) -> list[str]:  # type: ignore[no-untyped-def]
    return [event["type"] for event in await events_of(client, actor, record_id)]

"""Shared helpers for the report tests: instants, calls, and picking rows out."""

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.factories import Actor


def at(text: str) -> datetime:
    """`2026-01-05` or `2026-01-05T10:00:00` (UTC), or any ISO instant with an offset."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def report(
    client: httpx.AsyncClient, path: str, actor: Actor, **params: Any
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/reports/{path}", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def pick(rows: list[dict[str, Any]], *fields: str, **match: Any) -> list[tuple[Any, ...]]:
    """The `fields` of the rows matching `match`, in order."""
    chosen = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return [tuple(r[f] for f in fields) for r in chosen]

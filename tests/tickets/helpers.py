"""Helpers for the ticket tests: a settable clock, the people involved, HTTP shortcuts."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.config import Settings
from app.core.enums import Role
from app.models import AuditEntry, Team
from tests.factories import Actor, make_team, make_user


class FrozenClock:
    """What the tickets package believes `now` is; only tests move it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@dataclass(frozen=True)
class Desk:
    """A support team: its manager, an agent, and a rep with one customer."""

    manager: Actor
    agent: Actor
    rep: Actor
    customer_id: uuid.UUID


async def open_ticket(
    client: httpx.AsyncClient, actor: Actor, customer_id: uuid.UUID, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "Printer head jams",
        "type": "hardware_fault",
        "customer_id": str(customer_id),
        **fields,
    }
    if isinstance(body.get("reported_at"), datetime):
        body["reported_at"] = body["reported_at"].isoformat()
    response = await client.post("/api/v1/tickets", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def act(
    client: httpx.AsyncClient,
    actor: Actor,
    ticket: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    """POST an action with the ticket's current ETag; returns the new ticket."""
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/{action}",
        json=body,
        headers={**actor.headers, "If-Match": f'"{ticket["version"]}"'},
    )
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


async def audit_actions(conn: AsyncConnection, ticket: dict[str, Any]) -> list[str]:
    """The audit trail of one ticket, oldest first."""
    audit = AuditEntry.__table__  # type: ignore[attr-defined]
    statement = (
        sa.select(audit.c.action)
        .where(audit.c.entity_id == uuid.UUID(ticket["id"]))
        .order_by(audit.c.at, audit.c.id)
    )
    return list((await conn.execute(statement)).scalars())


async def make_managed_team(conn: AsyncConnection, settings: Settings) -> tuple[uuid.UUID, Actor]:
    """A team and its (active) manager."""
    team = await make_team(conn)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    teams = Team.__table__  # type: ignore[attr-defined]
    await conn.execute(teams.update().where(teams.c.id == team).values(manager_id=manager.id))
    return team, manager

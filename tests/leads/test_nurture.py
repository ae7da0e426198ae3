"""The nurture cadence: a parked lead is touched every 90 days, counted from its last touch."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.enums import Role
from app.models import Lead, Task
from tests.factories import make_lead, make_task, make_user

leads = Lead.__table__
tasks = Task.__table__
NINETY_DAYS = timedelta(days=90)


@pytest.fixture
async def rep(conn, settings):  # type: ignore[no-untyped-def]
    return await make_user(conn, settings, role=Role.rep)


def _day(days_ago: int, hour: int) -> datetime:
    today = utcnow().date() - timedelta(days=days_ago)
    return datetime(today.year, today.month, today.day, hour, tzinfo=UTC)


async def _parked_lead(conn, rep, status, parked_at):  # type: ignore[no-untyped-def]
    """A lead parked at `parked_at` with the nurture task that parking opened."""
    lead = await make_lead(
        conn, owner_id=rep.id, status=status, next_touch_at=parked_at + NINETY_DAYS
    )
    await make_task(
        conn,
        assignee_id=rep.id,
        kind="nurture_touch",
        related_type="lead",
        related_id=lead,
        due_at=parked_at + NINETY_DAYS,
        dedupe_key=f"nurture_touch:{lead}:{parked_at.date().isoformat()}",
    )
    return lead


async def _log(client, actor, lead, at):  # type: ignore[no-untyped-def]
    body = {"kind": "call", "summary": "Quarterly check-in", "lead_id": str(lead)}
    response = await client.post(
        "/api/v1/activities", json={**body, "occurred_at": at.isoformat()}, headers=actor.headers
    )
    assert response.status_code == 201, response.text


async def _next_touch(conn, lead):  # type: ignore[no-untyped-def]
    statement = sa.select(leads.c.next_touch_at).where(leads.c.id == lead)
    return (await conn.execute(statement)).scalar()


async def _nurture_tasks(conn, lead):  # type: ignore[no-untyped-def]
    statement = (
        sa.select(tasks.c.status, tasks.c.due_at, tasks.c.dedupe_key, tasks.c.completed_by)
        .where(tasks.c.related_id == lead, tasks.c.kind == "nurture_touch")
        .order_by(tasks.c.created_at, tasks.c.id)
    )
    return [tuple(row) for row in await conn.execute(statement)]


@pytest.mark.parametrize("status", ["nurturing", "archived"])
async def test_each_touch_restarts_the_cadence_with_one_task_per_cycle(client, conn, rep, status):
    parked = _day(20, 9)
    lead = await _parked_lead(conn, rep, status, parked)
    touched = _day(2, 10)
    await _log(client, rep, lead, touched)
    assert await _next_touch(conn, lead) == touched + NINETY_DAYS
    key = f"nurture_touch:{lead}:{touched.date().isoformat()}"
    assert await _nurture_tasks(conn, lead) == [
        ("done", parked + NINETY_DAYS, f"nurture_touch:{lead}:{parked.date().isoformat()}", rep.id),
        ("open", touched + NINETY_DAYS, key, None),
    ]
    # A second touch the same day moves the date on; that cycle already has its task.
    later = touched + timedelta(hours=4)
    await _log(client, rep, lead, later)
    assert await _next_touch(conn, lead) == later + NINETY_DAYS
    assert [(s, k) for s, _, k, _ in await _nurture_tasks(conn, lead)] == [
        ("done", f"nurture_touch:{lead}:{parked.date().isoformat()}"),
        ("open", key),
    ]
    # Logged late, a call from before the last touch moves nothing back.
    await _log(client, rep, lead, parked + timedelta(days=1))
    assert await _next_touch(conn, lead) == later + NINETY_DAYS
    assert len(await _nurture_tasks(conn, lead)) == 2


async def test_activity_on_a_lead_being_worked_sets_no_touch(client, conn, rep):
    lead = await make_lead(conn, owner_id=rep.id, status="contacted")
    await _log(client, rep, lead, _day(1, 10))
    assert await _next_touch(conn, lead) is None
    assert await _nurture_tasks(conn, lead) == []


async def test_a_touch_takes_the_lead_off_the_agenda(client, conn, rep):
    lead = await _parked_lead(conn, rep, "nurturing", _day(95, 9))
    due = (await client.get("/api/v1/me/agenda", headers=rep.headers)).json()
    assert [item["id"] for item in due["leads_due_for_touch"]] == [str(lead)]
    await _log(client, rep, lead, _day(0, 0))
    after = (await client.get("/api/v1/me/agenda", headers=rep.headers)).json()
    assert after["leads_due_for_touch"] == []


async def test_leaving_or_reparking_closes_the_open_touch_task(client, conn, rep):
    parked = _day(10, 9)
    lead = await _parked_lead(conn, rep, "nurturing", parked)
    url = f"/api/v1/leads/{lead}/status"
    archived = await client.post(url, json={"status": "archived"}, headers=rep.headers)
    assert archived.status_code == 200, archived.text
    [(old, _, _, _), (new, due, _, _)] = await _nurture_tasks(conn, lead)
    assert (old, new) == ("cancelled", "open")
    assert due == await _next_touch(conn, lead)
    contacted = await client.post(url, json={"status": "contacted"}, headers=rep.headers)
    assert contacted.json()["next_touch_at"] is None
    assert [s for s, _, _, _ in await _nurture_tasks(conn, lead)] == ["cancelled", "cancelled"]

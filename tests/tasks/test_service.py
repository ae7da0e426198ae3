from datetime import UTC, datetime

import sqlalchemy as sa

from app.core.enums import LeadSource, TaskKind
from app.models import Task
from app.rules.policy import DEFAULT_POLICY
from app.rules.tasks import TriggerEvent, tasks_for_event
from app.tasks.schemas import RelatedType
from app.tasks.service import create_triggered_task
from tests.factories import make_lead, make_task, make_user

CAPTURED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


async def test_a_trigger_fired_twice_makes_one_task(conn, settings):
    rep = await make_user(conn, settings)
    lead_id = await make_lead(conn, owner_id=rep.id, source="trade_show")
    (spec,) = tasks_for_event(
        TriggerEvent.lead_captured,
        lead_id,
        CAPTURED,
        DEFAULT_POLICY.tasks,
        lead_source=LeadSource.trade_show,
    )
    first = await create_triggered_task(conn, spec, rep.id, RelatedType.lead, lead_id)
    second = await create_triggered_task(conn, spec, rep.id, RelatedType.lead, lead_id)

    assert first is not None
    assert first["kind"] == TaskKind.trade_show_follow_up
    assert first["due_at"] == datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
    assert (first["related_type"], first["related_id"]) == ("lead", lead_id)
    assert first["assignee_id"] == rep.id
    assert first["status"] == "open"
    assert second is None
    tasks = Task.__table__
    stored = await conn.scalar(
        sa.select(sa.func.count()).where(tasks.c.dedupe_key == spec.dedupe_key)
    )
    assert stored == 1


async def test_tasks_without_a_dedupe_key_never_collide(conn, settings):
    rep = await make_user(conn, settings)
    for _ in range(2):
        await make_task(conn, assignee_id=rep.id, title="same manual task")
    tasks = Task.__table__
    count = await conn.scalar(sa.select(sa.func.count()).where(tasks.c.assignee_id == rep.id))
    assert count == 2

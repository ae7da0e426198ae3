from datetime import timedelta

from app.core.clock import utcnow
from app.models import Lead, Task
from tests.factories import insert, make_customer, make_user


async def test_morning_list_has_each_section(client, conn, settings):
    rep = await make_user(conn, settings)
    other = await make_user(conn, settings)
    now = utcnow()
    overdue = await insert(
        conn,
        Task,
        title="call back",
        kind="general",
        status="open",
        assignee_id=rep.id,
        due_at=now - timedelta(hours=2),
    )
    await insert(
        conn,
        Task,
        title="not mine",
        kind="general",
        status="open",
        assignee_id=other.id,
        due_at=now - timedelta(hours=2),
    )
    await insert(
        conn,
        Task,
        title="done",
        kind="general",
        status="done",
        assignee_id=rep.id,
        due_at=now - timedelta(hours=2),
    )
    quiet = await make_customer(conn, owner_id=rep.id, last_contact_at=now - timedelta(days=61))
    await make_customer(conn, owner_id=rep.id, last_contact_at=now - timedelta(days=3))
    lead = await insert(
        conn,
        Lead,
        company_name="Nurture Co",
        source="event",
        status="nurturing",
        owner_id=rep.id,
        next_touch_at=now - timedelta(days=1),
        qualification_evidence=[],
        duplicate_of=[],
    )
    await insert(
        conn,
        Lead,
        company_name="Later Co",
        source="event",
        status="nurturing",
        owner_id=rep.id,
        next_touch_at=now + timedelta(days=10),
        qualification_evidence=[],
        duplicate_of=[],
    )

    agenda = (await client.get("/api/v1/me/agenda", headers=rep.headers)).json()
    assert [t["id"] for t in agenda["overdue_tasks"]] == [str(overdue["id"])]
    assert [c["id"] for c in agenda["customers_needing_contact"]] == [str(quiet)]
    assert [item["id"] for item in agenda["leads_due_for_touch"]] == [str(lead["id"])]

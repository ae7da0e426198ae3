"""A partner's view of the SOP: register an endpoint, and the job engine's own tasks (as
the in-process runner runs them) deliver every event of a lead's walk to a conversion
and a lost deal, in order, each signed and verifiable with the standardwebhooks library."""

import uuid

from app.core.enums import Role
from app.jobs import inprocess
from app.jobs.tasks import JobContext
from tests.factories import make_team, make_user
from tests.webhooks.conftest import register
from tests.webhooks.receiver import Answer


async def _walk(hooks, rep) -> dict[str, str]:  # type: ignore[no-untyped-def]
    created = await hooks.post(
        "/api/v1/leads",
        json={
            "source": "website_form",
            "company_name": "Acme",
            "contact_name": "Li Wei",
            "email": "li@acme.cn",
        },
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    lead = created.json()["id"]
    for status in ("contacted", "qualified"):
        moved = await hooks.post(
            f"/api/v1/leads/{lead}/status", json={"status": status}, headers=rep.headers
        )
        assert moved.status_code == 200, moved.text
    converted = await hooks.post(f"/api/v1/leads/{lead}/convert", json={}, headers=rep.headers)
    assert converted.status_code == 201, converted.text
    deal = converted.json()["deal"]["id"]
    lost = await hooks.post(
        f"/api/v1/deals/{deal}/transition",
        json={"to_stage": "lost", "lost_reason": "price"},
        headers=rep.headers,
    )
    assert lost.status_code == 200, lost.text
    return {"lead": lead, "deal": deal}


async def test_a_partner_receives_the_walk_in_order_signed(
    hooks, conn, db, hook_settings, outbound, admin, receiver
):
    rep = await make_user(conn, hook_settings, role=Role.rep, team_id=await make_team(conn))
    endpoint = await register(hooks, admin, receiver.url, ["lead.*", "deal.*"])
    secret = endpoint["secret"]
    records = await _walk(hooks, rep)
    receiver.answer(Answer(status=500))  # the first attempt fails: it and the rest wait

    queued: set[uuid.UUID] = set()
    ctx = JobContext(db, hook_settings, outbound, inprocess.queue_due(queued))
    run = inprocess.webhooks(queued)
    await run(ctx)
    assert len(receiver.received) == 1  # stopped at the failure: order is kept
    first_id = receiver.received[0].webhook_id
    delivery = (
        await hooks.get(
            f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin.headers
        )
    ).json()["items"]
    failed = next(d for d in delivery if d["status"] == "failed")
    retried = await hooks.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{failed['id']}/retry",
        headers=admin.headers,
    )
    assert retried.status_code in (200, 202), retried.text
    await run(ctx)

    feed = await hooks.get("/api/v1/events", headers=admin.headers)
    expected = [
        (e["id"], e["type"])
        for e in feed.json()["items"]
        if e["record_type"] in ("lead", "deal") and e["record_id"] in records.values()
    ]
    got = receiver.received[1:]
    assert [r.webhook_id for r in got] == [event_id for event_id, _ in expected]
    assert got[0].webhook_id == first_id  # the retry is the same message
    payloads = [r.verified(secret) for r in got]
    assert [p["type"] for p in payloads] == [t for _, t in expected]
    assert [t for _, t in expected][:2] == ["lead.created", "lead.status_changed"]
    assert "lead.converted" in [t for _, t in expected]
    assert [t for _, t in expected][-1] == "deal.stage_changed"

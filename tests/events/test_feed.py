"""The change feed as a partner reads it: order, cursor, filters, visibility, bad input."""

import pytest

from app.core.access import Principal
from app.core.enums import Role
from app.events.catalogue import EventType
from app.events.outbox import emit
from tests.factories import make_api_key, make_customer, make_lead, make_team, make_user


def _principal(actor) -> Principal:  # type: ignore[no-untyped-def]
    return Principal("user", actor.id, "Test", actor.role, actor.team_id)


async def _feed(client, actor, **params):  # type: ignore[no-untyped-def]
    response = await client.get("/api/v1/events", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def people(conn, settings):  # type: ignore[no-untyped-def]
    team = await make_team(conn)
    return {
        "rep": await make_user(conn, settings, role=Role.rep, team_id=team),
        "other": await make_user(conn, settings, role=Role.rep, team_id=await make_team(conn)),
        "admin": await make_user(conn, settings, role=Role.admin),
    }


async def _tail(client, actor):  # type: ignore[no-untyped-def]
    """The cursor past everything already in the feed (other tests' committed events)."""
    params: dict[str, str] = {"limit": "200"}
    while True:
        page = await _feed(client, actor, **params)
        if not page["items"]:
            return page["next_cursor"]
        params["after"] = page["next_cursor"]


async def _lead_event(conn, actor, event=EventType.lead_created):  # type: ignore[no-untyped-def]
    lead_id = await make_lead(conn, owner_id=actor.id)
    record = {"id": lead_id, "version": 1, "company_name": "Feed Co"}
    await emit(conn, _principal(actor), event, record)
    return lead_id


async def test_the_feed_pages_in_order_and_a_cursor_reads_on(client, conn, people):
    rep, admin = people["rep"], people["admin"]
    start = {"after": await _tail(client, admin)} if await _tail(client, admin) else {}
    leads = [await _lead_event(conn, rep) for _ in range(3)]
    first = await _feed(client, admin, limit=2, record_type="lead", **start)
    assert [e["record_id"] for e in first["items"]] == [str(i) for i in leads[:2]]
    event = first["items"][0]
    assert (event["type"], event["record_type"], event["actor_type"]) == (
        "lead.created",
        "lead",
        "user",
    )
    assert event["data"]["company_name"] == "Feed Co" and event["previous"] is None
    rest = await _feed(client, admin, after=first["next_cursor"], record_type="lead")
    assert [e["record_id"] for e in rest["items"]] == [str(leads[2])]
    tail = await _feed(client, admin, after=rest["next_cursor"], record_type="lead")
    assert tail == {"items": [], "next_cursor": rest["next_cursor"]}  # poll again with it
    later = await _lead_event(conn, rep)
    news = await _feed(client, admin, after=tail["next_cursor"])
    assert [e["record_id"] for e in news["items"]] == [str(later)]


async def test_filters_by_type_and_record(client, conn, people):
    rep, admin = people["rep"], people["admin"]
    lead = await _lead_event(conn, rep)
    await emit(
        conn,
        _principal(rep),
        EventType.lead_qualified,
        {"id": lead, "version": 2, "company_name": "Feed Co", "status": "qualified"},
        before={"id": lead, "version": 1, "company_name": "Feed Co", "status": "contacted"},
    )
    await _lead_event(conn, rep)
    qualified = await _feed(client, admin, type="lead.qualified", record_id=str(lead))
    assert [(e["type"], e["changed_fields"]) for e in qualified["items"]] == [
        ("lead.qualified", ["status"])
    ]
    both = await _feed(client, admin, record_id=str(lead))
    assert [e["type"] for e in both["items"]] == ["lead.created", "lead.qualified"]


async def test_a_caller_reads_only_events_of_records_they_see(client, conn, people):
    mine = await _lead_event(conn, people["rep"])
    theirs = await _lead_event(conn, people["other"])
    customer = await make_customer(conn, owner_id=people["other"].id)
    await emit(conn, _principal(people["other"]), EventType.customer_created, {"id": customer})
    seen = await _feed(client, people["rep"])
    ids = {e["record_id"] for e in seen["items"]}
    assert str(mine) in ids and str(theirs) not in ids and str(customer) not in ids
    key = await make_api_key(conn, scopes=["events:read", "leads:read"])
    by_key = await _feed(client, key)
    types = {e["record_type"] for e in by_key["items"]}
    assert types == {"lead"}


async def test_a_key_without_the_feed_scope_is_refused(client, conn):
    key = await make_api_key(conn, scopes=["leads:read"])
    response = await client.get("/api/v1/events", headers=key.headers)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "insufficient_permission"


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"after": "not-a-cursor"}, 400, "after"),
        ({"after": "MTIzLmFiYw"}, 400, "after"),  # "123.abc"
        ({"type": "deal.exploded"}, 422, "type.0"),
        ({"record_type": "invoice"}, 422, "record_type.0"),
        ({"record_id": "42"}, 400, "record_id"),
        ({"cursor": "x"}, 400, "cursor"),
    ],
)
async def test_bad_feed_parameters_are_named(client, people, params, status, field):
    response = await client.get("/api/v1/events", params=params, headers=people["admin"].headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_an_event_belongs_to_its_transaction(client, conn, people):
    """A change rolled back takes its event with it."""
    admin = people["admin"]
    savepoint = await conn.begin_nested()
    lead = await _lead_event(conn, people["rep"])
    await savepoint.rollback()
    listed = await _feed(client, admin, record_id=str(lead))
    assert listed["items"] == []


async def test_events_are_kept_for_the_retention_and_no_longer(app, client, conn, people, settings):
    from datetime import timedelta

    from app.core.clock import utcnow
    from app.events.service import prune_events
    from app.ops import schedule

    rep, admin = people["rep"], people["admin"]
    now = utcnow()
    retention = timedelta(days=settings.events_retention_days)
    kept = await make_lead(conn, owner_id=rep.id)
    dropped = await make_lead(conn, owner_id=rep.id)
    for lead, at in ((kept, now - retention), (dropped, now - retention - timedelta(seconds=1))):
        await emit(conn, _principal(rep), EventType.lead_created, {"id": lead}, at=at)
    assert await prune_events(conn, now, settings.events_retention_days) == 1
    assert [e["record_id"] for e in (await _feed(client, admin, record_id=kept))["items"]] == [
        str(kept)
    ]
    assert (await _feed(client, admin, record_id=dropped))["items"] == []
    assert settings.events_retention_days == 30  # the documented default
    stale = now - retention - timedelta(days=1)
    await emit(conn, _principal(rep), EventType.lead_updated, {"id": kept}, at=stale)
    round_result = await schedule.run_round(app.state.db, settings, now)
    assert round_result is not None and round_result.pruned_events == 1  # the round prunes

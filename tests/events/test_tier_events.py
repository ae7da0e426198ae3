"""Re-tiering is a change like any other: audited and an event, whoever or whatever caused
it — a deal won over HTTP, or the scheduled re-tiering of every customer."""

from datetime import timedelta
from decimal import Decimal

import pytest

from app.core import records
from app.core.clock import utcnow
from app.core.enums import DealStage, Role
from app.customers.tiering import recompute_all
from app.rules.customers import DEFAULT_CUSTOMER_POLICY
from tests.events.feed import events_of
from tests.factories import make_customer, make_deal, make_team, make_user


@pytest.fixture
async def people(conn, settings):  # type: ignore[no-untyped-def]
    team = await make_team(conn)
    return (
        await make_user(conn, settings, role=Role.rep, team_id=team),
        await make_user(conn, settings, role=Role.admin),
    )


async def test_reopening_a_won_deal_re_tiers_its_customer_as_whoever_reopened_it(
    client, conn, settings, people
):
    rep, admin = people
    manager = await make_user(conn, settings, role=Role.manager, team_id=rep.team_id)
    customer = await make_customer(conn, owner_id=rep.id)
    deal = await make_deal(
        conn,
        owner_id=rep.id,
        customer_id=customer,
        stage=DealStage.won,
        closed_from_stage=DealStage.implementation,
        closed_at=utcnow() - timedelta(days=3),
        amount=Decimal("800000.00"),
    )
    await recompute_all(conn, utcnow(), DEFAULT_CUSTOMER_POLICY)
    settled = await events_of(client, rep, customer)
    reopened = await client.post(
        f"/api/v1/deals/{deal}/transition",
        json={"to_stage": "implementation", "reason": "The customer withdrew"},
        headers=manager.headers,
    )
    assert reopened.status_code == 200, reopened.text
    events = (await events_of(client, rep, customer))[len(settled) :]
    assert [e["type"] for e in events] == ["customer.tier_changed"]
    retiered = events[0]
    assert (retiered["previous"]["lifecycle_stage"], retiered["data"]["lifecycle_stage"]) == (
        "growth",
        "prospect",
    )
    assert retiered["actor_id"] == str(manager.id) and retiered["origin"] is None
    assert retiered["data"]["last_purchase_at"] is None
    shown = await client.get(f"/api/v1/customers/{customer}", headers=rep.headers)
    assert shown.json()["version"] == retiered["record_version"]
    trail = await client.get(f"/api/v1/audit?entity_id={customer}", headers=admin.headers)
    newest = trail.json()["items"][0]  # newest first
    assert (newest["action"], newest["actor_id"]) == ("retier", str(manager.id))
    assert newest["before"]["tier"] != newest["after"]["tier"]


async def test_re_tiering_every_customer_records_each_change_once(
    client, conn, people, monkeypatch
):
    monkeypatch.setattr(records, "CHANGES_PER_STATEMENT", 2)  # three buyers: two statements
    rep, admin = people
    now = utcnow()
    buyers = [await make_customer(conn, owner_id=rep.id) for _ in range(3)]
    idle = await make_customer(conn, owner_id=rep.id)
    await recompute_all(conn, now, DEFAULT_CUSTOMER_POLICY)  # what the factory left unset
    settled = {c: len(await events_of(client, rep, c)) for c in (*buyers, idle)}
    audited = {c: len(await trail_of(client, admin, c)) for c in buyers}
    for customer in buyers:
        await make_deal(
            conn,
            owner_id=rep.id,
            customer_id=customer,
            stage=DealStage.won,
            amount=Decimal("900000.00"),
            closed_at=now - timedelta(days=3),
        )
    assert await recompute_all(conn, now, DEFAULT_CUSTOMER_POLICY) == len(buyers)
    assert await recompute_all(conn, now, DEFAULT_CUSTOMER_POLICY) == 0
    for customer in buyers:
        events = (await events_of(client, rep, customer))[settled[customer] :]
        assert [(e["type"], e["origin"], e["actor_type"]) for e in events] == [
            ("customer.tier_changed", "job:recompute_tiers", "system")
        ]
        assert events[0]["previous"]["last_purchase_at"] is None
        assert events[0]["data"]["version"] == events[0]["record_version"]
        entries = (await trail_of(client, admin, customer))[: -audited[customer] or None]
        assert [(e["action"], e["actor_type"]) for e in entries] == [("retier", "system")]
        assert entries[0]["before"]["lifecycle_stage"] == "prospect"
        assert entries[0]["after"]["lifecycle_stage"] == "growth"
    assert len(await events_of(client, rep, idle)) == settled[idle]


async def trail_of(client, admin, record_id):  # type: ignore[no-untyped-def]
    """A record's audit entries, newest first."""
    trail = await client.get(f"/api/v1/audit?entity_id={record_id}", headers=admin.headers)
    assert trail.status_code == 200, trail.text
    return trail.json()["items"]

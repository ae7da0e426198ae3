"""Every state change emits exactly one event of its type, with its audit entry; a refused
or rolled-back change emits none. Driven over HTTP, read back from the feed."""

from datetime import date
from decimal import Decimal

import pytest

from app.core.enums import Role
from tests.events.feed import events_of, types_of
from tests.factories import make_customer, make_deal, make_lead, make_team, make_user


@pytest.fixture
async def team_people(conn, settings):  # type: ignore[no-untyped-def]
    team = await make_team(conn)
    return (
        await make_user(conn, settings, role=Role.rep, team_id=team),
        await make_user(conn, settings, role=Role.manager, team_id=team),
    )


async def test_a_lead_from_capture_to_conversion(client, conn, team_people):
    rep, _ = team_people
    created = await client.post(
        "/api/v1/leads",
        json={"source": "website_form", "company_name": "Acme", "owner_id": str(rep.id)},
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    lead = created.json()
    patched = await client.patch(
        f"/api/v1/leads/{lead['id']}",
        json={"contact_name": "Li Wei", "email": "li@acme.cn"},
        headers=rep.headers,
    )
    assert patched.status_code == 200
    unchanged = await client.patch(
        f"/api/v1/leads/{lead['id']}", json={"contact_name": "Li Wei"}, headers=rep.headers
    )
    assert unchanged.status_code == 200
    for status in ("contacted", "qualified"):
        moved = await client.post(
            f"/api/v1/leads/{lead['id']}/status", json={"status": status}, headers=rep.headers
        )
        assert moved.status_code == 200, moved.text
    converted = await client.post(
        f"/api/v1/leads/{lead['id']}/convert", json={}, headers=rep.headers
    )
    assert converted.status_code == 201, converted.text
    events = await events_of(client, rep, lead["id"])
    assert [e["type"] for e in events] == [
        "lead.created",
        "lead.updated",
        "lead.status_changed",
        "lead.status_changed",
        "lead.converted",
    ]
    updated = events[1]
    assert updated["changed_fields"] == ["contact_name", "email"]
    assert (updated["previous"]["email"], updated["data"]["email"]) == (None, "li@acme.cn")
    assert [e["record_version"] for e in events] == [1, 2, 3, 4, 5]
    body = converted.json()
    assert await types_of(client, rep, body["customer"]["id"]) == ["customer.created"]
    assert await types_of(client, rep, body["contact"]["id"]) == ["contact.created"]
    assert await types_of(client, rep, body["deal"]["id"]) == ["deal.created"]


async def test_a_refused_or_failed_change_emits_nothing(client, conn, team_people):
    rep, _ = team_people
    deal = await make_deal(conn, owner_id=rep.id)
    refused = await client.post(
        f"/api/v1/deals/{deal}/transition", json={"to_stage": "initiation"}, headers=rep.headers
    )
    assert refused.status_code == 422  # the development gate is not met
    stale = await client.patch(
        f"/api/v1/deals/{deal}",
        json={"name": "Renamed"},
        headers={**rep.headers, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    assert await types_of(client, rep, deal) == []


async def test_deal_actions_each_emit_their_type(client, conn, team_people):
    rep, manager = team_people
    customer = await make_customer(conn, owner_id=rep.id)
    deal = await make_deal(
        conn,
        owner_id=rep.id,
        customer_id=customer,
        amount=Decimal("1000.00"),
        expected_close_date=date(2027, 1, 31),
        need_description="A line",
    )
    approved = await client.post(f"/api/v1/deals/{deal}/presales-approval", headers=manager.headers)
    assert approved.status_code == 200, approved.text
    lost = await client.post(
        f"/api/v1/deals/{deal}/transition",
        json={"to_stage": "lost", "lost_reason": "price"},
        headers=rep.headers,
    )
    assert lost.status_code == 200, lost.text
    events = await events_of(client, rep, deal)
    assert [e["type"] for e in events] == ["deal.presales_approved", "deal.stage_changed"]
    moved = events[1]
    assert (moved["previous"]["stage"], moved["data"]["stage"]) == ("development", "lost")
    assert moved["actor_id"] == str(rep.id) and moved["origin"] is None


async def test_customer_changes_and_archive_are_events(client, conn, team_people):
    rep, manager = team_people
    customer = await make_customer(conn, owner_id=rep.id)
    path = f"/api/v1/customers/{customer}"
    assert (await client.patch(path, json={"region": "East"}, headers=rep.headers)).is_success
    override = await client.post(
        f"{path}/tier-override",
        json={"tier": "strategic", "reason": "Group account"},
        headers={**manager.headers, "If-Match": '"2"'},
    )
    assert override.status_code == 200, override.text
    assert (await client.delete(path, headers=rep.headers)).status_code == 200
    assert (await client.delete(path, headers=rep.headers)).status_code == 200  # no-op
    assert await types_of(client, rep, customer) == [
        "customer.updated",
        "customer.tier_overridden",
        "customer.archived",
    ]


async def test_a_partner_key_can_tell_its_own_writes(client, conn, team_people):
    from tests.factories import make_api_key

    rep, _ = team_people
    key = await make_api_key(conn, scopes=["leads:write", "events:read"])
    lead = await make_lead(conn, owner_id=rep.id)
    patched = await client.patch(
        f"/api/v1/leads/{lead}", json={"campaign": "Expo 2026"}, headers=key.headers
    )
    assert patched.status_code == 200, patched.text
    [event] = await events_of(client, key, lead)
    assert (event["actor_type"], event["origin"]) == ("api_key", f"api_key:{key.id}")

"""A manager's decisions about a customer: tier overrides and the "lost" mark."""

from datetime import timedelta
from decimal import Decimal

import pytest

from app.core.clock import utcnow
from app.core.enums import Role
from app.customers.tiering import recompute_all
from app.rules.customers import DEFAULT_CUSTOMER_POLICY
from tests.factories import make_customer, make_deal, make_team, make_user


@pytest.fixture
async def team(conn, settings):  # type: ignore[no-untyped-def]
    team_id = await make_team(conn)
    return {
        "rep": await make_user(conn, settings, team_id=team_id),
        "manager": await make_user(conn, settings, role=Role.manager, team_id=team_id),
        "director": await make_user(conn, settings, role=Role.director),
    }


async def _trail(client, director, customer_id):  # type: ignore[no-untyped-def]
    page = await client.get(f"/api/v1/audit?entity_id={customer_id}", headers=director.headers)
    assert page.status_code == 200, page.text
    return [(e["action"], e["before"], e["after"]) for e in reversed(page.json()["items"])]


async def test_tier_override_shows_who_and_when_and_is_audited(client, conn, team):
    manager, director = team["manager"], team["director"]
    customer_id = await make_customer(conn, owner_id=team["rep"].id)
    url = f"/api/v1/customers/{customer_id}/tier-override"
    body = {"tier": "strategic", "reason": "group-level framework agreement"}
    headers = {**manager.headers, "Idempotency-Key": "override-1"}
    first = await client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    customer = first.json()
    assert customer["tier_override_by"] == str(manager.id)
    assert customer["tier_override_at"] is not None
    again = await client.post(url, json=body, headers=headers)
    assert again.json() == customer and again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"] == '"2"'

    cleared = await client.delete(url, headers=director.headers)
    assert cleared.status_code == 200, cleared.text
    after = cleared.json()
    assert (after["tier"], after["tier_override"], after["tier_override_reason"]) == (
        "potential",
        None,
        None,
    )
    assert after["tier_override_by"] == str(director.id)
    assert after["tier_override_at"] >= customer["tier_override_at"]
    nothing = await client.delete(url, headers=director.headers)
    assert nothing.json()["version"] == after["version"]

    trail = await _trail(client, director, customer_id)
    assert [action for action, _, _ in trail] == ["tier_override_set", "tier_override_cleared"]
    _, before_set, after_set = trail[0]
    assert before_set["tier_override"] is None
    assert (after_set["tier_override"], after_set["tier_override_reason"]) == (
        "strategic",
        body["reason"],
    )
    _, before_clear, after_clear = trail[1]
    assert before_clear["tier_override_by"] == str(manager.id)
    assert after_clear["tier_override"] is None and after_clear["tier"] == "potential"


async def test_marking_a_customer_lost_churns_it_until_cleared(client, conn, team):
    rep, manager, director = team["rep"], team["manager"], team["director"]
    customer_id = await make_customer(conn, owner_id=rep.id)
    url = f"/api/v1/customers/{customer_id}/mark-lost"
    body = {"reason": "moved to a competitor"}
    refused = await client.post(url, json=body, headers=rep.headers)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "role_required"
    assert (
        await client.post(url, json={"reason": "x"}, headers=manager.headers)
    ).status_code == 422
    stale = await client.post(url, json=body, headers={**manager.headers, "If-Match": '"7"'})
    assert stale.status_code == 412

    headers = {**manager.headers, "Idempotency-Key": "lost-1"}
    marked = await client.post(url, json=body, headers=headers)
    assert marked.status_code == 200, marked.text
    customer = marked.json()
    assert customer["lifecycle_stage"] == "churned"
    assert customer["marked_lost_reason"] == body["reason"]
    assert customer["marked_lost_by"] == str(manager.id)
    assert customer["marked_lost_at"] is not None
    replay = await client.post(url, json=body, headers=headers)
    assert replay.json() == customer
    twice = await client.post(url, json=body, headers=manager.headers)
    assert twice.status_code == 409
    assert twice.json()["errors"][0]["code"] == "already_marked_lost"
    churned = await client.get("/api/v1/customers?lifecycle_stage=churned", headers=rep.headers)
    assert [c["id"] for c in churned.json()["items"]] == [str(customer_id)]

    assert (await client.delete(url, headers=rep.headers)).status_code == 403
    cleared = await client.delete(url, headers=manager.headers)
    assert cleared.status_code == 200, cleared.text
    back = cleared.json()
    assert back["lifecycle_stage"] == "prospect"
    assert (back["marked_lost_at"], back["marked_lost_reason"], back["marked_lost_by"]) == (
        None,
        None,
        None,
    )
    trail = await _trail(client, director, customer_id)
    assert [(a, after.get("lifecycle_stage")) for a, _, after in trail] == [
        ("marked_lost", "churned"),
        ("lost_mark_cleared", "prospect"),
    ]


async def test_marking_lost_needs_to_see_the_customer(client, conn, settings, team):
    outsider = await make_user(conn, settings, role=Role.manager, team_id=await make_team(conn))
    customer_id = await make_customer(conn, owner_id=team["rep"].id)
    response = await client.post(
        f"/api/v1/customers/{customer_id}/mark-lost",
        json={"reason": "moved to a competitor"},
        headers=outsider.headers,
    )
    assert response.status_code == 404


async def _buying_customer(conn, owner_id):
    """A customer whose purchases say `growth`: R=5 F=2 M=3 (RFM 10)."""
    customer_id = await make_customer(conn, owner_id=owner_id)
    for days_ago in (3, 40):
        await make_deal(
            conn,
            owner_id=owner_id,
            customer_id=customer_id,
            stage="won",
            amount=Decimal("150000.00"),
            currency="CNY",
            closed_at=utcnow() - timedelta(days=days_ago),
        )
    await recompute_all(conn, utcnow(), DEFAULT_CUSTOMER_POLICY)
    return customer_id


async def test_an_override_is_shown_beside_the_computed_tier(client, conn, team):
    manager, rep = team["manager"], team["rep"]
    customer_id = await _buying_customer(conn, rep.id)
    url = f"/api/v1/customers/{customer_id}"
    before = (await client.get(url, headers=rep.headers)).json()
    assert (before["tier"], before["computed_tier"]) == ("growth", "growth")
    assert before["tier_reason"] == before["computed_tier_reason"] == "growth: R=5 F=2 M=3"

    body = {"tier": "strategic", "reason": "group-level framework agreement"}
    headers = {**manager.headers, "If-Match": f'"{before["version"]}"'}
    overridden = await client.post(f"{url}/tier-override", json=body, headers=headers)
    assert overridden.status_code == 200, overridden.text
    expected = {
        "tier": "strategic",
        "tier_reason": "manual override strategic: group-level framework agreement",
        "computed_tier": "growth",
        "computed_tier_reason": "growth: R=5 F=2 M=3",
    }
    assert {k: overridden.json()[k] for k in expected} == expected

    # The scheduled re-tiering keeps both, and finds nothing to rewrite.
    assert await recompute_all(conn, utcnow(), DEFAULT_CUSTOMER_POLICY) == 0
    after = (await client.get(url, headers=rep.headers)).json()
    assert {k: after[k] for k in expected} == expected

    cleared = (await client.delete(f"{url}/tier-override", headers=manager.headers)).json()
    assert (cleared["tier"], cleared["computed_tier"]) == ("growth", "growth")
    assert cleared["tier_reason"] == "growth: R=5 F=2 M=3"


async def test_a_new_customer_starts_with_its_computed_tier(client, team):
    created = await client.post(
        "/api/v1/customers", json={"name": "Fresh Account"}, headers=team["rep"].headers
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["tier"] == customer["computed_tier"] == "potential"
    assert customer["tier_reason"] == customer["computed_tier_reason"] == "potential: R=1 F=1 M=1"

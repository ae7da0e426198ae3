import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.clock import utcnow
from app.core.enums import Role
from app.models import AuditEntry, DealStageChange
from tests.factories import make_customer, make_deal, make_team, make_user


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


@pytest.fixture
async def customer_id(conn, rep):
    return await make_customer(conn, owner_id=rep.id)


async def test_deal_round_trip_with_forecast_and_history(client, conn, rep, customer_id):
    created = await client.post(
        "/api/v1/deals",
        json={
            "name": "Packaging line retrofit",
            "customer_id": str(customer_id),
            "amount": "120000.00",
            "expected_close_date": "2027-03-31",
            "need_description": "Replace three lines",
            "product": "PL-300",
        },
        headers=rep.headers,
    )
    assert created.status_code == 201, created.text
    deal = created.json()
    assert deal["stage"] == "development"
    assert deal["owner_id"] == str(rep.id)
    assert deal["amount"] == "120000.00"
    assert deal["win_probability_pct"] == "10.00"
    assert deal["weighted_amount"] == "12000.00"
    assert deal["is_stale"] is False
    assert created.headers["location"] == f"/api/v1/deals/{deal['id']}"
    assert created.headers["etag"] == '"1"'

    fetched = await client.get(created.headers["location"], headers=rep.headers)
    assert fetched.json() == deal

    patched = await client.patch(
        created.headers["location"],
        json={"amount": "200000.00", "product": None},
        headers={**rep.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["weighted_amount"] == "20000.00"
    assert patched.json()["product"] is None
    assert patched.headers["etag"] == '"2"'

    history = (await client.get(f"/api/v1/deals/{deal['id']}/history", headers=rep.headers)).json()
    assert [(h["from_stage"], h["to_stage"]) for h in history["items"]] == [(None, "development")]
    assert history["items"][0]["amount"] == "120000.00"
    assert history["items"][0]["changed_by"] == str(rep.id)

    audit = AuditEntry.__table__
    actions = (
        await conn.execute(
            sa.select(audit.c.action)
            .where(audit.c.entity_id == uuid.UUID(deal["id"]))
            .order_by(audit.c.at)
        )
    ).scalars()
    assert list(actions) == ["create", "update"]


async def test_deal_without_amount_has_no_weighted_amount(client, rep):
    created = await client.post("/api/v1/deals", json={"name": "Early idea"}, headers=rep.headers)
    assert created.status_code == 201
    assert created.json()["weighted_amount"] is None
    assert created.json()["customer_id"] is None


async def test_customer_must_be_visible(client, conn, settings, rep):
    other = await make_user(conn, settings, role=Role.rep)
    hidden = await make_customer(conn, owner_id=other.id)
    for customer in (hidden, uuid.uuid4()):
        response = await client.post(
            "/api/v1/deals",
            json={"name": "Poach", "customer_id": str(customer)},
            headers=rep.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "customer_id"
    deal = (await client.post("/api/v1/deals", json={"name": "x"}, headers=rep.headers)).json()
    patched = await client.patch(
        f"/api/v1/deals/{deal['id']}", json={"customer_id": str(hidden)}, headers=rep.headers
    )
    assert patched.status_code == 422


async def test_rep_cannot_give_a_deal_away_but_a_manager_can(client, conn, settings):
    team = await make_team(conn)
    rep = await make_user(conn, settings, role=Role.rep, team_id=team)
    other = await make_user(conn, settings, role=Role.rep, team_id=team)
    refused = await client.post(
        "/api/v1/deals", json={"name": "Mine", "owner_id": str(other.id)}, headers=rep.headers
    )
    assert refused.status_code == 403
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    given = await client.post(
        "/api/v1/deals", json={"name": "Yours", "owner_id": str(other.id)}, headers=manager.headers
    )
    assert given.status_code == 201
    assert given.json()["owner_id"] == str(other.id)
    inactive = await make_user(conn, settings, role=Role.rep, team_id=team, is_active=False)
    to_inactive = await client.patch(
        f"/api/v1/deals/{given.json()['id']}",
        json={"owner_id": str(inactive.id)},
        headers=manager.headers,
    )
    assert to_inactive.status_code == 422


async def test_patch_refuses_stage_and_names_the_action(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id)
    for field, action in [
        ("stage", "/transition"),
        ("presales_approved_at", "/presales-approval"),
        ("bid_amount", "/bid"),
    ]:
        response = await client.patch(
            f"/api/v1/deals/{deal_id}", json={field: "won"}, headers=rep.headers
        )
        assert response.status_code == 422
        assert action in response.text
    null_name = await client.patch(
        f"/api/v1/deals/{deal_id}", json={"name": None}, headers=rep.headers
    )
    assert null_name.status_code == 422


async def test_closed_deal_is_read_only(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id, stage="lost", closed_at=utcnow())
    response = await client.patch(
        f"/api/v1/deals/{deal_id}", json={"amount": "1.00"}, headers=rep.headers
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "deal_closed"


async def test_stale_if_match_is_412_and_changes_nothing(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id, name="Before")
    url = f"/api/v1/deals/{deal_id}"
    stale = await client.patch(
        url, json={"name": "After"}, headers={**rep.headers, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    assert (await client.get(url, headers=rep.headers)).json()["name"] == "Before"


async def test_idempotent_create_replays_and_makes_one_deal(client, conn, rep):
    headers = {**rep.headers, "Idempotency-Key": "deal-once"}
    first = await client.post("/api/v1/deals", json={"name": "Once"}, headers=headers)
    again = await client.post("/api/v1/deals", json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    history = DealStageChange.__table__
    count = (
        await conn.execute(
            sa.select(sa.func.count()).where(history.c.deal_id == uuid.UUID(first.json()["id"]))
        )
    ).scalar()
    assert count == 1
    listing = (await client.get("/api/v1/deals", headers=rep.headers)).json()
    assert [d["name"] for d in listing["items"]] == ["Once"]


async def test_hidden_deal_is_404_but_visible_to_the_owners_manager(client, conn, settings):
    team = await make_team(conn)
    owner = await make_user(conn, settings, role=Role.rep, team_id=team)
    other = await make_user(conn, settings, role=Role.rep, team_id=team)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    deal_id = await make_deal(conn, owner_id=owner.id)
    for path in ("", "/history", "/transitions"):
        url = f"/api/v1/deals/{deal_id}{path}"
        assert (await client.get(url, headers=owner.headers)).status_code == 200
        assert (await client.get(url, headers=other.headers)).status_code == 404
        assert (await client.get(url, headers=manager.headers)).status_code == 200
    lost = await client.post(
        f"/api/v1/deals/{deal_id}/transition",
        json={"to_stage": "lost", "lost_reason": "price"},
        headers=other.headers,
    )
    assert lost.status_code == 404
    listing = (await client.get("/api/v1/deals", headers=other.headers)).json()
    assert listing["items"] == []


async def test_support_agent_may_not_touch_deals(client, conn, settings):
    agent = await make_user(conn, settings, role=Role.support_agent)
    assert (await client.get("/api/v1/deals", headers=agent.headers)).status_code == 403


async def test_list_filters(client, conn, rep, customer_id):
    now = utcnow()
    other_customer = await make_customer(conn, owner_id=rep.id)
    stale = await make_deal(
        conn,
        owner_id=rep.id,
        customer_id=customer_id,
        stage="proposal",
        stage_changed_at=now - timedelta(days=30),
        expected_close_date=(now + timedelta(days=10)).date(),
    )
    fresh = await make_deal(
        conn,
        owner_id=rep.id,
        customer_id=other_customer,
        stage_changed_at=now - timedelta(days=29, hours=23),
        expected_close_date=(now + timedelta(days=40)).date(),
    )
    closed_long_ago = await make_deal(
        conn, owner_id=rep.id, stage="won", stage_changed_at=now - timedelta(days=400)
    )

    async def ids(query: str) -> set[uuid.UUID]:
        response = await client.get(f"/api/v1/deals?{query}", headers=rep.headers)
        assert response.status_code == 200, response.text
        return {uuid.UUID(d["id"]) for d in response.json()["items"]}

    assert await ids("stale=true") == {stale}
    assert await ids("stale=false") == {fresh, closed_long_ago}
    assert await ids("stage=proposal") == {stale}
    assert await ids(f"customer_id={other_customer}") == {fresh}
    assert await ids(f"owner_id={rep.id}") == {stale, fresh, closed_long_ago}
    cut = (now + timedelta(days=10)).date().isoformat()
    assert await ids(f"expected_close_before={cut}") == set()
    assert await ids(f"expected_close_after={cut}") == {stale, fresh}
    assert await ids("created_after=2000-01-01T00:00:00Z") == {stale, fresh, closed_long_ago}
    detail = (await client.get(f"/api/v1/deals/{stale}", headers=rep.headers)).json()
    assert detail["is_stale"] is True
    closed = (await client.get(f"/api/v1/deals/{closed_long_ago}", headers=rep.headers)).json()
    assert closed["is_stale"] is False
    assert closed["win_probability_pct"] == "100.00"


async def test_keyset_pages_cover_every_deal_once(client, conn, rep):
    same_instant = utcnow()
    for _ in range(7):
        await make_deal(conn, owner_id=rep.id, stage_changed_at=same_instant)
    for sort in ("created_at", "-updated_at", "stage_changed_at"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/deals", params=params, headers=rep.headers)).json()
            seen += [d["id"] for d in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7, sort


async def test_bad_inputs_are_problems_not_500s(client, conn, rep):
    deal_id = await make_deal(conn, owner_id=rep.id)
    cases = [
        ("get", "/api/v1/deals/not-a-uuid", {}, 400),
        ("get", "/api/v1/deals?stage=won_ish", {}, 422),
        ("get", "/api/v1/deals?sort=expected_close_date", {}, 422),
        ("get", "/api/v1/deals?created_after=2026-01-01T00:00:00", {}, 422),
        ("get", "/api/v1/deals?expected_close_before=tomorrow", {}, 422),
        ("get", "/api/v1/deals?stale=maybe", {}, 422),
        ("get", "/api/v1/deals?stage_is=won", {}, 400),
        ("get", "/api/v1/deals?cursor=garbage", {}, 400),
        ("get", f"/api/v1/deals/{deal_id}/history?cursor=garbage", {}, 400),
        ("post", "/api/v1/deals", {"json": {"name": "x", "amount": "-5"}}, 422),
        ("post", "/api/v1/deals", {"json": {"name": "x", "amount": "1.001"}}, 422),
        ("post", "/api/v1/deals", {"json": {"name": "x", "currency": "rmb"}}, 422),
        ("post", "/api/v1/deals", {"json": {"name": "x", "stage": "won"}}, 422),
        ("post", "/api/v1/deals", {"json": {"name": "x", "expected_close_date": "soon"}}, 422),
        ("post", f"/api/v1/deals/{deal_id}/transition", {"json": {"to_stage": "done"}}, 422),
        ("post", f"/api/v1/deals/{deal_id}/transition", {"json": {}}, 422),
        (
            "post",
            f"/api/v1/deals/{deal_id}/transition",
            {"json": {"to_stage": "initiation", "lost_reason": "price"}},
            422,
        ),
        ("post", f"/api/v1/deals/{deal_id}/bid", {"json": {"amount": "0"}}, 422),
        (
            "post",
            f"/api/v1/deals/{deal_id}/bid",
            {"json": {"amount": "5", "submitted_at": "2026-01-01T00:00:00"}},
            422,
        ),
    ]
    for method, url, kwargs, status in cases:
        response = await getattr(client, method)(url, headers=rep.headers, **kwargs)
        assert response.status_code == status, (url, kwargs, response.text)
        assert response.headers["content-type"] == "application/problem+json"

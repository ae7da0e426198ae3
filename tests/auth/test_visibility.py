"""Who sees and changes whose records: teams, unowned records, covering reps, sharing."""

from datetime import timedelta

from app.core.clock import utcnow
from tests.factories import (
    make_activity_row,
    make_contact,
    make_customer,
    make_task,
)


async def _status(client, actor, method, path, **kwargs):  # type: ignore[no-untyped-def]
    return (await client.request(method, path, headers=actor.headers, **kwargs)).status_code


async def test_another_teams_manager_cannot_reach_an_unassigned_ticket(client, company):
    ticket = f"/api/v1/tickets/{company.ids['ticket']}"
    west = company["west_manager"]
    assert await _status(client, west, "GET", ticket) == 404
    assert await _status(client, west, "PATCH", ticket, json={"subject": "Mine"}) == 404
    for action, body in (
        ("respond", {"public": True, "body": "On it"}),
        ("priority", {"priority": "urgent"}),
        ("assign", {"assignee_id": str(west.id)}),
    ):
        assert await _status(client, west, "POST", f"{ticket}/{action}", json=body) == 404
    listed = await client.get("/api/v1/tickets", headers=west.headers)
    assert str(company.ids["ticket"]) not in listed.text
    assert await _status(client, company["east_manager"], "GET", ticket) == 200


async def test_records_a_partner_created_follow_what_they_belong_to(client, conn, company):
    """An unowned customer is the directors'; an unowned activity or task is seen by the
    people of the customer or deal it is about, never by every manager."""
    now = utcnow()
    unowned = await make_customer(conn, owner_id=None)
    activity = await make_activity_row(
        conn, owner_id=None, occurred_at=now, customer_id=company.ids["customer"]
    )
    task = await make_task(
        conn, assignee_id=None, related_type="deal", related_id=company.ids["deal"]
    )
    paths = {
        "customer": f"/api/v1/customers/{unowned}",
        "activity": f"/api/v1/activities/{activity}",
        "task": f"/api/v1/tasks/{task}",
    }
    expected = {
        "west_manager": {"customer": 404, "activity": 404, "task": 404},
        "east_manager": {"customer": 404, "activity": 200, "task": 200},
        "east_rep": {"customer": 404, "activity": 200, "task": 200},
        "east_teammate": {"customer": 404, "activity": 404, "task": 404},
        "director": {"customer": 200, "activity": 200, "task": 200},
    }
    for actor, outcomes in expected.items():
        seen = {name: await _status(client, company[actor], "GET", p) for name, p in paths.items()}
        assert seen == outcomes, actor
    for actor in ("west_manager", "east_manager"):
        listed = await client.get("/api/v1/customers", headers=company[actor].headers)
        assert str(unowned) not in listed.text


async def test_a_named_manager_outside_the_team_still_manages_it(client, conn, company):
    """The manager named on a team sees its records, as the escalations assume."""
    from app.models import Team

    teams = Team.__table__  # type: ignore[attr-defined]
    boss = company["west_manager"]
    await conn.execute(
        teams.update().where(teams.c.id == company.ids["east"]).values(manager_id=boss.id)
    )
    customer = f"/api/v1/customers/{company.ids['customer']}"
    assert await _status(client, boss, "GET", customer) == 200
    assert await _status(client, company["west_rep"], "GET", customer) == 404


async def test_a_covering_rep_sees_the_account_but_cannot_take_or_archive_it(client, conn, company):
    owner, cover = company["east_rep"], company["west_rep"]
    customer_id = await make_customer(conn, owner_id=owner.id)
    await make_contact(conn, customer_id=customer_id, covering_rep_id=cover.id)
    path = f"/api/v1/customers/{customer_id}"
    assert await _status(client, cover, "GET", path) == 200
    taken = await client.patch(path, json={"owner_id": str(cover.id)}, headers=cover.headers)
    assert taken.status_code == 403, taken.text
    assert taken.json()["errors"][0]["code"] == "not_record_owner"
    renamed = await client.patch(path, json={"name": "Mine now"}, headers=cover.headers)
    assert renamed.status_code == 403
    assert renamed.json()["errors"][0]["code"] == "read_only_access"
    assert await _status(client, cover, "DELETE", path) == 403
    logged = await client.post(
        "/api/v1/activities",
        json={
            "kind": "call",
            "summary": "Covered engineering",
            "customer_id": str(customer_id),
            "occurred_at": utcnow().isoformat(),
        },
        headers=cover.headers,
    )
    assert logged.status_code == 201, logged.text
    kept = (await client.get(path, headers=owner.headers)).json()
    assert (kept["owner_id"], kept["archived_at"]) == (str(owner.id), None)


async def _share(client, actor, path):  # type: ignore[no-untyped-def]
    response = await client.patch(path, json={"shared_with_team": True}, headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.json()["shared_with_team"] is True
    return response


async def test_a_shared_record_is_the_teams_to_see_and_change_not_to_take(client, company):
    owner, mate, outsider = company["east_rep"], company["east_teammate"], company["west_rep"]
    for kind, field, value in (
        ("leads", "company_name", "Renamed by a teammate"),
        ("customers", "name", "Renamed by a teammate"),
        ("deals", "name", "Renamed by a teammate"),
    ):
        path = f"/api/v1/{kind}/{company.ids[kind[:-1]]}"
        assert await _status(client, mate, "GET", path) == 404, kind
        assert await _status(client, mate, "PATCH", path, json={"shared_with_team": True}) == 404
        await _share(client, owner, path)
        assert await _status(client, mate, "GET", path) == 200, kind
        assert await _status(client, outsider, "GET", path) == 404, kind
        listed = await client.get(f"/api/v1/{kind}", headers=mate.headers)
        assert str(company.ids[kind[:-1]]) in listed.text, kind
        edited = await client.patch(path, json={field: value}, headers=mate.headers)
        assert edited.status_code == 200, (kind, edited.text)
        for grab in ({"owner_id": str(mate.id)}, {"shared_with_team": False}):
            refused = await client.patch(path, json=grab, headers=mate.headers)
            assert refused.status_code == 403, (kind, grab, refused.text)
    assert (
        await _status(client, mate, "DELETE", f"/api/v1/customers/{company.ids['customer']}") == 403
    )


async def test_sharing_a_deal_shares_its_quotes_contracts_and_forecast(client, company):
    owner, mate = company["east_rep"], company["east_teammate"]
    quote = f"/api/v1/quotes/{company.ids['quote']}"
    contract = f"/api/v1/contracts/{company.ids['contract']}"
    deal = f"/api/v1/deals/{company.ids['deal']}"
    today = utcnow().date()
    dated = await client.patch(
        deal, json={"expected_close_date": today.isoformat()}, headers=owner.headers
    )
    assert dated.status_code == 200, dated.text
    period = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}

    async def forecast_count() -> int:
        report = await client.get(
            "/api/v1/reports/sales/forecast", params=period, headers=mate.headers
        )
        assert report.status_code == 200, report.text
        return sum(total["open_count"] for total in report.json()["totals"])

    assert await _status(client, mate, "GET", quote) == 404
    assert await _status(client, mate, "GET", contract) == 404
    assert await forecast_count() == 0
    await _share(client, owner, deal)
    assert await _status(client, mate, "GET", quote) == 200
    assert await _status(client, mate, "GET", contract) == 200
    assert await forecast_count() == 1


async def test_only_the_owner_or_their_manager_shares_and_it_is_audited(client, company):
    path = f"/api/v1/leads/{company.ids['lead']}"
    assert await _status(client, company["east_manager"], "GET", path) == 200
    await _share(client, company["east_manager"], path)
    trail = await client.get(
        "/api/v1/audit",
        params={"entity_id": str(company.ids["lead"])},
        headers=company["admin"].headers,
    )
    assert trail.status_code == 200, trail.text
    entries = trail.json()["items"]
    assert [(e["action"], e["after"]) for e in entries] == [
        ("handover", {"shared_with_team": True})
    ]


async def test_a_manager_assigns_only_within_the_team(client, conn, company):
    east_manager = company["east_manager"]
    deal = f"/api/v1/deals/{company.ids['deal']}"
    away = await client.patch(
        deal, json={"owner_id": str(company["west_rep"].id)}, headers=east_manager.headers
    )
    assert away.status_code == 403, away.text
    assert away.json()["errors"][0] == {
        "code": "assign_outside_team",
        "message": "not a member of your team",
        "field": "owner_id",
    }
    assert await _status(client, east_manager, "GET", deal) == 200
    within = await client.patch(
        deal, json={"owner_id": str(company["east_teammate"].id)}, headers=east_manager.headers
    )
    assert within.status_code == 200, within.text
    created = await client.post(
        "/api/v1/tasks",
        json={"title": "Call", "assignee_id": str(company["west_rep"].id)},
        headers=east_manager.headers,
    )
    assert created.status_code == 403
    director = await client.patch(
        deal, json={"owner_id": str(company["west_rep"].id)}, headers=company["director"].headers
    )
    assert director.status_code == 200
    to_agent = await client.post(
        f"/api/v1/tickets/{company.ids['ticket']}/assign",
        json={"assignee_id": str(company["agent"].id)},
        headers=east_manager.headers,
    )
    assert to_agent.status_code == 200, to_agent.text


async def test_leaving_a_record_unowned_is_for_directors(client, company):
    path = f"/api/v1/leads/{company.ids['lead']}"
    refused = await client.patch(
        path, json={"owner_id": None}, headers=company["east_manager"].headers
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "owner_id"
    left = await client.patch(path, json={"owner_id": None}, headers=company["director"].headers)
    assert (left.status_code, left.json()["owner_id"]) == (200, None)

import uuid
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.enums import Role
from app.core.errors import RuleViolation
from app.deals import service as deals_service
from app.models import AuditEntry, Contact, Customer, Deal, DealStageChange, Lead
from tests.factories import make_api_key, make_customer, make_lead, make_team, make_user

customers = Customer.__table__
contacts = Contact.__table__
deals = Deal.__table__
history = DealStageChange.__table__
leads = Lead.__table__
audit = AuditEntry.__table__


@pytest.fixture
async def rep(conn, settings):
    return await make_user(conn, settings, role=Role.rep)


async def qualified_lead(conn, owner_id, **values):
    values = {
        "status": "qualified",
        "company_name": "Acme Robotics",
        "contact_name": "Li Wei",
        "contact_title": "CTO",
        "email": "li.wei@acme.cn",
        "phone": "138 1234 5678",
        "industry": "manufacturing",
        "budget_confirmed": True,
        "budget_amount": Decimal("480000.00"),
        "need_description": "automated picking line",
        "expected_purchase_date": date(2026, 9, 30),
    } | values
    return await make_lead(conn, owner_id=owner_id, **values)


async def convert(client, actor, lead, body=None, **headers):
    return await client.post(
        f"/api/v1/leads/{lead}/convert", json=body or {}, headers={**actor.headers, **headers}
    )


async def count(conn, table) -> int:
    return (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar()


async def counts(conn) -> tuple[int, ...]:
    return tuple([await count(conn, t) for t in (customers, contacts, deals, history)])


async def test_conversion_creates_customer_contact_and_deal(client, conn, rep):
    lead = await qualified_lead(conn, rep.id)
    response = await convert(client, rep, lead, {"decision_role": "decision_maker"})
    assert response.status_code == 201, response.text
    body = response.json()
    customer, contact, deal = body["customer"], body["contact"], body["deal"]
    assert response.headers["location"] == f"/api/v1/deals/{deal['id']}"

    assert customer["name"] == "Acme Robotics"
    assert customer["industry"] == "manufacturing"
    assert customer["owner_id"] == str(rep.id)
    assert contact["customer_id"] == customer["id"]
    assert (contact["name"], contact["title"], contact["decision_role"]) == (
        "Li Wei",
        "CTO",
        "decision_maker",
    )
    assert contact["email"] == "li.wei@acme.cn"
    assert deal["stage"] == "development"
    assert (deal["customer_id"], deal["lead_id"], deal["owner_id"]) == (
        customer["id"],
        str(lead),
        str(rep.id),
    )
    assert deal["amount"] == "480000.00"
    assert deal["expected_close_date"] == "2026-09-30"
    assert deal["need_description"] == "automated picking line"

    converted = body["lead"]
    assert converted["status"] == "converted"
    assert converted["converted_customer_id"] == customer["id"]
    assert converted["converted_contact_id"] == contact["id"]
    assert converted["converted_deal_id"] == deal["id"]
    assert converted["converted_at"] is not None
    fetched = await client.get(f"/api/v1/leads/{lead}", headers=rep.headers)
    assert fetched.json() == converted

    [change] = (
        (await conn.execute(sa.select(history).where(history.c.deal_id == uuid.UUID(deal["id"]))))
        .mappings()
        .all()
    )
    assert change["from_stage"] is None
    assert change["to_stage"] == "development"
    assert change["changed_by"] == rep.id
    assert change["amount"] == Decimal("480000.00")
    assert change["expected_close_date"] == date(2026, 9, 30)
    audited = (
        await conn.execute(
            sa.select(audit.c.action).where(audit.c.entity_id.in_([uuid.UUID(deal["id"]), lead]))
        )
    ).scalars()
    assert sorted(audited) == ["converted", "create"]


async def test_contact_role_defaults_to_user(client, conn, rep):
    lead = await qualified_lead(conn, rep.id)
    body = (await convert(client, rep, lead)).json()
    assert body["contact"]["decision_role"] == "user"


async def test_only_qualified_leads_convert_and_only_once(client, conn, rep):
    contacted = await qualified_lead(conn, rep.id, status="contacted")
    refused = await convert(client, rep, contacted)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "lead_not_qualified"

    lead = await qualified_lead(conn, rep.id)
    assert (await convert(client, rep, lead)).status_code == 201
    before = await counts(conn)
    twice = await convert(client, rep, lead)
    assert twice.status_code == 409
    assert twice.json()["errors"][0]["code"] == "lead_already_converted"
    assert await counts(conn) == before


async def test_attaches_to_an_existing_visible_customer(client, conn, rep):
    existing = await make_customer(conn, owner_id=rep.id, name="Acme Group")
    lead = await qualified_lead(conn, rep.id)
    response = await convert(client, rep, lead, {"customer_id": str(existing)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["customer"]["id"] == str(existing)
    assert body["customer"]["name"] == "Acme Group"
    assert body["deal"]["customer_id"] == str(existing)
    assert await count(conn, customers) == 1


async def test_an_invalid_customer_leaves_nothing_behind(client, conn, settings, rep):
    other = await make_user(conn, settings)
    hidden = await make_customer(conn, owner_id=other.id)
    lead = await qualified_lead(conn, rep.id)
    before = await counts(conn)
    for customer_id in (hidden, uuid.uuid4()):
        response = await convert(client, rep, lead, {"customer_id": str(customer_id)})
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "reference_not_found"
    assert await counts(conn) == before
    status = (await conn.execute(sa.select(leads.c.status).where(leads.c.id == lead))).scalar()
    assert status == "qualified"


async def test_a_failure_midway_rolls_back_customer_contact_and_deal(
    client, conn, rep, monkeypatch
):
    real_create_deal = deals_service.create_deal

    async def create_deal_then_fail(*args, **kwargs):
        await real_create_deal(*args, **kwargs)
        raise RuleViolation("the deal could not be opened")

    lead = await qualified_lead(conn, rep.id)
    before = await counts(conn)
    monkeypatch.setattr(deals_service, "create_deal", create_deal_then_fail)
    response = await convert(client, rep, lead)
    assert response.status_code == 422
    assert await counts(conn) == before
    monkeypatch.undo()
    row = (await conn.execute(sa.select(leads).where(leads.c.id == lead))).mappings().one()
    assert row["status"] == "qualified"
    assert row["converted_deal_id"] is None
    assert (await convert(client, rep, lead)).status_code == 201


async def test_conversion_replays_with_the_same_idempotency_key(client, conn, rep):
    lead = await qualified_lead(conn, rep.id)
    headers = {"Idempotency-Key": "convert-1"}
    first = await convert(client, rep, lead, **headers)
    again = await convert(client, rep, lead, **headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await count(conn, deals) == 1


async def test_conversion_honours_if_match(client, conn, rep):
    lead = await qualified_lead(conn, rep.id)
    before = await counts(conn)
    stale = await convert(client, rep, lead, **{"If-Match": '"7"'})
    assert stale.status_code == 412
    assert await counts(conn) == before
    assert (await convert(client, rep, lead, **{"If-Match": '"1"'})).status_code == 201


async def test_someone_elses_lead_is_404(client, conn, settings, rep):
    other = await make_user(conn, settings)
    lead = await qualified_lead(conn, other.id)
    assert (await convert(client, rep, lead)).status_code == 404


async def test_a_manager_converts_a_team_reps_lead_for_that_rep(client, conn, settings):
    team = await make_team(conn)
    member = await make_user(conn, settings, team_id=team)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    lead = await qualified_lead(conn, member.id)
    body = (await convert(client, manager, lead)).json()
    assert body["customer"]["owner_id"] == str(member.id)
    assert body["deal"]["owner_id"] == str(member.id)


async def test_a_lead_without_a_contact_name_cannot_convert(client, conn, rep):
    lead = await qualified_lead(conn, rep.id, contact_name=None)
    response = await convert(client, rep, lead)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contact_name"


async def test_a_partner_key_needs_every_scope_conversion_writes(client, conn, rep):
    lead = await qualified_lead(conn, rep.id)
    key = await make_api_key(conn, scopes=["leads:write", "leads:read"])
    assert (await convert(client, key, lead)).status_code == 403

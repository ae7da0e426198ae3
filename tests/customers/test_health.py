from datetime import timedelta
from decimal import Decimal

from app.core.clock import utcnow
from app.core.enums import ContractStatus, DealStage, Role
from app.models import Contract, Deal, PaymentMilestone, Quote, QuoteVersion
from tests.factories import insert, make_customer, make_team, make_user


async def _ids(client, actor, query):
    page = (await client.get(f"/api/v1/customers?{query}&limit=200", headers=actor.headers)).json()
    return {item["id"] for item in page["items"]}


async def test_warning_filters_at_their_day_boundaries(client, conn, settings):
    rep = await make_user(conn, settings)
    now = utcnow()
    never = await make_customer(conn, owner_id=rep.id)
    day_59 = await make_customer(
        conn, owner_id=rep.id, last_contact_at=now - timedelta(days=59, hours=23)
    )
    day_60 = await make_customer(
        conn, owner_id=rep.id, last_contact_at=now - timedelta(days=60, minutes=1)
    )
    bought_179 = await make_customer(
        conn, owner_id=rep.id, last_purchase_at=now - timedelta(days=179, hours=23)
    )
    bought_180 = await make_customer(
        conn, owner_id=rep.id, last_purchase_at=now - timedelta(days=180, minutes=1)
    )

    assert await _ids(client, rep, "warning=never_contacted") >= {str(never)}
    no_contact = await _ids(client, rep, "warning=no_contact_60d")
    assert str(day_60) in no_contact and str(day_59) not in no_contact
    no_purchase = await _ids(client, rep, "warning=no_purchase_180d")
    assert str(bought_180) in no_purchase and str(bought_179) not in no_purchase

    health = (await client.get(f"/api/v1/customers/{day_60}/health", headers=rep.headers)).json()
    assert [w["code"] for w in health["warnings"]] == ["no_contact_60d", "never_purchased"]
    assert health["reminders"][0]["days"] == 60


async def _contract_with_milestone(
    conn, customer_id, owner_id, due_days_ago, status=ContractStatus.signed
):
    deal = await insert(
        conn,
        Deal,
        name="d",
        customer_id=customer_id,
        owner_id=owner_id,
        stage=DealStage.implementation,
        currency="CNY",
        stage_changed_at=utcnow(),
    )
    quote = await insert(conn, Quote, deal_id=deal["id"], title="q", status="accepted")
    version = await insert(
        conn,
        QuoteVersion,
        quote_id=quote["id"],
        number=1,
        status="accepted",
        valid_until=utcnow().date(),
        fingerprint="f" * 64,
    )
    contract = await insert(
        conn,
        Contract,
        title="c",
        quote_id=quote["id"],
        quote_version_id=version["id"],
        deal_id=deal["id"],
        customer_id=customer_id,
        owner_id=owner_id,
        status=status,
        amount=Decimal(100),
        currency="CNY",
    )
    await insert(
        conn,
        PaymentMilestone,
        contract_id=contract["id"],
        position=1,
        kind="advance",
        percent=Decimal(100),
        amount=Decimal(100),
        anchor="signing",
        days_after=0,
        due_date=utcnow().date() - timedelta(days=due_days_ago),
    )


async def test_payment_overdue_warning_starts_after_15_days(client, conn, settings):
    rep = await make_user(conn, settings)
    fifteen = await make_customer(conn, owner_id=rep.id)
    sixteen = await make_customer(conn, owner_id=rep.id)
    await _contract_with_milestone(conn, fifteen, rep.id, 15)
    await _contract_with_milestone(conn, sixteen, rep.id, 16)
    overdue = await _ids(client, rep, "warning=payment_overdue_15d")
    assert str(sixteen) in overdue and str(fifteen) not in overdue


async def test_a_terminated_contracts_milestones_are_not_overdue(client, conn, settings):
    rep = await make_user(conn, settings)
    ended = await make_customer(conn, owner_id=rep.id)
    await _contract_with_milestone(conn, ended, rep.id, 40, status=ContractStatus.terminated)
    both = await make_customer(conn, owner_id=rep.id)
    await _contract_with_milestone(conn, both, rep.id, 40, status=ContractStatus.terminated)
    await _contract_with_milestone(conn, both, rep.id, 20)
    overdue = await _ids(client, rep, "warning=payment_overdue_15d")
    assert str(both) in overdue and str(ended) not in overdue

    async def payment_warnings(customer_id):  # type: ignore[no-untyped-def]
        url = f"/api/v1/customers/{customer_id}/health"
        health = (await client.get(url, headers=rep.headers)).json()
        return [w["message"] for w in health["warnings"] if w["code"] == "payment_overdue_15d"]

    assert await payment_warnings(ended) == []
    # The live contract's milestone (20 days) is reported, not the void one (40 days).
    assert await payment_warnings(both) == ["A payment milestone is 20 days overdue"]


async def test_tier_override_needs_a_manager_and_keeps_the_computed_reason(client, conn, settings):
    team = await make_team(conn)
    rep = await make_user(conn, settings, team_id=team)
    manager = await make_user(conn, settings, role=Role.manager, team_id=team)
    customer_id = await make_customer(conn, owner_id=rep.id)
    url = f"/api/v1/customers/{customer_id}/tier-override"
    body = {"tier": "strategic", "reason": "group-level framework agreement"}
    assert (await client.post(url, json=body, headers=rep.headers)).status_code == 403
    response = await client.post(url, json=body, headers=manager.headers)
    assert response.status_code == 200, response.text
    customer = response.json()
    assert customer["tier"] == "strategic"
    assert customer["tier_override_reason"] == body["reason"]
    assert customer["tier_reason"] == "manual override strategic: group-level framework agreement"
    assert customer["computed_tier"] == "potential"
    assert customer["computed_tier_reason"] == "potential: R=1 F=1 M=1"
    cleared = (await client.delete(url, headers=manager.headers)).json()
    assert cleared["tier"] == "potential" and cleared["tier_override"] is None
    assert cleared["tier_reason"] == cleared["computed_tier_reason"] == "potential: R=1 F=1 M=1"

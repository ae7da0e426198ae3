"""Review → approval → signing → delivery → acceptance → close, and what each step moves."""

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.contracts.schemas import ChangeRequestRead, ContractDetail, DeliveryRead, MilestoneRead
from app.core.clock import utcnow
from app.core.enums import Role
from app.models import AuditEntry, Deal, DealStageChange, PaymentMilestone, Task, User
from tests.contracts.helpers import (
    act,
    add,
    backdate_signing,
    create_contract,
    delivered,
    signed,
    step,
)
from tests.factories import make_deal, make_quote, make_task, make_user
from tests.quotes.helpers import assert_shape, codes


async def _deal(conn, deal_id):
    return (await conn.execute(sa.select(Deal.__table__).where(Deal.id == deal_id))).one()


async def _history(conn, deal_id):
    history = DealStageChange.__table__
    rows = await conn.execute(
        sa.select(history.c.from_stage, history.c.to_stage, history.c.changed_by)
        .where(history.c.deal_id == deal_id)
        .order_by(history.c.changed_at)
    )
    return [tuple(row) for row in rows]


async def test_review_approve_and_sign_move_the_deal_to_implementation(
    client, conn, rep, manager, quote, deal_id
):
    contract = await create_contract(client, rep, quote)
    early = await act(client, rep, contract, "sign")
    assert early.status_code == 409
    assert codes(early) == ["contract.sign_requires_approval"]

    contract = await step(client, rep, contract, "submit-review")
    assert contract["status"] == "in_review"
    assert contract["submitted_for_review_at"] is not None
    by_rep = await act(client, rep, contract, "approve")
    assert by_rep.status_code == 403
    contract = await step(client, manager, contract, "approve")
    assert (contract["status"], contract["approved_by"]) == ("approved", str(manager.id))

    contract = await step(client, rep, contract, "sign")
    assert contract["status"] == "signed"
    signed_on = datetime.fromisoformat(contract["signed_at"]).astimezone(UTC).date()
    due = [m["due_date"] for m in contract["milestones"]]
    assert due == [signed_on.isoformat(), None, None]  # advance: 0 days after signing
    assert (await _deal(conn, deal_id)).stage == "implementation"
    assert await _history(conn, deal_id) == [("negotiation", "implementation", rep.id)]


async def test_owner_may_not_approve_their_own_contract(client, conn, settings, rep, quote):
    contract = await step(client, rep, await create_contract(client, rep, quote), "submit-review")
    # The rep became a manager: allowed to approve contracts, but not this one.
    await conn.execute(sa.update(User.__table__).where(User.id == rep.id).values(role=Role.manager))
    response = await act(client, rep, contract, "approve")
    assert response.status_code == 403
    assert codes(response) == ["approval.self_approval"]


async def test_return_to_draft_and_stale_if_match(client, rep, manager, quote):
    contract = await step(client, rep, await create_contract(client, rep, quote), "submit-review")
    back = await step(client, manager, contract, "return-to-draft")
    assert (back["status"], back["submitted_for_review_at"]) == ("draft", None)
    stale = await act(client, rep, contract, "submit-review")
    assert stale.status_code == 412


async def test_signing_needs_the_deal_in_negotiation(client, conn, rep, manager, customer_id):
    deal = await make_deal(conn, owner_id=rep.id, customer_id=customer_id, stage="bidding")
    made = await make_quote(conn, deal_id=deal, owner_id=rep.id, status="accepted")
    contract = await create_contract(client, rep, made)
    contract = await step(client, rep, contract, "submit-review")
    contract = await step(client, manager, contract, "approve")
    response = await act(client, rep, contract, "sign")
    assert response.status_code == 409
    assert codes(response) == ["contract.deal_stage_mismatch"]
    assert "bidding" in response.json()["detail"]
    fetched = await client.get(f"/api/v1/contracts/{contract['id']}", headers=rep.headers)
    assert fetched.json()["status"] == "approved"  # nothing half-done


async def test_delivery_to_acceptance_wins_the_deal_and_creates_after_sales_tasks(
    client, conn, rep, manager, quote, deal_id
):
    contract = await signed(client, rep, manager, quote)
    contract, delivery = await add(
        client, rep, contract, "deliveries", {"planned_date": "2026-05-01"}
    )
    assert (delivery["status"], delivery["planned_date"]) == ("scheduled", "2026-05-01")
    assert delivery["notice_date"] == "2026-04-29"
    progress = f"deliveries/{delivery['id']}/progress"

    skip = await act(client, rep, contract, progress, {"status": "arrived"})
    assert skip.status_code == 409
    assert codes(skip) == ["delivery.skip_not_allowed"]
    contract = await step(client, rep, contract, progress, {"status": "shipped"})
    assert contract["status"] == "in_delivery"
    again = await act(client, rep, contract, progress, {"status": "shipped"})
    assert codes(again) == ["delivery.same_status"]
    contract = await step(client, rep, contract, progress, {"status": "arrived"})
    contract = await step(client, rep, contract, progress, {"status": "installed"})
    assert contract["status"] == "delivered"
    delivered_on = datetime.fromisoformat(contract["delivered_at"]).date()
    assert contract["milestones"][1]["due_date"] == str(delivered_on + timedelta(days=10))

    contract = await step(client, rep, contract, "accept", {"kind": "explicit"})
    assert (contract["status"], contract["acceptance_kind"]) == ("accepted", "explicit")
    accepted_at = datetime.fromisoformat(contract["accepted_at"])
    assert contract["milestones"][2]["due_date"] == str(accepted_at.date() + timedelta(days=30))
    assert contract["deliveries"][0]["acceptance_kind"] == "explicit"
    deal = await _deal(conn, deal_id)
    assert (deal.stage, deal.closed_from_stage) == ("won", "implementation")
    assert [h[1] for h in await _history(conn, deal_id)] == ["implementation", "won"]
    customer = (
        await client.get(f"/api/v1/customers/{contract['customer_id']}", headers=rep.headers)
    ).json()
    assert customer["last_purchase_at"] == deal.closed_at.isoformat().replace("+00:00", "Z")

    tasks = Task.__table__
    rows = (
        await conn.execute(
            sa.select(tasks.c.kind, tasks.c.assignee_id, tasks.c.due_at, tasks.c.dedupe_key)
            .where(
                tasks.c.related_id == uuid.UUID(contract["id"]),
                tasks.c.kind != "delivery_notice",
            )
            .order_by(tasks.c.due_at)
        )
    ).all()
    assert [(r.kind, r.assignee_id, r.dedupe_key) for r in rows] == [
        ("satisfaction_survey", rep.id, f"satisfaction_survey:{contract['id']}"),
        ("first_visit", rep.id, f"first_visit:{contract['id']}"),
    ]
    assert [r.due_at - accepted_at for r in rows] == [timedelta(hours=24), timedelta(hours=72)]

    assert_shape(ContractDetail, contract)
    assert_shape(MilestoneRead, contract["milestones"][0])
    assert_shape(DeliveryRead, contract["deliveries"][0])
    closed = await step(client, rep, contract, "close")
    assert closed["status"] == "closed"
    assert (await act(client, rep, closed, "terminate", {"reason": "late"})).status_code == 409


async def test_a_duty_that_already_has_a_task_is_not_created_twice(
    client, conn, rep, manager, quote
):
    contract = await delivered(client, rep, await signed(client, rep, manager, quote))
    await make_task(
        conn,
        assignee_id=rep.id,
        kind="satisfaction_survey",
        dedupe_key=f"satisfaction_survey:{contract['id']}",
    )
    await step(client, rep, contract, "accept")
    tasks = Task.__table__
    kinds = (
        await conn.execute(
            sa.select(tasks.c.kind).where(tasks.c.dedupe_key.like(f"%:{contract['id']}"))
        )
    ).scalars()
    assert sorted(kinds) == ["first_visit", "satisfaction_survey"]


async def test_silence_after_the_acceptance_window_counts_as_acceptance(
    client, conn, rep, manager, quote, deal_id
):
    now = utcnow()
    arrived = now - timedelta(days=3, minutes=1)
    contract = await signed(client, rep, manager, quote)
    await backdate_signing(conn, contract, arrived - timedelta(days=2))
    contract = await delivered(
        client,
        rep,
        contract,
        shipped=(arrived - timedelta(days=1)).isoformat(),
        arrived=arrived.isoformat(),
        installed=(arrived + timedelta(minutes=1)).isoformat(),
    )
    contract = await step(client, rep, contract, "deem-acceptance")
    assert (contract["status"], contract["acceptance_kind"]) == ("accepted", "deemed")
    assert datetime.fromisoformat(contract["accepted_at"]) == arrived + timedelta(days=3)
    assert contract["deliveries"][0]["acceptance_kind"] == "deemed"
    deal = await _deal(conn, deal_id)
    assert (deal.stage, deal.closed_at) == ("won", arrived + timedelta(days=3))


async def test_deemed_acceptance_is_never_dated_before_the_last_installation(
    client, conn, rep, manager, quote
):
    now = utcnow()
    arrived = now - timedelta(days=4)
    installed = now - timedelta(hours=1)  # a day after the window closed
    contract = await signed(client, rep, manager, quote)
    await backdate_signing(conn, contract, arrived - timedelta(days=1))
    contract = await delivered(
        client,
        rep,
        contract,
        shipped=(arrived - timedelta(hours=5)).isoformat(),
        arrived=arrived.isoformat(),
        installed=installed.isoformat(),
    )
    contract = await step(client, rep, contract, "deem-acceptance")
    assert datetime.fromisoformat(contract["accepted_at"]) == installed
    assert datetime.fromisoformat(contract["delivered_at"]) == installed


async def test_no_deemed_acceptance_while_the_window_is_open(client, conn, rep, manager, quote):
    arrived = utcnow() - timedelta(days=3) + timedelta(minutes=1)
    contract = await signed(client, rep, manager, quote)
    await backdate_signing(conn, contract, arrived - timedelta(days=1))
    contract = await delivered(
        client,
        rep,
        contract,
        shipped=(arrived - timedelta(hours=1)).isoformat(),
        arrived=arrived.isoformat(),
    )
    response = await act(client, rep, contract, "deem-acceptance")
    assert response.status_code == 422
    assert codes(response) == ["acceptance.window_open"]


async def test_delivery_times_cannot_be_in_the_future_or_out_of_order(
    client, conn, rep, manager, quote, deal_id
):
    contract = await signed(client, rep, manager, quote)
    signed_at = utcnow() - timedelta(days=2)
    await backdate_signing(conn, contract, signed_at)
    contract, delivery = await add(client, rep, contract, "deliveries", {})
    progress = f"deliveries/{delivery['id']}/progress"

    async def refused(status, at):
        response = await act(client, rep, contract, progress, {"status": status, "at": at})
        assert response.status_code == 422, response.text
        return [(e["code"], e["field"]) for e in response.json()["errors"]]

    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert await refused("shipped", future) == [("in_future", "at")]
    before_signing = (signed_at - timedelta(seconds=1)).isoformat()
    assert await refused("shipped", before_signing) == [("before_signing", "at")]
    shipped_at = utcnow() - timedelta(days=1)
    contract = await step(
        client, rep, contract, progress, {"status": "shipped", "at": shipped_at.isoformat()}
    )
    earlier = (shipped_at - timedelta(seconds=1)).isoformat()
    assert await refused("arrived", earlier) == [("before_previous_step", "at")]
    ancient = await act(
        client, rep, contract, progress, {"status": "arrived", "at": "0001-01-01T00:00:00+05:00"}
    )
    assert ancient.status_code == 422
    naive = await act(
        client, rep, contract, progress, {"status": "arrived", "at": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 422
    other = await act(
        client, rep, contract, f"deliveries/{uuid.uuid4()}/progress", {"status": "shipped"}
    )
    assert other.status_code == 404


async def test_only_a_signed_contract_ships(client, rep, quote):
    contract = await create_contract(client, rep, quote)
    contract, delivery = await add(client, rep, contract, "deliveries", {})
    progress = f"deliveries/{delivery['id']}/progress"
    response = await act(client, rep, contract, progress, {"status": "shipped"})
    assert response.status_code == 409
    assert codes(response) == ["contract.action_not_allowed"]


async def test_acceptance_needs_delivery(client, rep, manager, quote):
    contract = await signed(client, rep, manager, quote)
    response = await act(client, rep, contract, "accept")
    assert response.status_code == 409
    deemed = await act(client, rep, contract, "deem-acceptance")
    assert deemed.status_code == 409
    assert (await act(client, rep, contract, "accept", {"kind": "deemed"})).status_code == 422


async def test_termination_needs_a_reason(client, rep, quote):
    contract = await create_contract(client, rep, quote)
    blank = await act(client, rep, contract, "terminate", {"reason": "  "})
    assert blank.status_code == 422
    assert codes(blank) == ["contract.termination_reason_required"]
    ended = await step(client, rep, contract, "terminate", {"reason": "Customer went bankrupt"})
    assert (ended["status"], ended["termination_reason"]) == (
        "terminated",
        "Customer went bankrupt",
    )
    assert ended["terminated_at"] is not None
    patch = await client.patch(
        f"/api/v1/contracts/{contract['id']}", json={"title": "x"}, headers=rep.headers
    )
    assert patch.status_code == 409


async def test_milestone_payments_and_overdue_days(client, conn, rep, manager, quote):
    draft = await create_contract(client, rep, quote)
    first_id = draft["milestones"][0]["id"]
    early = await act(client, rep, draft, f"milestones/{first_id}/pay")
    assert early.status_code == 409
    assert codes(early) == ["milestone.contract_not_signed"]

    contract = await step(client, rep, draft, "submit-review")
    contract = await step(client, manager, contract, "approve")
    contract = await step(client, rep, contract, "sign")
    milestones = PaymentMilestone.__table__
    twenty_days_ago = utcnow().date() - timedelta(days=20)
    await conn.execute(
        milestones.update()
        .where(milestones.c.id == uuid.UUID(first_id))
        .values(due_date=twenty_days_ago)
    )
    fetched = (await client.get(f"/api/v1/contracts/{contract['id']}", headers=rep.headers)).json()
    assert fetched["milestones"][0]["overdue_days"] == 20

    paid = await step(client, rep, fetched, f"milestones/{first_id}/pay", {"amount": "2999.50"})
    first = paid["milestones"][0]
    assert (first["paid_amount"], first["overdue_days"]) == ("2999.50", 0)
    assert first["paid_at"] is not None
    again = await act(client, rep, paid, f"milestones/{first_id}/pay")
    assert again.status_code == 409
    assert codes(again) == ["milestone.already_paid"]
    missing = await act(client, rep, paid, f"milestones/{uuid.uuid4()}/pay")
    assert missing.status_code == 404


async def test_change_requests_change_the_amount_only_once_approved(
    client, conn, settings, team, rep, manager, quote
):
    draft = await create_contract(client, rep, quote)
    refused = await act(
        client, rep, draft, "change-requests", {"description": "Extra sensor", "extra_fee": "500"}
    )
    assert refused.status_code == 422
    assert codes(refused) == ["change_request.contract_not_active"]

    contract = await step(client, rep, draft, "submit-review")
    contract = await step(client, manager, contract, "approve")
    contract = await step(client, rep, contract, "sign")
    contract, change = await add(
        client,
        rep,
        contract,
        "change-requests",
        {"description": "Extra sensor", "extra_fee": "500"},
    )
    assert (change["status"], contract["amount"]) == ("pending", "10000.00")
    by_rep = await act(client, rep, contract, f"change-requests/{change['id']}/approve")
    assert by_rep.status_code == 403

    contract = await step(client, manager, contract, f"change-requests/{change['id']}/approve")
    assert contract["amount"] == "10500.00"
    assert contract["change_requests"][0]["decided_by"] == str(manager.id)
    assert_shape(ChangeRequestRead, contract["change_requests"][0])
    assert [m["amount"] for m in contract["milestones"]] == ["3150.00", "6300.00", "1050.00"]
    twice = await act(client, manager, contract, f"change-requests/{change['id']}/reject")
    assert twice.status_code == 409

    contract, own = await add(
        client,
        manager,
        contract,
        "change-requests",
        {"description": "Gold plating", "extra_fee": "9"},
    )
    self_decided = await act(client, manager, contract, f"change-requests/{own['id']}/approve")
    assert self_decided.status_code == 403
    assert codes(self_decided) == ["approval.self_approval"]
    director = await make_user(conn, settings, role=Role.director)
    contract = await step(client, director, contract, f"change-requests/{own['id']}/reject")
    assert contract["change_requests"][-1]["status"] == "rejected"
    assert contract["amount"] == "10500.00"

    huge = {"description": "Everything", "extra_fee": "9999999999999.99"}
    contract, unaffordable = await add(client, rep, contract, "change-requests", huge)
    too_much = await act(
        client, director, contract, f"change-requests/{unaffordable['id']}/approve"
    )
    assert too_much.status_code == 422
    assert codes(too_much) == ["amount_too_large"]


async def test_every_action_is_in_the_audit_trail(client, conn, rep, manager, quote, deal_id):
    contract = await signed(client, rep, manager, quote)
    audit = AuditEntry.__table__
    rows = (
        await conn.execute(
            sa.select(audit.c.action, audit.c.entity_type, audit.c.after)
            .where(audit.c.entity_id.in_([uuid.UUID(contract["id"]), deal_id]))
            .order_by(audit.c.at)
        )
    ).all()
    assert [(r.entity_type, r.action) for r in rows] == [
        ("contract", "create"),
        ("contract", "submit_for_review"),
        ("contract", "approve"),
        ("deal", "transition"),
        ("contract", "sign"),
    ]
    assert rows[-1].after["status"] == "signed"

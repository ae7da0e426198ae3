"""Every contract change emits exactly its event — and a change to a delivery, a payment
milestone or a change request that record's own — with its audit entry; a refused one
emits none. Driven over HTTP (the deadline job directly), read from the feed."""

import uuid
from datetime import timedelta

import sqlalchemy as sa

from app.contracts.deadlines import deem_due_acceptances
from app.core.clock import utcnow
from app.events.outbox import events_table
from app.models import AuditEntry
from tests.contracts.conftest import customer_id, deal_id, manager, quote, rep, team
from tests.contracts.helpers import (
    act,
    add,
    backdate_signing,
    create_contract,
    delivered,
    read,
    signed,
    step,
)
from tests.events.feed import events_of, types_of

__all__ = ["customer_id", "deal_id", "manager", "quote", "rep", "team"]


async def test_a_contract_through_review_and_signing(client, rep, manager, quote, deal_id):
    contract = await create_contract(client, rep, quote)
    headers = {**rep.headers, "If-Match": '"1"'}
    edited = await client.patch(
        f"/api/v1/contracts/{contract['id']}", json={"title": "Renamed"}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    contract = await step(client, rep, edited.json(), "submit-review")
    contract = await step(client, manager, contract, "return-to-draft")
    contract = await step(client, rep, contract, "submit-review")
    contract = await step(client, manager, contract, "approve")
    contract = await step(client, rep, contract, "sign")

    events = await events_of(client, rep, contract["id"])
    assert [e["type"] for e in events] == [
        "contract.created",
        "contract.updated",
        "contract.submitted_for_review",
        "contract.returned_to_draft",
        "contract.submitted_for_review",
        "contract.approved",
        "contract.signed",
    ]
    assert [e["record_version"] for e in events] == [1, 2, 3, 4, 5, 6, 7]
    assert (events[-1]["previous"]["status"], events[-1]["data"]["status"]) == (
        "approved",
        "signed",
    )
    # Signing moved the deal on, through the deals pipeline.
    [moved] = await events_of(client, rep, deal_id)
    assert (moved["type"], moved["data"]["stage"]) == ("deal.stage_changed", "implementation")


async def test_deliveries_payments_and_acceptance(client, conn, rep, manager, quote, deal_id):
    contract = await signed(client, rep, manager, quote)
    contract, delivery = await add(client, rep, contract, "deliveries", {})
    contract_events = len(await events_of(client, rep, contract["id"]))
    path = f"deliveries/{delivery['id']}/progress"
    for status in ("shipped", "arrived", "installed"):
        contract = await step(client, rep, contract, path, {"status": status})
    assert await types_of(client, rep, delivery["id"]) == [
        "delivery.scheduled",
        "delivery.progressed",
        "delivery.progressed",
        "delivery.progressed",
    ]
    # The first shipment and the last installation change the contract's status too.
    later = (await events_of(client, rep, contract["id"]))[contract_events:]
    assert [(e["type"], e["data"]["status"]) for e in later] == [
        ("contract.updated", "in_delivery"),
        ("contract.updated", "delivered"),
    ]
    # One change, two records: the contract's event, then the delivery's, next to each
    # other in the feed's order (read from the table: the feed's horizon is the server's).
    ids = [uuid.UUID(contract["id"]), uuid.UUID(delivery["id"])]
    order = sa.select(events_table.c.type).where(events_table.c.record_id.in_(ids))
    feed = (await conn.execute(order.order_by(events_table.c.seq))).scalars().all()
    first = feed.index("contract.updated")
    assert feed[first - 1 : first + 2] == [
        "delivery.scheduled",
        "contract.updated",
        "delivery.progressed",
    ]

    advance = contract["milestones"][0]
    contract = await step(client, rep, contract, f"milestones/{advance['id']}/pay")
    [paid] = await events_of(client, rep, advance["id"])
    assert (paid["type"], paid["record_id"]) == ("milestone.paid", advance["id"])
    assert paid["data"]["contract_id"] == contract["id"]

    contract = await step(client, rep, contract, "accept")
    contract = await step(client, rep, contract, "close")
    assert (await types_of(client, rep, delivery["id"]))[-1] == "delivery.accepted"
    assert (await types_of(client, rep, contract["id"]))[-2:] == [
        "contract.accepted",
        "contract.closed",
    ]
    stages = [e["data"]["stage"] for e in await events_of(client, rep, deal_id)]
    assert stages == ["implementation", "won"]


async def test_change_requests_are_their_own_records(client, rep, manager, quote):
    contract = await signed(client, rep, manager, quote)
    change = {"description": "Extra sensor", "extra_fee": "500"}
    contract, approved = await add(client, rep, contract, "change-requests", change)
    contract, rejected = await add(client, rep, contract, "change-requests", change)
    before = len(await events_of(client, rep, contract["id"]))
    contract = await step(client, manager, contract, f"change-requests/{approved['id']}/approve")
    contract = await step(client, manager, contract, f"change-requests/{rejected['id']}/reject")
    assert await types_of(client, rep, approved["id"]) == [
        "change_request.created",
        "change_request.approved",
    ]
    assert await types_of(client, rep, rejected["id"]) == [
        "change_request.created",
        "change_request.rejected",
    ]
    # The approved fee changed the contract's amount: the contract's own change.
    [updated] = (await events_of(client, rep, contract["id"]))[before:]
    assert (updated["type"], updated["changed_fields"]) == ("contract.updated", ["amount"])


async def test_termination_is_an_event(client, rep, quote):
    contract = await create_contract(client, rep, quote)
    await step(client, rep, contract, "terminate", {"reason": "Customer withdrew"})
    assert (await types_of(client, rep, contract["id"]))[-1] == "contract.terminated"


async def test_a_part_change_has_its_audit_entry_in_the_same_change(
    client, conn, rep, manager, quote
):
    contract = await signed(client, rep, manager, quote)
    contract, delivery = await add(client, rep, contract, "deliveries", {})
    audit = AuditEntry.__table__
    rows = await conn.execute(
        sa.select(audit.c.entity_type, audit.c.entity_id, audit.c.action).where(
            audit.c.entity_id.in_([uuid.UUID(contract["id"]), uuid.UUID(delivery["id"])]),
            audit.c.action.in_(["scheduled", "delivery_scheduled"]),
        )
    )
    assert set(rows.all()) == {
        ("delivery", uuid.UUID(delivery["id"]), "scheduled"),
        ("contract", uuid.UUID(contract["id"]), "delivery_scheduled"),
    }


async def test_the_deadline_job_deems_acceptance_as_the_system(
    client, conn, rep, manager, quote, deal_id
):
    arrived = utcnow() - timedelta(days=3, minutes=1)
    contract = await signed(client, rep, manager, quote)
    await backdate_signing(conn, contract, arrived - timedelta(days=1))
    times = {
        "shipped": (arrived - timedelta(hours=2)).isoformat(),
        "arrived": arrived.isoformat(),
        "installed": (arrived + timedelta(hours=1)).isoformat(),
    }
    contract = await delivered(client, rep, contract, **times)
    run = await deem_due_acceptances(conn, utcnow())
    assert run.deemed == 1
    accepted = (await events_of(client, rep, contract["id"]))[-1]
    assert accepted["type"] == "contract.accepted"
    assert (accepted["actor_type"], accepted["origin"]) == ("system", "job:deemed_acceptance")
    delivery = contract["deliveries"][0]
    deemed = (await events_of(client, rep, delivery["id"]))[-1]
    assert (deemed["type"], deemed["origin"]) == ("delivery.accepted", "job:deemed_acceptance")
    won = (await events_of(client, rep, deal_id))[-1]
    assert (won["type"], won["data"]["stage"]) == ("deal.stage_changed", "won")
    assert won["origin"] == "job:deemed_acceptance"


async def test_refused_contract_changes_emit_nothing(client, rep, manager, quote):
    contract = await create_contract(client, rep, quote)
    assert (await act(client, rep, contract, "sign")).status_code == 409  # not approved
    assert (await act(client, rep, contract, "close")).status_code == 409
    assert (await act(client, rep, {**contract, "version": 9}, "submit-review")).status_code == 412
    contract = await step(client, rep, contract, "submit-review")
    assert (await act(client, rep, contract, "approve")).status_code == 403  # own contract
    assert await types_of(client, rep, contract["id"]) == [
        "contract.created",
        "contract.submitted_for_review",
    ]


async def test_refused_part_changes_emit_nothing(client, rep, manager, quote):
    contract = await signed(client, rep, manager, quote)
    contract, delivery = await add(client, rep, contract, "deliveries", {})
    skipped = await act(
        client, rep, contract, f"deliveries/{delivery['id']}/progress", {"status": "installed"}
    )
    assert skipped.status_code == 409
    assert await types_of(client, rep, delivery["id"]) == ["delivery.scheduled"]

    milestone = contract["milestones"][0]
    contract = await step(client, rep, contract, f"milestones/{milestone['id']}/pay")
    twice = await act(client, rep, contract, f"milestones/{milestone['id']}/pay")
    assert twice.status_code == 409
    assert await types_of(client, rep, milestone["id"]) == ["milestone.paid"]

    change = {"description": "Extra sensor", "extra_fee": "500"}
    contract, requested = await add(client, rep, contract, "change-requests", change)
    own = await act(client, rep, contract, f"change-requests/{requested['id']}/approve")
    assert own.status_code == 403  # a rep decides no change
    assert await types_of(client, rep, requested["id"]) == ["change_request.created"]
    assert (await read(client, rep, contract))["version"] == contract["version"]

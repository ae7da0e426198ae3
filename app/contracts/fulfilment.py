"""After signing: deliveries, acceptance (explicit or deemed), payments and change requests.

Every change here happens under the contract's row lock and bumps the contract's version.
The contract is delivered when its last delivery is installed; only then can it be
accepted, explicitly or — after the customer's silence — deemed.
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.contracts import repository as repo
from app.contracts.schemas import (
    ChangeRequestCreate,
    DeliveryCreate,
    DeliveryProgress,
    MilestonePayment,
)
from app.contracts.service import (
    POLICY,
    Part,
    PartChange,
    advance_deal,
    apply,
    check,
    delivery_view,
    lock,
    record_part_change,
    save,
    store,
)
from app.core.access import Principal
from app.core.clock import utcnow
from app.core.crud import Row
from app.core.enums import (
    AcceptanceKind,
    ChangeRequestStatus,
    ContractStatus,
    DeliveryStatus,
    Role,
)
from app.core.errors import Conflict, ErrorItem, Forbidden, InvalidInput, RuleViolation
from app.core.gates import enforce
from app.events.catalogue import EventType
from app.quotes.pricing import require_storable_amount
from app.rules.contracts import (
    CONFLICT_CODES,
    DELIVERY_ORDER,
    SIGNED_CONTRACT_STATUSES,
    BilledMilestone,
    ContractAction,
    acceptance_deadline,
    apply_change_request,
    can_request_change,
    check_change_request_application,
    check_delivery_progress,
    check_step_time,
    contract_delivered_at,
    contract_status_after,
    deemed_acceptance_at,
    deemed_accepted,
    repriced_milestone_amounts,
)
from app.rules.policy import DEFAULT_POLICY
from app.rules.tasks import TaskSpec, TriggerEvent, day_start, tasks_for_event
from app.tasks.schemas import RelatedType
from app.tasks.service import create_triggered_task

_C = ContractStatus
# Every refused delivery step is about the delivery's current state.
_DELIVERY_CONFLICTS = frozenset(
    {"delivery.same_status", "delivery.backwards_not_allowed", "delivery.skip_not_allowed"}
)
# A delivered contract has every delivery installed: a new one would un-deliver it.
_SCHEDULABLE = frozenset({_C.draft, _C.in_review, _C.approved, _C.signed, _C.in_delivery})
_DELIVERING = frozenset({_C.in_delivery, _C.delivered})
_STEP_FIELD = {
    DeliveryStatus.shipped: "shipped_at",
    DeliveryStatus.arrived: "arrived_at",
    DeliveryStatus.installed: "installed_at",
}
# Reports from phones and partner systems may run a little ahead of our clock.
MAX_CLOCK_SKEW = timedelta(minutes=5)
_DECISION_EVENTS = {
    ChangeRequestStatus.approved: EventType.change_request_approved,
    ChangeRequestStatus.rejected: EventType.change_request_rejected,
}


def _when(at: datetime | None, now: datetime, field: str) -> datetime:
    """The instant something happened: given or now, never in the future. A report a
    little ahead of our clock is recorded as now, so no later step or acceptance can
    come out dated before it."""
    try:
        moment = (at or now).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 is before the first UTC instant
        raise InvalidInput(
            f"{field} is out of range.",
            errors=[ErrorItem("out_of_range", "no such instant", field)],
        ) from None
    if moment > now + MAX_CLOCK_SKEW:
        raise InvalidInput(
            f"{field} {moment.isoformat()} is in the future.",
            errors=[ErrorItem("in_future", "must not be in the future", field)],
        )
    return min(moment, now)


def _refuse(code: str, message: str, field: str | None = None) -> Conflict:
    return Conflict(message, errors=[ErrorItem(code, message, field)])


# ------------------------------------------------------------------------ deliveries


async def schedule_delivery(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    data: DeliveryCreate,
    version: int | None,
) -> Part:
    contract = await lock(conn, principal, contract_id, version)
    if contract["status"] not in _SCHEDULABLE:
        raise _refuse(
            "delivery.contract_not_open", f"A {contract['status']} contract takes no deliveries."
        )
    values = {
        "status": DeliveryStatus.scheduled,
        "planned_date": data.planned_date or contract["planned_delivery_date"],
        "description": data.description,
    }
    delivery = await repo.deliveries.insert(conn, contract["id"], values, utcnow())
    if delivery["planned_date"] is not None:
        # The customer hears of it ahead of time: the owner's task, one per delivery.
        anchor = day_start(delivery["planned_date"])
        notice = tasks_for_event(
            TriggerEvent.delivery_scheduled, delivery["id"], anchor, DEFAULT_POLICY.tasks
        )
        await _open_tasks(conn, contract, notice)
    scheduled = PartChange("delivery", EventType.delivery_scheduled, None, delivery)
    saved = await store(
        conn,
        principal,
        contract,
        {},
        EventType.contract_updated,
        "delivery_scheduled",
        part=scheduled,
    )
    return Part(delivery_view(delivery), saved["version"])


async def _open_tasks(conn: AsyncConnection, contract: Row, specs: list[TaskSpec]) -> None:
    for spec in specs:
        await create_triggered_task(
            conn, spec, contract["owner_id"], RelatedType.contract, contract["id"]
        )


def _contract_after_step(contract: Row, deliveries: list[Row]) -> dict[str, Any]:
    """The first shipment starts delivery; the last installation completes it."""
    status = contract["status"]
    changes: dict[str, Any] = {}
    if status not in _DELIVERING:
        check(contract, ContractAction.start_delivery)  # only a signed contract ships
        status = contract_status_after(status, ContractAction.start_delivery)
        changes["status"] = status
    delivered_at = contract_delivered_at([d["installed_at"] for d in deliveries])
    if delivered_at is not None and status == _C.in_delivery:
        changes |= {
            "status": contract_status_after(status, ContractAction.mark_delivered),
            "delivered_at": delivered_at,
        }
    return changes


async def record_delivery_progress(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    delivery_id: uuid.UUID,
    data: DeliveryProgress,
    version: int | None,
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    delivery = await repo.deliveries.get(conn, contract["id"], delivery_id)
    enforce(check_delivery_progress(delivery["status"], data.status), _DELIVERY_CONFLICTS)
    now = utcnow()
    previous = DELIVERY_ORDER[DELIVERY_ORDER.index(data.status) - 1]
    previous_at = delivery[_STEP_FIELD[previous]] if previous in _STEP_FIELD else None
    at = _when(data.at, now, "at")
    enforce(
        check_step_time(at, signed_at=contract["signed_at"], previous_at=previous_at),
        _DELIVERY_CONFLICTS,
    )
    step = {"status": data.status, _STEP_FIELD[data.status]: at}
    moved = await repo.deliveries.update(conn, delivery["id"], step, now)
    changes = _contract_after_step(contract, await repo.deliveries.of(conn, contract["id"]))
    progressed = PartChange("delivery", EventType.delivery_progressed, delivery, moved)
    return await save(
        conn,
        principal,
        contract,
        changes,
        EventType.contract_updated,
        "delivery_progress",
        part=progressed,
    )


# ------------------------------------------------------------------------ acceptance


async def _accept(
    conn: AsyncConnection,
    principal: Principal,
    contract: Row,
    kind: AcceptanceKind,
    at: datetime,
    job: str | None = None,
) -> dict[str, Any]:
    """Acceptance: arrived deliveries count as accepted, the deal is won, and the
    after-sales duties (survey, first visit) become tasks for the contract's owner."""
    now = utcnow()
    for delivery in await repo.deliveries.of(conn, contract["id"]):
        if delivery["arrived_at"] is not None and delivery["accepted_at"] is None:
            accepted = {"accepted_at": at, "acceptance_kind": kind}
            row = await repo.deliveries.update(conn, delivery["id"], accepted, now)
            change = PartChange("delivery", EventType.delivery_accepted, delivery, row)
            await record_part_change(conn, principal, contract["id"], change, job=job)
    await advance_deal(conn, principal, contract, ContractAction.accept, at, job)
    after_sales = tasks_for_event(
        TriggerEvent.contract_accepted, contract["id"], at, DEFAULT_POLICY.tasks
    )
    await _open_tasks(conn, contract, after_sales)
    changes = {"accepted_at": at, "acceptance_kind": kind}
    return await apply(conn, principal, contract, ContractAction.accept, changes, job=job)


async def accept_contract(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, version: int | None
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    check(contract, ContractAction.accept)
    return await _accept(conn, principal, contract, AcceptanceKind.explicit, utcnow())


async def deem(
    conn: AsyncConnection,
    principal: Principal,
    contract: Row,
    now: datetime,
    *,
    job: str | None = None,
) -> dict[str, Any]:
    """Past the acceptance window after the last arrival, silence counts as acceptance,
    recorded at the instant the window closed (or at the delivery, if that came later).
    `contract` is locked by the caller; `job` names the scheduled job that deems it."""
    check(contract, ContractAction.accept)
    deliveries = await repo.deliveries.of(conn, contract["id"])
    arrivals = [d["arrived_at"] for d in deliveries if d["arrived_at"] is not None]
    if not arrivals:
        raise _refuse("acceptance.nothing_arrived", "No delivery has arrived yet.")
    last_arrival = max(arrivals)
    if not deemed_accepted(last_arrival, now, POLICY):
        deadline = acceptance_deadline(last_arrival, POLICY)
        raise RuleViolation(
            f"The customer may still accept or refuse until {deadline.isoformat()}.",
            errors=[ErrorItem("acceptance.window_open", f"window open until {deadline}")],
        )
    at = deemed_acceptance_at(last_arrival, contract["delivered_at"], POLICY)
    return await _accept(conn, principal, contract, AcceptanceKind.deemed, at, job)


async def deem_acceptance(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, version: int | None
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    return await deem(conn, principal, contract, utcnow())


# -------------------------------------------------------------------------- payments


async def pay_milestone(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    milestone_id: uuid.UUID,
    data: MilestonePayment,
    version: int | None,
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, version)
    if contract["status"] not in SIGNED_CONTRACT_STATUSES:
        raise _refuse(
            "milestone.contract_not_signed",
            f"A {contract['status']} contract takes no payments; sign it first.",
        )
    milestone = await repo.milestones.get(conn, contract["id"], milestone_id)
    if milestone["paid_at"] is not None:
        raise _refuse("milestone.already_paid", "This milestone is already paid.")
    now = utcnow()
    payment = {
        "paid_at": _when(data.paid_at, now, "paid_at"),
        "paid_amount": milestone["amount"] if data.amount is None else data.amount,
    }
    paid = await repo.milestones.update(conn, milestone["id"], payment, now)
    payment_change = PartChange("milestone", EventType.milestone_paid, milestone, paid)
    return await save(
        conn,
        principal,
        contract,
        {},
        EventType.contract_updated,
        "milestone_paid",
        part=payment_change,
    )


# ------------------------------------------------------------------- change requests


async def request_change(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    data: ChangeRequestCreate,
    version: int | None,
) -> Part:
    contract = await lock(conn, principal, contract_id, version)
    enforce(can_request_change(contract["status"]), CONFLICT_CODES)
    values = {
        **data.model_dump(),
        "status": ChangeRequestStatus.pending,
        "requested_by": principal.user_id,
    }
    change = await repo.change_requests.insert(conn, contract["id"], values, utcnow())
    requested = PartChange("change_request", EventType.change_request_created, None, change)
    saved = await store(
        conn,
        principal,
        contract,
        {},
        EventType.contract_updated,
        "change_requested",
        part=requested,
    )
    return Part(dict(change), saved["version"])


def _billed(milestones: list[Row]) -> list[BilledMilestone]:
    return [
        BilledMilestone(Decimal(m["percent"]), Decimal(m["amount"]), m["paid_at"] is not None)
        for m in milestones
    ]


async def _reprice_milestones(
    conn: AsyncConnection, milestones: list[Row], amount: Decimal, at: datetime
) -> None:
    """Keep the milestones adding up to the new contract amount; paid ones keep theirs."""
    shares = repriced_milestone_amounts(amount, _billed(milestones))
    for milestone, share in zip(milestones, shares, strict=True):
        if milestone["amount"] != share:
            await repo.milestones.update(conn, milestone["id"], {"amount": share}, at)


async def decide_change(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    change_id: uuid.UUID,
    decision: ChangeRequestStatus,
    version: int | None,
) -> dict[str, Any]:
    """Approve (the fee is added to the contract amount) or reject a pending change."""
    principal.require_role(Role.manager, Role.director, Role.admin, action="decide a change")
    contract = await lock(conn, principal, contract_id, version)
    change = await repo.change_requests.get(conn, contract["id"], change_id)
    if change["status"] != ChangeRequestStatus.pending:
        raise _refuse("change_request.already_decided", f"The change is {change['status']}.")
    if change["requested_by"] == principal.id:
        raise Forbidden(
            "No one may decide their own change request.",
            errors=[ErrorItem("approval.self_approval", "you requested this change")],
        )
    now = utcnow()
    contract_changes: dict[str, Any] = {}
    if decision == ChangeRequestStatus.approved:
        milestones = await repo.milestones.of(conn, contract["id"])
        unpaid = sum(1 for m in milestones if m["paid_at"] is None)
        gate = check_change_request_application(
            contract["status"], decision, unpaid_milestones=unpaid
        )
        enforce(gate, CONFLICT_CODES)
        amount = apply_change_request(Decimal(contract["amount"]), Decimal(change["extra_fee"]))
        require_storable_amount(amount, "extra_fee")
        contract_changes["amount"] = amount
        await _reprice_milestones(conn, milestones, amount, now)
    verdict = {"status": decision, "decided_by": principal.id, "decided_at": now}
    decided = await repo.change_requests.update(conn, change["id"], verdict, now)
    event = _DECISION_EVENTS[decision]
    return await save(
        conn,
        principal,
        contract,
        contract_changes,
        EventType.contract_updated,
        f"change_request_{decision}",
        part=PartChange("change_request", event, change, decided),
    )

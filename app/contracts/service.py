"""Contract use cases: create from an accepted quote, read, edit; the pieces every action uses.

Lifecycle actions are in `app.contracts.lifecycle`; deliveries, acceptance, payments and
change requests in `app.contracts.fulfilment`.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contracts import repository as repo
from app.contracts.schemas import ContractCreate, ContractUpdate, MilestoneInput
from app.core.access import Kind, Principal, visible
from app.core.clock import utcnow
from app.core.crud import Page, Row, require_reference
from app.core.enums import ContractStatus, DealStage, QuoteStatus
from app.core.errors import Conflict, ErrorItem, InvalidInput
from app.core.gates import enforce
from app.core.pagination import SortKey
from app.core.records import Records, action_of, change_writes, record_change
from app.core.statements import Write
from app.deals.service import move_stage
from app.events.catalogue import EventType
from app.events.outbox import event_values
from app.quotes import repository as quotes_repo
from app.rules.contracts import (
    CONFLICT_CODES,
    FINAL_CONTRACT_STATUSES,
    ContractAction,
    MilestoneSpec,
    check_contract_action,
    check_contract_creation,
    contract_status_after,
    days_overdue,
    deal_stage_after,
    deal_stage_required,
    milestone_amounts,
    milestone_due_date,
    validate_milestones,
)
from app.rules.policy import DEFAULT_POLICY
from app.rules.tasks import delivery_notice_date

POLICY = DEFAULT_POLICY.contracts
CONTRACTS = Records(repo.contracts, "contract")
# The event partners hear of each lifecycle move.
EVENTS = {
    ContractAction.submit_for_review: EventType.contract_submitted_for_review,
    ContractAction.return_to_draft: EventType.contract_returned_to_draft,
    ContractAction.approve: EventType.contract_approved,
    ContractAction.sign: EventType.contract_signed,
    ContractAction.accept: EventType.contract_accepted,
    ContractAction.close: EventType.contract_closed,
    ContractAction.terminate: EventType.contract_terminated,
}


@dataclass(frozen=True, slots=True)
class Part:
    """A delivery or change request as the API shows it, with the version of the contract
    it belongs to: the contract's ETag covers everything under it."""

    item: dict[str, Any]
    contract_version: int


# ------------------------------------------------------------------ shared by actions


def delivery_view(delivery: Row) -> dict[str, Any]:
    """A delivery with the day the customer is to hear of it."""
    return {**delivery, "notice_date": _notice_date(delivery["planned_date"])}


async def detail(conn: AsyncConnection, contract: Row) -> dict[str, Any]:
    """The contract with its milestones (and how overdue each is), deliveries (and when
    the customer is to hear of each) and changes."""
    today = utcnow().date()
    milestones = [
        {**m, "overdue_days": days_overdue(m["due_date"], m["paid_at"], today)}
        for m in await repo.milestones.of(conn, contract["id"])
    ]
    deliveries = [delivery_view(d) for d in await repo.deliveries.of(conn, contract["id"])]
    return {
        **contract,
        "milestones": milestones,
        "deliveries": deliveries,
        "change_requests": await repo.change_requests.of(conn, contract["id"]),
    }


def _notice_date(planned_date: date | None) -> date | None:
    if planned_date is None:
        return None
    return delivery_notice_date(planned_date, DEFAULT_POLICY.tasks)


async def lock(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    expected_version: int | None,
) -> Row:
    """The contract row, locked until commit, at the version `If-Match` names.

    Everything under a contract (milestones, deliveries, change requests) changes under
    this lock and bumps the contract's version, so its ETag covers the whole aggregate.
    """
    principal.require(Kind.contracts, "write")
    return await CONTRACTS.locked(conn, principal, contract_id, expected_version)


def check(contract: Row, action: ContractAction, reason: str | None = None) -> None:
    enforce(check_contract_action(contract["status"], action, reason=reason), CONFLICT_CODES)


async def _refresh_due_dates(conn: AsyncConnection, contract: Row, at: datetime) -> None:
    """Give each milestone its due date once the event it counts from has happened."""
    for milestone in await repo.milestones.of(conn, contract["id"]):
        if milestone["due_date"] is not None:
            continue
        due = milestone_due_date(
            milestone["anchor"],
            milestone["days_after"],
            contract["signed_at"],
            contract["delivered_at"],
            contract["accepted_at"],
        )
        if due is not None:
            await repo.milestones.update(conn, milestone["id"], {"due_date": due}, at)


@dataclass(frozen=True, slots=True)
class PartChange:
    """A change to a record under a contract (a delivery, a milestone, a change request):
    audited and heard of as that record's own, and named in the contract's entry."""

    record_type: str
    event: EventType
    before: Row | None
    after: Row


async def store(
    conn: AsyncConnection,
    principal: Principal,
    contract: Row,
    changes: Mapping[str, Any],
    event: EventType,
    action: str,
    *,
    part: PartChange | None = None,
    job: str | None = None,
) -> Row:
    """Write the change through the pipeline: the contract's new version with its audit
    entry and `event`, and the change of the `part` it came from with that part's entry
    and event. A change only under the contract still moves its version (its ETag covers
    the whole aggregate), with an entry but no contract event: the part's event tells.
    The contract row as it now is."""
    note, was, audited, announced = None, None, None, None
    if part is not None:
        note = {part.record_type: part.after}
        was = {part.record_type: part.before} if part.before is not None else None
        record, before = _as_recorded(contract["id"], part)
        entity, action_name = part.event.record_type, action_of(part.event)

        def audited(_: Row) -> list[Write | sa.Executable]:
            return change_writes(
                conn, principal, None, record, action=action_name, entity_type=entity, before=before
            )

        def announced(_: Row) -> list[dict[str, Any]]:
            return [event_values(conn, principal, part.event, record, before=before, job=job)]

    updated = await CONTRACTS.save(
        conn,
        principal,
        contract,
        changes,
        event,
        action=action,
        job=job,
        audit_note=note,
        audit_before=was,
        touch=part is not None,
        companions=audited,
        following=announced,
    )
    await _refresh_due_dates(conn, updated, updated["updated_at"])
    return updated


def _as_recorded(contract_id: uuid.UUID, part: PartChange) -> tuple[Row, Row | None]:
    """The part after and before its change as its entry and event show it: naming the
    contract it belongs to, which the API shows it under rather than in it."""
    owner = {"contract_id": contract_id}
    before = {**part.before, **owner} if part.before is not None else None
    return {**part.after, **owner}, before


async def record_part_change(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    part: PartChange,
    *,
    job: str | None = None,
) -> None:
    """A part's change alone (its contract written apart): its entry and its event."""
    record, before = _as_recorded(contract_id, part)
    await record_change(
        conn, principal, part.event, record, action=action_of(part.event), before=before, job=job
    )


async def save(
    conn: AsyncConnection,
    principal: Principal,
    contract: Row,
    changes: Mapping[str, Any],
    event: EventType,
    action: str,
    *,
    part: PartChange | None = None,
    job: str | None = None,
) -> dict[str, Any]:
    """`store`, answered with the whole contract."""
    updated = await store(conn, principal, contract, changes, event, action, part=part, job=job)
    return await detail(conn, updated)


async def apply(
    conn: AsyncConnection,
    principal: Principal,
    contract: Row,
    action: ContractAction,
    changes: Mapping[str, Any],
    *,
    job: str | None = None,
) -> dict[str, Any]:
    """Save a lifecycle move the caller has checked, with the status it leads to."""
    status = contract_status_after(contract["status"], action)
    values = {"status": status, **changes}
    return await save(conn, principal, contract, values, EVENTS[action], action.value, job=job)


async def advance_deal(
    conn: AsyncConnection,
    principal: Principal,
    contract: Row,
    action: ContractAction,
    at: datetime,
    job: str | None = None,
) -> None:
    """Signing moves the deal to implementation; acceptance closes it as won."""
    target = deal_stage_after(action)
    if target is None:
        return
    deal = await repo.lock_deal(conn, contract["deal_id"])
    expected = deal_stage_required(target)
    if deal["stage"] != expected:
        raise Conflict(
            f"The contract's deal is in stage {deal['stage']}, not {expected}, so it cannot "
            f"move to {target}.",
            errors=[ErrorItem("contract.deal_stage_mismatch", f"deal is {deal['stage']}")],
        )
    values: dict[str, Any] = {"stage": target, "stage_changed_at": at}
    if target == DealStage.won:
        values |= {"closed_at": at, "closed_from_stage": deal["stage"]}
    reason = f"contract {contract['id']}: {action}"
    await move_stage(conn, principal, deal, values, reason=reason, at=at, job=job)


# ------------------------------------------------------------------------- use cases


async def _accepted_quote_version(
    conn: AsyncConnection, principal: Principal, quote_id: uuid.UUID
) -> tuple[Row, Row]:
    table = quotes_repo.quotes_table
    statement = quotes_repo.quotes.select().where(
        table.c.id == quote_id, visible(principal, Kind.quotes, table)
    )
    found = (await conn.execute(statement)).mappings().first()
    quote = require_reference(found, "quote_id", "quote", quote_id)
    version = await quotes_repo.current_version(conn, quote)
    if version["status"] != QuoteStatus.accepted:
        raise Conflict(
            f"Quote {quote_id} is {version['status']}; a contract needs an accepted quote.",
            errors=[ErrorItem("contract.quote_not_accepted", "accept the quote first", "quote_id")],
        )
    return quote, version


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidInput(
            f"end_date {end} is before start_date {start}.",
            errors=[ErrorItem("contract.end_before_start", "ends before it starts", "end_date")],
        )


def _milestone_rows(milestones: Sequence[MilestoneInput], amount: Any) -> list[dict[str, Any]]:
    specs = [MilestoneSpec(m.kind, m.percent, m.anchor, m.days_after) for m in milestones]
    enforce(validate_milestones(specs), CONFLICT_CODES)
    amounts = milestone_amounts(amount, [m.percent for m in milestones])
    return [
        {**m.model_dump(), "position": position, "amount": share}
        for position, (m, share) in enumerate(zip(milestones, amounts, strict=True), 1)
    ]


async def create_contract(
    conn: AsyncConnection, principal: Principal, data: ContractCreate
) -> dict[str, Any]:
    principal.require(Kind.contracts, "create")
    _check_dates(data.start_date, data.end_date)
    quote, version = await _accepted_quote_version(conn, principal, data.quote_id)
    deal = await repo.lock_deal(conn, quote["deal_id"])
    enforce(check_contract_creation(deal["stage"]), CONFLICT_CODES)
    milestone_rows = _milestone_rows(data.milestones, version["total"])
    values = {
        **data.model_dump(exclude={"milestones"}),
        "quote_version_id": version["id"],
        "deal_id": quote["deal_id"],
        "customer_id": quote["customer_id"],
        "owner_id": quote["owner_id"],
        "status": ContractStatus.draft,
        "amount": version["total"],
        "currency": version["currency"],
    }

    def payment_plan(row: Row) -> list[sa.Executable]:
        return [repo.milestones.insert_statement(row["id"], milestone_rows, row["created_at"])]

    contract = await CONTRACTS.create(
        conn, principal, values, EventType.contract_created, companions=payment_plan
    )
    return await detail(conn, contract)


async def get_contract(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID
) -> dict[str, Any]:
    return await detail(conn, await _readable(conn, principal, contract_id))


async def get_delivery(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, delivery_id: uuid.UUID
) -> Part:
    contract = await _readable(conn, principal, contract_id)
    delivery = await repo.deliveries.get(conn, contract["id"], delivery_id)
    return Part(delivery_view(delivery), contract["version"])


async def list_deliveries(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> Page:
    contract = await _readable(conn, principal, contract_id)
    found = await repo.deliveries.page(conn, contract["id"], cursor=cursor, limit=limit)
    return Page([delivery_view(d) for d in found.items], found.next_cursor)


async def get_change_request(
    conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID, change_id: uuid.UUID
) -> Part:
    contract = await _readable(conn, principal, contract_id)
    change = await repo.change_requests.get(conn, contract["id"], change_id)
    return Part(dict(change), contract["version"])


async def list_change_requests(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> Page:
    contract = await _readable(conn, principal, contract_id)
    return await repo.change_requests.page(conn, contract["id"], cursor=cursor, limit=limit)


async def _readable(conn: AsyncConnection, principal: Principal, contract_id: uuid.UUID) -> Row:
    """The contract, if the caller may read it: what hangs off it is seen by the same."""
    principal.require(Kind.contracts, "read")
    return await repo.contracts.get(conn, principal, contract_id)


async def update_contract(
    conn: AsyncConnection,
    principal: Principal,
    contract_id: uuid.UUID,
    data: ContractUpdate,
    expected_version: int | None,
) -> dict[str, Any]:
    contract = await lock(conn, principal, contract_id, expected_version)
    if contract["status"] in FINAL_CONTRACT_STATUSES:
        raise Conflict(
            f"The contract is {contract['status']} and can no longer be edited.",
            errors=[ErrorItem("contract.action_not_allowed", "final status", "status")],
        )
    changes = data.changes()
    merged = {**contract, **changes}
    _check_dates(merged["start_date"], merged["end_date"])
    return await save(conn, principal, contract, changes, EventType.contract_updated, "update")


async def list_contracts(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: dict[str, Any],
    ending_before: date | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.contracts, "read")
    table = repo.contracts_table
    where: list[sa.ColumnElement[bool]] = []
    if ending_before is not None:
        where.append(table.c.end_date < ending_before)
    return await repo.contracts.list(
        conn, principal, filters=filters, where=where, sort=sort, cursor=cursor, limit=limit
    )

"""Deal use cases: the pipeline record, its stage gates and the actions that prove them."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.clock import utcnow
from app.core.crud import Page, Row, require_reference
from app.core.enums import CLOSED_DEAL_STAGES, DealStage, Role
from app.core.errors import Conflict, ErrorItem, Forbidden, InvalidInput
from app.core.gates import error_items, refusal
from app.core.pagination import SortKey
from app.core.records import Records
from app.core.schemas import two_decimals
from app.core.statements import Write
from app.customers.repository import find_visible_customer
from app.customers.service import assign_owner, reassign, require_change_rights
from app.customers.tiering import recompute_customer
from app.deals import repository as repo
from app.deals import stays
from app.deals.schemas import DealBid, DealCreate, DealTransition, DealUpdate
from app.events.catalogue import EventType
from app.rules.common import GateResult
from app.rules.deals import (
    CONFLICT_CODES,
    FORBIDDEN_CODES,
    DealFacts,
    TransitionKind,
    TransitionOption,
    evaluate_transition,
    is_stale,
    reachable_transitions,
    transition_kind,
    weighted_amount,
)
from app.rules.policy import DEFAULT_POLICY

APPROVER_ROLES = (Role.manager, Role.director, Role.admin)
# Clients' clocks run a little ahead of ours; a bid "from the future" beyond this is a typo.
BID_CLOCK_SKEW = timedelta(minutes=5)
DEALS = Records(repo.deals, "deal")
# The audit trail's name of each change, and the event partners hear of it.
_EVENTS = {
    "update": EventType.deal_updated,
    "transition": EventType.deal_stage_changed,
    "presales_approval": EventType.deal_presales_approved,
    "bid": EventType.deal_bid_submitted,
}
# Rule facts are named after the gate; the API names the deal's own field.
_API_FIELDS = {"target": "to_stage", "estimated_amount": "amount"}


def present(row: Row, now: datetime) -> dict[str, Any]:
    """The deal as the API shows it: stored columns plus the forecast computed from them."""
    policy = DEFAULT_POLICY.deals
    stage = DealStage(row["stage"])
    amount = row["amount"]
    return {
        **row,
        "weighted_amount": None if amount is None else weighted_amount(amount, stage, policy),
        "win_probability_pct": two_decimals(policy.win_probability_pct[stage]),
        "is_stale": is_stale(row["stage_changed_at"], now, policy, stage=stage),
    }


async def _require_customer(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID
) -> None:
    row = await find_visible_customer(conn, principal, customer_id)
    require_reference(row, "customer_id", "customer", customer_id)


def _require_open(deal: Row) -> None:
    if deal["stage"] in CLOSED_DEAL_STAGES:
        raise Conflict(
            f"The deal is {deal['stage']}; a closed deal cannot change. "
            "Reopen it first (POST /api/v1/deals/{id}/transition).",
            errors=[ErrorItem("deal_closed", "the deal is closed", "stage")],
        )


async def create_deal(
    conn: AsyncConnection,
    principal: Principal,
    data: DealCreate,
    *,
    lead_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Open a deal in `development` and start its stage history (lead conversion passes
    the lead it came from)."""
    principal.require(Kind.deals, "create")
    values = data.model_dump()
    values["owner_id"] = await assign_owner(conn, principal, data.owner_id, "owner_id")
    if data.customer_id is not None:
        await _require_customer(conn, principal, data.customer_id)
    now = utcnow()
    values |= {
        "lead_id": lead_id,
        "stage": DealStage.development,
        "stage_changed_at": now,
        "created_at": now,
        "updated_at": now,
    }

    def opening(row: Row) -> Sequence[Write | sa.Executable]:
        return repo.stage_change_statements(
            conn.dialect.name,
            row,
            from_stage=None,
            changed_by=principal.user_id,
            reason=None,
            at=now,
        )

    row = await DEALS.create(conn, principal, values, EventType.deal_created, companions=opening)
    return present(row, now)


async def get_deal(
    conn: AsyncConnection, principal: Principal, deal_id: uuid.UUID
) -> dict[str, Any]:
    principal.require(Kind.deals, "read")
    return present(await repo.deals.get(conn, principal, deal_id), utcnow())


async def update_deal(
    conn: AsyncConnection,
    principal: Principal,
    deal_id: uuid.UUID,
    data: DealUpdate,
    expected_version: int | None,
) -> dict[str, Any]:
    principal.require(Kind.deals, "write")
    current = await repo.deals.get(conn, principal, deal_id)
    _require_open(current)
    changes = data.changes()
    await require_change_rights(conn, principal, current, changes, "deal")
    if "owner_id" in changes:
        changes["owner_id"] = await reassign(conn, principal, changes["owner_id"], "owner_id")
    if changes.get("customer_id") is not None:
        await _require_customer(conn, principal, changes["customer_id"])
    row = await _apply(conn, principal, current, changes, "update", expected_version)
    return present(row, utcnow())


def _range_filters(
    expected_close_before: date | None,
    expected_close_after: date | None,
    created_after: datetime | None,
) -> list[sa.ColumnElement[bool]]:
    # Half-open ranges (`after` inclusive, `before` exclusive) so adjacent windows tile.
    table = repo.deals_table
    bounds = [
        (expected_close_before, table.c.expected_close_date.__lt__),
        (expected_close_after, table.c.expected_close_date.__ge__),
        (created_after, table.c.created_at.__ge__),
    ]
    return [compare(value) for value, compare in bounds if value is not None]


async def list_deals(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: Mapping[str, Any],
    stale: bool | None,
    expected_close_before: date | None,
    expected_close_after: date | None,
    created_after: datetime | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    principal.require(Kind.deals, "read")
    now = utcnow()
    where: list[sa.ColumnElement[bool]] = []
    where += _range_filters(expected_close_before, expected_close_after, created_after)
    if stale is not None:
        clause = repo.stale_clause(now, DEFAULT_POLICY.deals.stale_after_days)
        where.append(clause if stale else sa.not_(clause))
    result = await repo.deals.list(
        conn, principal, filters=filters, where=where, sort=sort, cursor=cursor, limit=limit
    )
    return {"items": [present(r, now) for r in result.items], "next_cursor": result.next_cursor}


async def list_stage_history(
    conn: AsyncConnection,
    principal: Principal,
    deal_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.deals, "read")
    await repo.deals.get(conn, principal, deal_id)
    return await repo.list_history(conn, deal_id, cursor=cursor, limit=limit)


# ---------------------------------------------------------------- stage transitions


async def gather_facts(conn: AsyncConnection, deal: Row) -> DealFacts:
    """The snapshot the stage gates judge: the deal row plus its evidence elsewhere."""
    evidence = await repo.load_evidence(conn, deal)
    return DealFacts(
        stage=DealStage(deal["stage"]),
        customer_id=deal["customer_id"],
        need_description=deal["need_description"],
        estimated_amount=deal["amount"],
        expected_close_date=deal["expected_close_date"],
        contact_count=int(evidence["contact_count"]),
        presales_approved=deal["presales_approved_at"] is not None,
        decision_maker_engaged=bool(evidence["decision_maker_engaged"]),
        approved_quote=bool(evidence["approved_quote"]),
        bid_submitted_at=deal["bid_submitted_at"],
        bid_amount=deal["bid_amount"],
        contract_signed=bool(evidence["contract_signed"]),
        delivery_accepted=bool(evidence["delivery_accepted"]),
        closed_from_stage=deal["closed_from_stage"],
    )


def _refusal(current: DealStage, target: DealStage, result: GateResult) -> Exception:
    """Every unmet check at once; 409 when the deal's state rules the move out entirely,
    403 when only another role may make it (a rep reopening a closed deal)."""
    prefix = f"The deal cannot move from {current} to {target}: "
    return refusal(
        result,
        CONFLICT_CODES,
        detail_prefix=prefix,
        fields=_API_FIELDS,
        forbidden_codes=FORBIDDEN_CODES,
    )


def _stage_values(
    current: Row, body: DealTransition, kind: TransitionKind | None, now: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {"stage": body.to_stage, "stage_changed_at": now}
    if body.to_stage in CLOSED_DEAL_STAGES:
        lost = body.to_stage == DealStage.lost
        values |= {
            "closed_at": now,
            "closed_from_stage": current["stage"],
            "lost_reason": body.lost_reason if lost else None,
            "lost_reason_text": body.reason if lost else None,
        }
    elif kind is TransitionKind.reopen:
        values |= dict.fromkeys(
            ("closed_at", "closed_from_stage", "lost_reason", "lost_reason_text")
        )
    return values


async def _lock_for_action(
    conn: AsyncConnection, principal: Principal, deal_id: uuid.UUID, expected_version: int | None
) -> Row:
    """The deal, row-locked until the request commits, so concurrent actions serialize and
    the second one sees what the first one did."""
    principal.require(Kind.deals, "write")
    return await DEALS.locked(conn, principal, deal_id, expected_version)


async def _apply(
    conn: AsyncConnection,
    principal: Principal,
    current: Row,
    values: Mapping[str, Any],
    action: str,
    expected_version: int | None = None,
    companions: Callable[[Row], Sequence[Write | sa.Executable]] | None = None,
    job: str | None = None,
) -> Row:
    """Write the change with its audit entry, its event and what goes with it: a new
    owner takes the deal's time-in-stage rows along (actions checked the version when
    locking). `job` names the scheduled job that caused it, if one did."""

    def along(row: Row) -> list[Write | sa.Executable]:
        moved = [*companions(row)] if companions is not None else []
        if row["owner_id"] != current["owner_id"]:
            moved.append(stays.reassign_statement(row["id"], row["owner_id"]))
        return moved

    return await DEALS.save(
        conn,
        principal,
        current,
        values,
        _EVENTS[action],
        action=action,
        expected_version=expected_version,
        companions=along,
        job=job,
    )


async def move_stage(
    conn: AsyncConnection,
    principal: Principal,
    current: Row,
    values: Mapping[str, Any],
    *,
    reason: str | None,
    at: datetime,
    job: str | None = None,
) -> Row:
    """Write a checked stage move: the deal, its history row, the audit entry, and — when
    the deal closes or reopens — its customer's tier, whose purchase history changed."""

    def moved(row: Row) -> Sequence[Write | sa.Executable]:
        return repo.stage_change_statements(
            conn.dialect.name,
            row,
            from_stage=current["stage"],
            changed_by=principal.user_id,
            reason=reason,
            at=at,
        )

    row = await _apply(conn, principal, current, values, "transition", companions=moved, job=job)
    if row["customer_id"] is not None and CLOSED_DEAL_STAGES & {current["stage"], row["stage"]}:
        await recompute_customer(
            conn, principal, row["customer_id"], at, DEFAULT_POLICY.customers, job=job
        )
    return row


async def transition_deal(
    conn: AsyncConnection,
    principal: Principal,
    deal_id: uuid.UUID,
    body: DealTransition,
    expected_version: int | None,
) -> dict[str, Any]:
    """Move the deal to `body.to_stage` if every gate check holds, and record the move."""
    current = await _lock_for_action(conn, principal, deal_id, expected_version)
    facts = await gather_facts(conn, current)
    result = evaluate_transition(
        facts,
        body.to_stage,
        DEFAULT_POLICY.deals,
        reason=body.reason,
        lost_reason=body.lost_reason,
        actor_role=principal.role,
    )
    if not result.ok:
        raise _refusal(facts.stage, body.to_stage, result)
    now = utcnow()
    values = _stage_values(current, body, transition_kind(facts, body.to_stage), now)
    row = await move_stage(conn, principal, current, values, reason=body.reason, at=now)
    return present(row, now)


def _option(option: TransitionOption) -> dict[str, Any]:
    return {
        "to_stage": option.target,
        "kind": option.kind,
        "allowed": option.ok,
        "unmet_checks": [item.as_dict() for item in error_items(option.unmet, _API_FIELDS)],
        "reason_required": option.reason_required,
        "lost_reason_required": option.lost_reason_required,
    }


async def list_deal_transitions(
    conn: AsyncConnection, principal: Principal, deal_id: uuid.UUID
) -> tuple[Row, list[dict[str, Any]]]:
    """The dry run: the deal, and each stage it could move to with what still blocks it."""
    principal.require(Kind.deals, "read")
    deal = await repo.deals.get(conn, principal, deal_id)
    facts = await gather_facts(conn, deal)
    options = reachable_transitions(facts, DEFAULT_POLICY.deals, actor_role=principal.role)
    return deal, [_option(option) for option in options]


# ---------------------------------------------------------------- gate evidence


async def approve_presales(
    conn: AsyncConnection, principal: Principal, deal_id: uuid.UUID, expected_version: int | None
) -> dict[str, Any]:
    """A manager's sign-off on the opportunity: the key node of `initiation`."""
    principal.require_role(*APPROVER_ROLES, action="approve a deal's presales project")
    current = await _lock_for_action(conn, principal, deal_id, expected_version)
    if current["owner_id"] == principal.user_id:
        raise Forbidden(
            "You own this deal; its presales approval must come from someone else.",
            errors=[ErrorItem("self_approval", "approvals are never self-approvals", None)],
        )
    _require_open(current)
    if current["presales_approved_at"] is not None:
        raise Conflict(
            "The deal's presales project is already approved.",
            errors=[ErrorItem("already_approved", "already approved", "presales_approved_at")],
        )
    now = utcnow()
    values = {"presales_approved_at": now, "presales_approved_by": principal.user_id}
    return present(await _apply(conn, principal, current, values, "presales_approval"), now)


async def record_bid(
    conn: AsyncConnection,
    principal: Principal,
    deal_id: uuid.UUID,
    body: DealBid,
    expected_version: int | None,
) -> dict[str, Any]:
    """Record the submitted (or renegotiated) bid: the key node of `bidding`."""
    current = await _lock_for_action(conn, principal, deal_id, expected_version)
    if current["stage"] != DealStage.bidding:
        raise Conflict(
            f"Bids are recorded in the bidding stage; the deal is in {current['stage']}.",
            errors=[ErrorItem("deal_not_bidding", "the deal is not in bidding", "stage")],
        )
    now = utcnow()
    submitted_at = body.submitted_at or now
    if submitted_at > now + BID_CLOCK_SKEW:
        raise InvalidInput(
            "submitted_at is in the future; record a bid once it has been submitted.",
            errors=[ErrorItem("submitted_at_in_future", "in the future", "submitted_at")],
        )
    values = {"bid_submitted_at": submitted_at, "bid_amount": body.amount}
    return present(await _apply(conn, principal, current, values, "bid"), now)

"""Contract lifecycle, payment milestones, delivery and acceptance (docs/domain.md §5).

Lifecycle: draft → in_review → approved → signed → in_delivery → delivered → accepted →
closed, or terminated (with a reason) from any state that is not already final. A reviewer
may send an in-review contract back to draft. Signing moves the deal to `implementation`,
acceptance closes it as `won` (see `deal_stage_after`). A contract is delivered once every
one of its deliveries is installed, and only a delivered contract can be accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from app.core.enums import (
    CLOSED_DEAL_STAGES,
    ChangeRequestStatus,
    ContractStatus,
    DealStage,
    DeliveryStatus,
    MilestoneAnchor,
    MilestoneKind,
)
from app.rules.common import (
    HUNDRED,
    Check,
    GateResult,
    percent_text,
    quantize_money,
    require_aware,
)


class ContractPolicy(BaseModel):
    """The contract SOP's numbers as data.

    The duties contracts create — the delivery notice (2 days ahead), the satisfaction
    survey (24 h) and the first visit (72 h) after acceptance — are task delays, kept once,
    in `TaskTriggerPolicy`.
    """

    model_config = ConfigDict(frozen=True)

    acceptance_window_days: int = Field(default=3, ge=0)
    # A milestone overdue by MORE than this many days raises the customer health warning.
    milestone_overdue_warning_days: int = Field(default=15, ge=0)


# ------------------------------------------------------------------------- lifecycle


class ContractAction(StrEnum):
    submit_for_review = "submit_for_review"
    return_to_draft = "return_to_draft"
    approve = "approve"
    sign = "sign"
    start_delivery = "start_delivery"
    mark_delivered = "mark_delivered"
    accept = "accept"
    close = "close"
    terminate = "terminate"


_C = ContractStatus
FINAL_CONTRACT_STATUSES = frozenset({_C.closed, _C.terminated})
# Signed and not terminated: running, or ended as agreed.
SIGNED_CONTRACT_STATUSES = frozenset(
    {_C.signed, _C.in_delivery, _C.delivered, _C.accepted, _C.closed}
)

# action → (statuses it may start from, status it leads to)
CONTRACT_MOVES: dict[ContractAction, tuple[frozenset[ContractStatus], ContractStatus]] = {
    ContractAction.submit_for_review: (frozenset({_C.draft}), _C.in_review),
    ContractAction.return_to_draft: (frozenset({_C.in_review}), _C.draft),
    ContractAction.approve: (frozenset({_C.in_review}), _C.approved),
    ContractAction.sign: (frozenset({_C.approved}), _C.signed),
    ContractAction.start_delivery: (frozenset({_C.signed}), _C.in_delivery),
    ContractAction.mark_delivered: (frozenset({_C.in_delivery}), _C.delivered),
    ContractAction.accept: (frozenset({_C.delivered}), _C.accepted),
    ContractAction.close: (frozenset({_C.accepted}), _C.closed),
    ContractAction.terminate: (frozenset(set(_C) - FINAL_CONTRACT_STATUSES), _C.terminated),
}

CONFLICT_CODES = frozenset(
    {
        "contract.action_not_allowed",
        "contract.sign_requires_approval",
        "contract.deal_closed",
        "change_request.no_unpaid_milestone",
    }
)


def check_contract_creation(deal_stage: DealStage) -> GateResult:
    """A contract is made for an open deal; a won or lost deal's business is settled."""
    if deal_stage not in CLOSED_DEAL_STAGES:
        return GateResult(ok=True)
    return GateResult.from_checks(
        [
            Check(
                "contract.deal_closed",
                f"The quote's deal is {deal_stage}; a closed deal takes no new contract.",
                "quote_id",
            )
        ]
    )


def _state_check(status: ContractStatus, action: ContractAction) -> Check | None:
    starts, _ = CONTRACT_MOVES[action]
    if status in starts:
        return None
    if action is ContractAction.sign and status in (_C.draft, _C.in_review):
        return Check("contract.sign_requires_approval", "Only an approved contract can be signed.")
    return Check(
        "contract.action_not_allowed", f"Cannot {action} a contract that is {status}.", "status"
    )


def check_contract_action(
    status: ContractStatus, action: ContractAction, *, reason: str | None = None
) -> GateResult:
    """May `action` happen to a contract in `status`? Every reason if not."""
    checks = [_state_check(status, action)]
    if action is ContractAction.terminate and not (reason and reason.strip()):
        checks.append(
            Check(
                "contract.termination_reason_required",
                "Say why the contract is terminated.",
                "reason",
            )
        )
    return GateResult.from_checks(c for c in checks if c is not None)


def contract_status_after(status: ContractStatus, action: ContractAction) -> ContractStatus:
    starts, target = CONTRACT_MOVES[action]
    if status not in starts:
        raise ValueError(f"{action} is not allowed from {status}")
    return target


def deal_stage_after(action: ContractAction) -> DealStage | None:
    """The deal stage a contract action moves its deal to, if any."""
    return {
        ContractAction.sign: DealStage.implementation,
        ContractAction.accept: DealStage.won,
    }.get(action)


# A contract moves its deal on only from the stage right before the one it leads to.
_DEAL_STAGE_BEFORE = {
    DealStage.implementation: DealStage.negotiation,
    DealStage.won: DealStage.implementation,
}


def deal_stage_required(target: DealStage) -> DealStage:
    """The stage the deal must be in for a contract action to move it to `target`
    (one of `deal_stage_after`'s): the stage right before it."""
    return _DEAL_STAGE_BEFORE[target]


# ------------------------------------------------------------------------ milestones


class MilestoneSpec(NamedTuple):
    """One payment milestone; a plain (kind, percent, anchor, days_after) tuple also fits."""

    kind: MilestoneKind
    percent: Decimal
    anchor: MilestoneAnchor
    days_after: int


def validate_milestones(milestones: Sequence[MilestoneSpec]) -> GateResult:
    """Every problem with a payment plan; the percentages must add up to exactly 100."""
    checks: list[Check] = []
    if not milestones:
        checks.append(
            Check(
                "milestone.none", "A contract needs at least one payment milestone.", "milestones"
            )
        )
    for i, (_, percent, _, days_after) in enumerate(milestones):
        if percent <= 0:
            checks.append(
                Check(
                    "milestone.percent_not_positive",
                    "Each milestone must be above 0 %.",
                    f"milestones[{i}].percent",
                )
            )
        if days_after < 0:
            checks.append(
                Check(
                    "milestone.days_negative",
                    "A due rule counts days after its event, not before.",
                    f"milestones[{i}].days_after",
                )
            )
    total = sum((Decimal(m[1]) for m in milestones), Decimal(0))
    if milestones and total != HUNDRED:
        checks.append(
            Check(
                "milestone.percent_sum_not_100",
                f"Milestone percentages add up to {percent_text(total)} %, not 100.00 %.",
                "milestones",
            )
        )
    return GateResult.from_checks(checks)


def _split(amount: Decimal, weights: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """`amount` in cents, in proportion to `weights`; the last absorbs the rounding."""
    if not weights:
        return ()
    whole = sum(weights, Decimal(0))
    shares = [quantize_money(amount * w / whole) for w in weights[:-1]]
    return (*shares, quantize_money(amount) - sum(shares, Decimal("0.00")))


def milestone_amounts(contract_amount: Decimal, percents: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Each milestone's amount in cents; the last absorbs rounding so they sum to the contract."""
    return _split(contract_amount, percents)


class BilledMilestone(NamedTuple):
    percent: Decimal
    amount: Decimal
    paid: bool


def repriced_milestone_amounts(
    contract_amount: Decimal, milestones: Sequence[BilledMilestone]
) -> tuple[Decimal, ...]:
    """The milestones' amounts after the contract amount changed, in their order.

    A paid milestone keeps its amount — it was invoiced and settled. What the paid ones
    do not cover is split over the unpaid ones in proportion to their percentages (the
    last unpaid one absorbs the rounding), so the amounts still add up to the contract
    amount to the cent. The percentages keep describing the plan as agreed.
    Raises ValueError when no milestone is unpaid or the paid ones exceed the amount.
    """
    paid = sum((m.amount for m in milestones if m.paid), Decimal("0.00"))
    unpaid = [m.percent for m in milestones if not m.paid]
    if not unpaid or paid > contract_amount:
        raise ValueError("the unpaid milestones cannot carry the new contract amount")
    shares = iter(_split(contract_amount - paid, unpaid))
    return tuple(m.amount if m.paid else next(shares) for m in milestones)


def milestone_due_date(
    anchor: MilestoneAnchor,
    days_after: int,
    signed_at: datetime | None,
    delivered_at: datetime | None,
    accepted_at: datetime | None,
) -> date | None:
    """The due date (UTC calendar day), or None while the anchoring event has not happened."""
    event = {
        MilestoneAnchor.signing: signed_at,
        MilestoneAnchor.delivery: delivered_at,
        MilestoneAnchor.acceptance: accepted_at,
    }[anchor]
    if event is None:
        return None
    return require_aware(event, anchor.value).astimezone(UTC).date() + timedelta(days=days_after)


def days_overdue(due: date | None, paid_at: datetime | None, today: date) -> int:
    """Whole days past the due date of an unpaid milestone; 0 when not overdue."""
    if due is None or paid_at is not None:
        return 0
    return max((today - due).days, 0)


def is_overdue(due: date | None, paid_at: datetime | None, today: date) -> bool:
    """Unpaid after its due day (the due day itself is still on time)."""
    return days_overdue(due, paid_at, today) > 0


def overdue_warning(
    due: date | None, paid_at: datetime | None, today: date, policy: ContractPolicy
) -> bool:
    """Feeds the customer health warning: overdue by more than 15 days (15 no, 16 yes)."""
    return days_overdue(due, paid_at, today) > policy.milestone_overdue_warning_days


# -------------------------------------------------------------- delivery, acceptance

DELIVERY_ORDER: tuple[DeliveryStatus, ...] = (
    DeliveryStatus.scheduled,
    DeliveryStatus.shipped,
    DeliveryStatus.arrived,
    DeliveryStatus.installed,
)


def check_delivery_progress(current: DeliveryStatus, target: DeliveryStatus) -> GateResult:
    """Delivery moves one step forward at a time: no skipping, never backwards.

    Skipping `arrived` would lose the instant the acceptance window starts from.
    """
    step = DELIVERY_ORDER.index(target) - DELIVERY_ORDER.index(current)
    if step == 1:
        return GateResult(ok=True)
    if step == 0:
        check = Check("delivery.same_status", f"The delivery is already {current}.", "status")
    elif step < 0:
        check = Check(
            "delivery.backwards_not_allowed", f"A delivery cannot go back to {target}.", "status"
        )
    else:
        check = Check(
            "delivery.skip_not_allowed",
            f"After {current} comes {DELIVERY_ORDER[DELIVERY_ORDER.index(current) + 1]}.",
            "status",
        )
    return GateResult.from_checks([check])


def check_step_time(
    at: datetime, *, signed_at: datetime | None, previous_at: datetime | None
) -> GateResult:
    """A delivery step happens after the contract was signed and after the step before it
    (the future is refused where the instant is read). Without this, a backdated step
    would date the acceptance — and the deal's win — before the signature."""
    require_aware(at, "at")
    checks = []
    if signed_at is not None and at < signed_at:
        checks.append(
            Check(
                "before_signing",
                f"The contract was signed at {signed_at.isoformat()}; nothing ships before.",
                "at",
            )
        )
    if previous_at is not None and at < previous_at:
        checks.append(
            Check(
                "before_previous_step",
                f"The step before happened at {previous_at.isoformat()}.",
                "at",
            )
        )
    return GateResult.from_checks(checks)


def contract_delivered_at(installed_at: Sequence[datetime | None]) -> datetime | None:
    """When the contract was delivered: its last installation, once every delivery is
    installed; None while any delivery (or none at all) is still on its way."""
    if not installed_at or any(moment is None for moment in installed_at):
        return None
    return max(moment for moment in installed_at if moment is not None)


def acceptance_deadline(arrived_at: datetime, policy: ContractPolicy) -> datetime:
    """The last instant the customer may still accept or refuse explicitly."""
    return require_aware(arrived_at, "arrived_at") + timedelta(days=policy.acceptance_window_days)


def deemed_accepted(arrived_at: datetime, now: datetime, policy: ContractPolicy) -> bool:
    """Past the window with no answer, the delivery counts as accepted.

    The deadline instant itself is still inside the window; one second later is not.
    """
    return require_aware(now, "now") > acceptance_deadline(arrived_at, policy)


def deemed_acceptance_at(
    last_arrival: datetime, delivered_at: datetime, policy: ContractPolicy
) -> datetime:
    """The instant a silent customer's acceptance is recorded at: when the window after
    the last arrival closed — or, if the last installation came later, at that
    installation, since nothing is accepted before it is delivered."""
    deadline = acceptance_deadline(last_arrival, policy)
    return max(deadline, require_aware(delivered_at, "delivered_at"))


# ------------------------------------------------------------------- change requests

# Change requests amend a running project: after signing, before acceptance.
CHANGEABLE_STATUSES = frozenset({_C.signed, _C.in_delivery, _C.delivered})


def can_request_change(contract_status: ContractStatus) -> GateResult:
    if contract_status in CHANGEABLE_STATUSES:
        return GateResult(ok=True)
    return GateResult.from_checks(
        [
            Check(
                "change_request.contract_not_active",
                f"A {contract_status} contract takes no change requests.",
                "status",
            )
        ]
    )


def check_change_request_application(
    contract_status: ContractStatus, change_status: ChangeRequestStatus, *, unpaid_milestones: int
) -> GateResult:
    """A change touches the contract amount only once approved, only on a live contract,
    and only while an unpaid milestone is left to bill it (paid ones are never re-priced)."""
    checks = list(can_request_change(contract_status).unmet)
    if change_status is not ChangeRequestStatus.approved:
        checks.append(
            Check(
                "change_request.not_approved",
                "A change request must be approved before it changes the contract amount.",
                "status",
            )
        )
    if unpaid_milestones < 1:
        checks.append(
            Check(
                "change_request.no_unpaid_milestone",
                "Every payment milestone is paid; none is left to bill the change.",
                "milestones",
            )
        )
    return GateResult.from_checks(checks)


def apply_change_request(amount: Decimal, extra_fee: Decimal) -> Decimal:
    """The new contract amount. A negative fee (descoping) may not push it below zero."""
    new_amount = quantize_money(amount + extra_fee)
    if new_amount < 0:
        raise ValueError("a change request cannot make the contract amount negative")
    return new_amount

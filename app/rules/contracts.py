"""Contract lifecycle, payment milestones, delivery and acceptance (DOMAIN.md §5).

Lifecycle: draft → in_review → approved → signed → in_delivery → delivered → accepted →
closed, or terminated (with a reason) from any state that is not already final. A reviewer
may send an in-review contract back to draft. Signing moves the deal to `implementation`,
acceptance closes it as `won` (see `deal_stage_after`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from app.core.enums import (
    ChangeRequestStatus,
    ContractStatus,
    DealStage,
    DeliveryStatus,
    MilestoneAnchor,
    MilestoneKind,
    TaskKind,
)
from app.rules.common import HUNDRED, Check, GateResult, quantize_money, require_aware


class ContractPolicy(BaseModel):
    """The contract SOP's numbers as data."""

    model_config = ConfigDict(frozen=True)

    acceptance_window_days: int = Field(default=3, ge=0)
    delivery_notice_days: int = Field(default=2, ge=0)
    survey_after_hours: int = Field(default=24, ge=0)
    first_visit_after_hours: int = Field(default=72, ge=0)
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

CONFLICT_CODES = frozenset({"contract.action_not_allowed", "contract.sign_requires_approval"})


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
                f"Milestone percentages add up to {total} %, not 100 %.",
                "milestones",
            )
        )
    return GateResult.from_checks(checks)


def milestone_amounts(contract_amount: Decimal, percents: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Each milestone's amount in cents; the last absorbs rounding so they sum to the contract."""
    if not percents:
        return ()
    amounts = [quantize_money(contract_amount * p / HUNDRED) for p in percents[:-1]]
    return (*amounts, quantize_money(contract_amount) - sum(amounts, Decimal("0.00")))


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


def delivery_notice_date(planned_delivery_date: date, policy: ContractPolicy) -> date:
    """The day the customer is told the delivery is coming (2 days before, by default)."""
    return planned_delivery_date - timedelta(days=policy.delivery_notice_days)


def acceptance_deadline(arrived_at: datetime, policy: ContractPolicy) -> datetime:
    """The last instant the customer may still accept or refuse explicitly."""
    return require_aware(arrived_at, "arrived_at") + timedelta(days=policy.acceptance_window_days)


def deemed_accepted(arrived_at: datetime, now: datetime, policy: ContractPolicy) -> bool:
    """Past the window with no answer, the delivery counts as accepted.

    The deadline instant itself is still inside the window; one second later is not.
    """
    return require_aware(now, "now") > acceptance_deadline(arrived_at, policy)


@dataclass(frozen=True, slots=True)
class PlannedTask:
    kind: TaskKind
    due_at: datetime


def post_acceptance_tasks(accepted_at: datetime, policy: ContractPolicy) -> tuple[PlannedTask, ...]:
    """The duties acceptance creates: satisfaction survey (24 h), first visit (72 h)."""
    require_aware(accepted_at, "accepted_at")
    return (
        PlannedTask(
            TaskKind.satisfaction_survey, accepted_at + timedelta(hours=policy.survey_after_hours)
        ),
        PlannedTask(
            TaskKind.first_visit, accepted_at + timedelta(hours=policy.first_visit_after_hours)
        ),
    )


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
    contract_status: ContractStatus, change_status: ChangeRequestStatus
) -> GateResult:
    """A change touches the contract amount only once approved, and only on a live contract."""
    checks = list(can_request_change(contract_status).unmet)
    if change_status is not ChangeRequestStatus.approved:
        checks.append(
            Check(
                "change_request.not_approved",
                "A change request must be approved before it changes the contract amount.",
                "status",
            )
        )
    return GateResult.from_checks(checks)


def apply_change_request(amount: Decimal, extra_fee: Decimal) -> Decimal:
    """The new contract amount. A negative fee (descoping) may not push it below zero."""
    new_amount = quantize_money(amount + extra_fee)
    if new_amount < 0:
        raise ValueError("a change request cannot make the contract amount negative")
    return new_amount

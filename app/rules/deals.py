"""Deal stage gates, win probabilities and staleness (docs/domain.md §3).

The key node that must hold to leave each stage is *data* in `DealPolicy.gates`, read by
one generic evaluator, so a company can read and change its SOP in one place and every
gate is testable on its own. The evaluator looks only at a `DealFacts` snapshot that the
service assembles from the database; nothing here loads anything.

Transition rules:
- forward: only to the next stage (`implementation -> won` is the last forward step), and
  only when the gate of the stage being left holds;
- back: one stage, from an open stage, with a reason;
- lost: from any open stage, with a lost reason (`other` also needs the reason text);
- won and lost are closed; reopening goes back to the stage the deal was closed from,
  needs a reason and one of `DealPolicy.reopen_roles`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.enums import (
    CLOSED_DEAL_STAGES,
    OPEN_DEAL_STAGES,
    DealStage,
    LostReason,
    Role,
)
from app.core.schemas import Percentage
from app.rules.common import HUNDRED, Check, GateResult, quantize_money, require_aware

# The forward path a deal walks; `lost` is reachable from every open stage instead.
PIPELINE: tuple[DealStage, ...] = (*OPEN_DEAL_STAGES, DealStage.won)


@dataclass(frozen=True, slots=True)
class DealFacts:
    """What the gates may look at: a plain snapshot of one deal and its evidence.

    The service fills it from the deal, its contacts, activities, approvals, quotes and
    contract; the rules never query for more.
    """

    stage: DealStage
    customer_id: UUID | None = None
    need_description: str | None = None
    estimated_amount: Decimal | None = None
    expected_close_date: date | None = None
    contact_count: int = 0
    presales_approved: bool = False
    decision_maker_engaged: bool = False
    approved_quote: bool = False
    bid_submitted_at: datetime | None = None
    bid_amount: Decimal | None = None
    contract_signed: bool = False
    delivery_accepted: bool = False
    # The open stage a won/lost deal was closed from: where a reopen returns it to.
    closed_from_stage: DealStage | None = None

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_DEAL_STAGES


DEAL_FACT_NAMES = frozenset(f.name for f in fields(DealFacts)) - {"stage"}


class RequirementKind(StrEnum):
    """How a UI groups a checklist item: data to fill in, proof to attach, a sign-off."""

    field = "field"
    evidence = "evidence"
    approval = "approval"


class Requirement(BaseModel):
    """One declarative gate item: `fact` of `DealFacts` must pass `test`."""

    model_config = ConfigDict(frozen=True)

    code: str
    kind: RequirementKind
    fact: str
    test: Literal["present", "true", "positive", "at_least"] = "present"
    minimum: int = 1
    message: str

    @field_validator("fact")
    @classmethod
    def _fact_exists(cls, fact: str) -> str:
        # A typo in a policy must fail at load time, not silently pass every deal.
        if fact not in DEAL_FACT_NAMES:
            raise ValueError(f"unknown deal fact {fact!r}")
        return fact


class StageGate(BaseModel):
    """The key node (关键节点) that must hold for the move `from_stage -> to_stage`."""

    model_config = ConfigDict(frozen=True)

    from_stage: DealStage
    to_stage: DealStage
    key_node: str
    requirements: tuple[Requirement, ...]


def _gate(
    from_stage: DealStage,
    key_node: str,
    *requirements: tuple[str, RequirementKind, str, str, str],
) -> StageGate:
    """Build the gate for leaving `from_stage` forward from compact (code, kind, fact,
    test, message) rows, so the whole SOP reads as one table below."""
    return StageGate(
        from_stage=from_stage,
        to_stage=PIPELINE[PIPELINE.index(from_stage) + 1],
        key_node=key_node,
        requirements=tuple(
            Requirement(code=code, kind=kind, fact=fact, test=test, message=message)
            for code, kind, fact, test, message in requirements
        ),
    )


_F, _E, _A = RequirementKind.field, RequirementKind.evidence, RequirementKind.approval

DEFAULT_GATES: tuple[StageGate, ...] = (
    _gate(
        DealStage.development,
        "accurate project information",
        ("gate.customer_linked", _F, "customer_id", "present", "Link the deal to a customer."),
        ("gate.need_described", _F, "need_description", "present", "Describe the customer's need."),
        (
            "gate.amount_estimated",
            _F,
            "estimated_amount",
            "positive",
            "Set an estimated amount above zero.",
        ),
        (
            "gate.close_date_expected",
            _F,
            "expected_close_date",
            "present",
            "Set the expected close date.",
        ),
        (
            "gate.contact_identified",
            _E,
            "contact_count",
            "at_least",
            "Identify at least one contact at the customer.",
        ),
    ),
    _gate(
        DealStage.initiation,
        "presales project approval",
        (
            "gate.presales_approved",
            _A,
            "presales_approved",
            "true",
            "A manager must approve the opportunity (presales approval).",
        ),
    ),
    _gate(
        DealStage.proposal,
        "effective relationship",
        (
            "gate.decision_maker_engaged",
            _E,
            "decision_maker_engaged",
            "true",
            "Log an activity with a decision-maker contact.",
        ),
        ("gate.quote_approved", _A, "approved_quote", "true", "Get a solution/quote approved."),
    ),
    _gate(
        DealStage.bidding,
        "bid submitted",
        (
            "gate.bid_submitted",
            _E,
            "bid_submitted_at",
            "present",
            "Record when the bid was submitted.",
        ),
        (
            "gate.bid_amount_set",
            _F,
            "bid_amount",
            "positive",
            "Record the bid amount (above zero).",
        ),
    ),
    _gate(
        DealStage.negotiation,
        "contract approved and signed",
        (
            "gate.contract_signed",
            _E,
            "contract_signed",
            "true",
            "The contract must be approved and signed.",
        ),
    ),
    _gate(
        DealStage.implementation,
        "delivery accepted and project closed",
        (
            "gate.delivery_accepted",
            _E,
            "delivery_accepted",
            "true",
            "The customer must accept the delivery.",
        ),
    ),
)

# Published by GET /api/v1/policy, so shown like every other percentage.
Percent = Annotated[Percentage, Field(ge=0, le=100)]

DEFAULT_WIN_PROBABILITY_PCT: dict[DealStage, Decimal] = {
    DealStage.development: Decimal(10),
    DealStage.initiation: Decimal(20),
    DealStage.proposal: Decimal(40),
    DealStage.bidding: Decimal(60),
    DealStage.negotiation: Decimal(80),
    DealStage.implementation: Decimal(95),
    DealStage.won: Decimal(100),
    DealStage.lost: Decimal(0),
}


class DealPolicy(BaseModel):
    """The deal SOP as data: gates, forecast probabilities, staleness, who may reopen."""

    model_config = ConfigDict(frozen=True)

    win_probability_pct: dict[DealStage, Percent] = Field(
        default_factory=lambda: dict(DEFAULT_WIN_PROBABILITY_PCT)
    )
    stale_after_days: int = Field(default=30, ge=1)
    reopen_roles: tuple[Role, ...] = (Role.manager, Role.director, Role.admin)
    gates: tuple[StageGate, ...] = DEFAULT_GATES

    @model_validator(mode="after")
    def _complete(self) -> DealPolicy:
        missing = set(DealStage) - set(self.win_probability_pct)
        if missing:
            raise ValueError(f"win probability missing for {sorted(missing)}")
        pairs = [(g.from_stage, g.to_stage) for g in self.gates]
        if len(pairs) != len(set(pairs)):
            raise ValueError("at most one gate per transition")
        return self

    def gate_for(self, from_stage: DealStage, to_stage: DealStage) -> StageGate | None:
        return next(
            (g for g in self.gates if (g.from_stage, g.to_stage) == (from_stage, to_stage)),
            None,
        )


class TransitionKind(StrEnum):
    forward = "forward"
    back = "back"
    lose = "lose"
    reopen = "reopen"


@dataclass(frozen=True, slots=True)
class TransitionOption:
    """One row of the dry run: a reachable target and what still stands in the way.

    `unmet` holds the checks that depend on the deal and the actor; the inputs the request
    must carry are flagged separately so the dry run does not report them as failures.
    """

    target: DealStage
    kind: TransitionKind
    unmet: tuple[Check, ...]
    reason_required: bool
    lost_reason_required: bool

    @property
    def ok(self) -> bool:
        return not self.unmet


# Codes that mean "the deal is in the wrong state for this" (HTTP 409) rather than
# "a business rule is not yet met" (HTTP 422).
CONFLICT_CODES = frozenset(
    {
        "transition.same_stage",
        "transition.deal_closed",
        "transition.skip_not_allowed",
        "transition.back_more_than_one_stage",
        "transition.reopen_stage_unknown",
    }
)
# Codes that mean "someone else may do this, not you" (HTTP 403).
FORBIDDEN_CODES = frozenset({"transition.reopen_requires_manager"})


def _structural(facts: DealFacts, target: DealStage) -> TransitionKind | Check:
    """Which kind of move this is, or the single reason it is not a move at all."""
    current = facts.stage
    if target == current:
        return Check("transition.same_stage", f"The deal is already in {current}.", "target")
    if facts.is_closed:
        return _reopen_kind(facts, target)
    if target == DealStage.lost:
        return TransitionKind.lose
    step = PIPELINE.index(target) - PIPELINE.index(current)
    if step == 1:
        return TransitionKind.forward
    if step == -1:
        return TransitionKind.back
    if step > 1:
        return Check(
            "transition.skip_not_allowed",
            f"Deals move forward one stage at a time: {current} leads to "
            f"{PIPELINE[PIPELINE.index(current) + 1]}, not {target}.",
            "target",
        )
    return Check(
        "transition.back_more_than_one_stage",
        "A deal may move back only one stage at a time.",
        "target",
    )


def _reopen_kind(facts: DealFacts, target: DealStage) -> TransitionKind | Check:
    if facts.closed_from_stage is None:
        return Check(
            "transition.reopen_stage_unknown",
            "The stage this deal was closed from is unknown, so it cannot be reopened.",
        )
    if target != facts.closed_from_stage:
        return Check(
            "transition.deal_closed",
            f"The deal is {facts.stage}; it can only be reopened to {facts.closed_from_stage}.",
            "target",
        )
    return TransitionKind.reopen


def _requirement_met(facts: DealFacts, requirement: Requirement) -> bool:
    value = getattr(facts, requirement.fact)
    match requirement.test:
        case "true":
            return value is True
        case "positive":
            return value is not None and value > 0
        case "at_least":
            return value is not None and value >= requirement.minimum
        case _:
            return value is not None and not (isinstance(value, str) and not value.strip())


def _gate_checks(facts: DealFacts, target: DealStage, policy: DealPolicy) -> list[Check]:
    gate = policy.gate_for(facts.stage, target)
    if gate is None:
        return []
    # Only data requirements point at a deal field; evidence and approvals live elsewhere.
    return [
        Check(r.code, r.message, r.fact if r.kind is RequirementKind.field else None)
        for r in gate.requirements
        if not _requirement_met(facts, r)
    ]


def _actor_checks(kind: TransitionKind, actor_role: Role | None, policy: DealPolicy) -> list[Check]:
    if kind is TransitionKind.reopen and actor_role not in policy.reopen_roles:
        allowed = ", ".join(policy.reopen_roles)
        return [
            Check(
                "transition.reopen_requires_manager",
                f"Reopening a closed deal needs one of: {allowed}.",
            )
        ]
    return []


def _fact_checks(
    facts: DealFacts,
    target: DealStage,
    kind: TransitionKind,
    policy: DealPolicy,
    actor_role: Role | None,
) -> list[Check]:
    return [*_gate_checks(facts, target, policy), *_actor_checks(kind, actor_role, policy)]


def _needs_reason(kind: TransitionKind) -> bool:
    # Going backwards or reopening rewrites the forecast; the history must say why.
    return kind in (TransitionKind.back, TransitionKind.reopen)


def _input_checks(
    kind: TransitionKind, reason: str | None, lost_reason: LostReason | None
) -> list[Check]:
    has_reason = bool(reason and reason.strip())
    checks: list[Check] = []
    if _needs_reason(kind) and not has_reason:
        checks.append(Check("transition.reason_required", "Give a reason for this move.", "reason"))
    if kind is TransitionKind.lose:
        if lost_reason is None:
            checks.append(
                Check(
                    "transition.lost_reason_required",
                    "Pick a lost reason.",
                    "lost_reason",
                )
            )
        elif lost_reason is LostReason.other and not has_reason:
            checks.append(
                Check(
                    "transition.lost_reason_text_required",
                    "Lost reason 'other' needs a text explaining it.",
                    "reason",
                )
            )
    return checks


def evaluate_transition(
    facts: DealFacts,
    target: DealStage,
    policy: DealPolicy,
    *,
    reason: str | None = None,
    lost_reason: LostReason | None = None,
    actor_role: Role | None = None,
) -> GateResult:
    """May the deal move to `target` now? Answers with every unmet check at once."""
    kind = _structural(facts, target)
    if isinstance(kind, Check):
        return GateResult.from_checks([kind])
    return GateResult.from_checks(
        [
            *_fact_checks(facts, target, kind, policy, actor_role),
            *_input_checks(kind, reason, lost_reason),
        ]
    )


def _candidate_targets(facts: DealFacts) -> list[DealStage]:
    if facts.is_closed:
        return [facts.closed_from_stage] if facts.closed_from_stage else []
    position = PIPELINE.index(facts.stage)
    candidates = [PIPELINE[position + 1]]
    if position > 0:
        candidates.append(PIPELINE[position - 1])
    candidates.append(DealStage.lost)
    return candidates


def reachable_transitions(
    facts: DealFacts, policy: DealPolicy, *, actor_role: Role | None = None
) -> tuple[TransitionOption, ...]:
    """The dry run: each stage the deal could move to, with what still blocks it."""
    options = []
    for target in _candidate_targets(facts):
        kind = _structural(facts, target)
        if isinstance(kind, Check):  # unreachable: candidates are valid moves by construction
            continue
        options.append(
            TransitionOption(
                target=target,
                kind=kind,
                unmet=tuple(_fact_checks(facts, target, kind, policy, actor_role)),
                reason_required=_needs_reason(kind),
                lost_reason_required=kind is TransitionKind.lose,
            )
        )
    return tuple(options)


def transition_kind(facts: DealFacts, target: DealStage) -> TransitionKind | None:
    """The kind of a valid move (for the stage history), or None when it is not one."""
    kind = _structural(facts, target)
    return kind if isinstance(kind, TransitionKind) else None


def weighted_amount(amount: Decimal, stage: DealStage, policy: DealPolicy) -> Decimal:
    """The amount counted in the weighted forecast: amount * the stage's win probability."""
    return quantize_money(amount * policy.win_probability_pct[stage] / HUNDRED)


def is_stale(
    last_stage_change_at: datetime,
    now: datetime,
    policy: DealPolicy,
    *,
    stage: DealStage | None = None,
) -> bool:
    """True once `stale_after_days` full days have passed without a stage change.

    Exactly 30 days counts as stale ("no stage change for 30 days" has then happened);
    one second less does not. Closed deals are never stale (pass `stage` to apply that).
    """
    require_aware(last_stage_change_at, "last_stage_change_at")
    require_aware(now, "now")
    if stage in CLOSED_DEAL_STAGES:
        return False
    return now - last_stage_change_at >= timedelta(days=policy.stale_after_days)

"""Quote totals, discount authority, approval fingerprints and the quote lifecycle.

The procedure is docs/domain.md §4.

How discounts compose (multiplicative, in this order):
1. each line: `quantity * unit list price * (1 - line discount %)`, rounded to cents;
2. the header discount applies to the sum of line nets → the *negotiated* total;
3. the policy discount (multi-year renewal, volume breaks) applies to the negotiated total.

Discount authority judges `effective_discount_pct`: the negotiated discount against list
price, i.e. steps 1 and 2 but never step 3 — policy discounts are outside the limits and need
no approval. It is computed on unrounded amounts and rounded *up* to 0.01 %, so cent
rounding can neither push a quote over a limit nor hide a sliver above one.

The renewal policy discount is only for renewals (`check_renewal_eligibility`): a customer
with nothing to renew cannot buy a 15 % discount past the authority table by claiming one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, localcontext
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.enums import (
    CLOSED_DEAL_STAGES,
    ContractStatus,
    CustomerTier,
    DealStage,
    QuoteStatus,
    Role,
)
from app.core.schemas import Percentage
from app.rules.common import (
    HUNDRED,
    Check,
    GateResult,
    percent_text,
    quantize_money,
    require_aware,
)
from app.rules.contracts import SIGNED_CONTRACT_STATUSES

# Published by GET /api/v1/policy, so shown like every other percentage.
Percent = Annotated[Percentage, Field(ge=0, le=100)]
PCT_STEP = Decimal("0.01")


class QuotePolicy(BaseModel):
    """Discount authority, validity and renewal discounts as data."""

    model_config = ConfigDict(frozen=True)

    # Admin is deliberately absent: admins run the system, they hold no commercial authority,
    # so an admin account can never become a back door around the sales hierarchy.
    discount_authority_pct: dict[Role, Percent] = Field(
        default_factory=lambda: {
            Role.rep: Decimal(5),
            Role.manager: Decimal(10),
            Role.director: Decimal(15),
        }
    )
    # Above this no one may approve, whatever the authority table says.
    max_approvable_discount_pct: Percent = Decimal(15)
    validity_days: int = Field(default=30, ge=1)
    # Contract length in years → policy discount. Lengths between/after keys take the
    # largest key not above them (4 years gets the 3-year 15 %); below the smallest key, 0 %.
    renewal_discount_pct_by_years: dict[int, Percent] = Field(
        default_factory=lambda: {2: Decimal(10), 3: Decimal(15)}
    )

    @model_validator(mode="after")
    def _sane(self) -> QuotePolicy:
        if any(years < 1 for years in self.renewal_discount_pct_by_years):
            raise ValueError("renewal discount keys are contract lengths in years (>= 1)")
        return self


# ---------------------------------------------------------------------------- totals


@dataclass(frozen=True, slots=True)
class QuoteLine:
    quantity: Decimal
    unit_list_price: Decimal
    line_discount_pct: Decimal = Decimal(0)
    sku: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class LineTotal:
    list_amount: Decimal
    net_amount: Decimal


@dataclass(frozen=True, slots=True)
class QuoteTotals:
    """Everything the service stores and shows; computed here, never taken from a client."""

    lines: tuple[LineTotal, ...]
    list_total: Decimal
    subtotal: Decimal  # after line discounts
    header_discount_amount: Decimal
    negotiated_total: Decimal  # after line and header discounts
    policy_discount_amount: Decimal
    total: Decimal
    effective_discount_pct: Decimal


def _pct_in_range(value: Decimal) -> bool:
    return Decimal(0) <= value <= HUNDRED


def validate_quote_inputs(
    lines: Sequence[QuoteLine], header_discount_pct: Decimal, policy_discount_pct: Decimal
) -> GateResult:
    """Every reason these inputs cannot be priced (quote.* codes, 422)."""
    checks: list[Check] = []
    if not lines:
        checks.append(Check("quote.no_lines", "A quote needs at least one line.", "lines"))
    for i, line in enumerate(lines):
        if line.quantity <= 0:
            checks.append(
                Check(
                    "quote.quantity_not_positive",
                    "Quantity must be above zero.",
                    f"lines[{i}].quantity",
                )
            )
        if line.unit_list_price < 0:
            checks.append(
                Check(
                    "quote.price_negative",
                    "A list price cannot be negative.",
                    f"lines[{i}].unit_list_price",
                )
            )
        if not _pct_in_range(line.line_discount_pct):
            checks.append(_discount_range_check(f"lines[{i}].line_discount_pct"))
    for name, value in (
        ("header_discount_pct", header_discount_pct),
        ("policy_discount_pct", policy_discount_pct),
    ):
        if not _pct_in_range(value):
            checks.append(_discount_range_check(name))
    return GateResult.from_checks(checks)


def _discount_range_check(field: str) -> Check:
    return Check("quote.discount_out_of_range", "A discount must be between 0 and 100 %.", field)


def _remaining(pct: Decimal) -> Decimal:
    return (HUNDRED - pct) / HUNDRED


def _effective_discount_pct(lines: Sequence[QuoteLine], header_discount_pct: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50  # exact for any realistic amount, so a true 5 % stays exactly 5.00
        list_exact = sum((ln.quantity * ln.unit_list_price for ln in lines), Decimal(0))
        if list_exact == 0:
            return Decimal("0.00")
        net_exact = sum(
            (ln.quantity * ln.unit_list_price * _remaining(ln.line_discount_pct) for ln in lines),
            Decimal(0),
        ) * _remaining(header_discount_pct)
        pct = (list_exact - net_exact) / list_exact * HUNDRED
    return pct.quantize(PCT_STEP, rounding=ROUND_CEILING)


def compute_totals(
    lines: Sequence[QuoteLine], header_discount_pct: Decimal, policy_discount_pct: Decimal
) -> QuoteTotals:
    """Price a quote. Raises ValueError on inputs `validate_quote_inputs` refuses."""
    validation = validate_quote_inputs(lines, header_discount_pct, policy_discount_pct)
    if not validation.ok:
        raise ValueError(f"cannot price quote: {', '.join(validation.codes)}")
    line_totals = tuple(
        LineTotal(
            list_amount=quantize_money(ln.quantity * ln.unit_list_price),
            net_amount=quantize_money(
                ln.quantity * ln.unit_list_price * _remaining(ln.line_discount_pct)
            ),
        )
        for ln in lines
    )
    subtotal = sum((lt.net_amount for lt in line_totals), Decimal("0.00"))
    header_amount = quantize_money(subtotal * header_discount_pct / HUNDRED)
    negotiated = subtotal - header_amount
    policy_amount = quantize_money(negotiated * policy_discount_pct / HUNDRED)
    return QuoteTotals(
        lines=line_totals,
        list_total=sum((lt.list_amount for lt in line_totals), Decimal("0.00")),
        subtotal=subtotal,
        header_discount_amount=header_amount,
        negotiated_total=negotiated,
        policy_discount_amount=policy_amount,
        total=negotiated - policy_amount,
        effective_discount_pct=_effective_discount_pct(lines, header_discount_pct),
    )


# ---------------------------------------------------------------- discount authority


@dataclass(frozen=True, slots=True)
class DiscountDecision:
    """What submitting a quote leads to.

    auto_approve: within the author's own authority → approved on submit.
    approver_role: otherwise, the least senior role whose limit covers the discount.
    refused: nobody may approve it (`unmet` says why); the quote cannot be submitted.
    """

    auto_approve: bool
    approver_role: Role | None
    refused: bool
    unmet: tuple[Check, ...] = ()


def _above_ceiling(effective_discount_pct: Decimal, policy: QuotePolicy) -> Check | None:
    ceiling = policy.max_approvable_discount_pct
    if effective_discount_pct <= ceiling:
        return None
    return Check(
        "discount.above_ceiling",
        f"A {percent_text(effective_discount_pct)} % discount is above "
        f"{percent_text(ceiling)} %: no one may approve it.",
        "effective_discount_pct",
    )


def required_approver_role(effective_discount_pct: Decimal, policy: QuotePolicy) -> Role | None:
    """The least senior role whose limit covers the discount; None when no one may approve.

    A discount inside the rep limit still answers `Role.rep`: someone covers it.
    """
    if _above_ceiling(effective_discount_pct, policy):
        return None
    by_limit = sorted(policy.discount_authority_pct.items(), key=lambda item: item[1])
    return next((role for role, limit in by_limit if effective_discount_pct <= limit), None)


def _within_authority(role: Role, effective_discount_pct: Decimal, policy: QuotePolicy) -> bool:
    limit = policy.discount_authority_pct.get(role)
    return limit is not None and effective_discount_pct <= limit


def decide_submission(
    author_role: Role, effective_discount_pct: Decimal, policy: QuotePolicy
) -> DiscountDecision:
    """Approved on submit, waiting for a more senior approver, or refused outright."""
    ceiling = _above_ceiling(effective_discount_pct, policy)
    if ceiling:
        return DiscountDecision(False, None, refused=True, unmet=(ceiling,))
    if _within_authority(author_role, effective_discount_pct, policy):
        return DiscountDecision(True, None, refused=False)
    # The author's own limit is below the discount, so this role is never the author's.
    approver = required_approver_role(effective_discount_pct, policy)
    if approver is None:
        no_one = Check(
            "discount.no_approver",
            "No role in the authority table covers this discount.",
            "effective_discount_pct",
        )
        return DiscountDecision(False, None, refused=True, unmet=(no_one,))
    return DiscountDecision(False, approver, refused=False)


def can_approve(
    approver_role: Role,
    approver_id: UUID,
    author_id: UUID,
    effective_discount_pct: Decimal,
    policy: QuotePolicy,
) -> GateResult:
    """May this person approve this quote? Never the author, always within their limit."""
    checks: list[Check] = []
    if approver_id == author_id:
        checks.append(Check("approval.self_approval", "No one may approve their own quote."))
    ceiling = _above_ceiling(effective_discount_pct, policy)
    if ceiling:
        checks.append(ceiling)
    elif not _within_authority(approver_role, effective_discount_pct, policy):
        checks.append(
            Check(
                "approval.insufficient_authority",
                f"A {approver_role} may not approve a "
                f"{percent_text(effective_discount_pct)} % discount.",
                "effective_discount_pct",
            )
        )
    return GateResult.from_checks(checks)


def approval_queue_key(
    customer_tier: CustomerTier | None, submitted_at: datetime
) -> tuple[int, datetime]:
    """Sort key for an approver's queue: strategic customers first (green channel), then FIFO."""
    return (0 if customer_tier is CustomerTier.strategic else 1, require_aware(submitted_at))


def renewal_policy_discount_pct(years: int, policy: QuotePolicy) -> Decimal:
    """The policy discount for a multi-year renewal; needs no approval."""
    if years < 1:
        raise ValueError("a renewal lasts at least one year")
    eligible = [key for key in policy.renewal_discount_pct_by_years if key <= years]
    return policy.renewal_discount_pct_by_years[max(eligible)] if eligible else Decimal(0)


def check_renewal_eligibility(
    renewal_years: int | None, other_contract_statuses: Iterable[ContractStatus]
) -> GateResult:
    """May a quote claim the multi-year renewal discount?

    Only a renewal may: the customer must hold a contract from another deal that was
    signed and not terminated — still running or already ended, it is what is being
    renewed. A new customer, or one whose contracts were never signed or were terminated,
    renews nothing, and `renewal_years` is refused rather than silently ignored.
    `other_contract_statuses` are the statuses of the customer's contracts on other deals.
    """
    if renewal_years is None or SIGNED_CONTRACT_STATUSES.intersection(other_contract_statuses):
        return GateResult(ok=True)
    return GateResult.from_checks(
        [
            Check(
                "quote.renewal_not_eligible",
                "A renewal discount needs a signed, not terminated contract of this customer "
                "to renew; this customer has none.",
                "renewal_years",
            )
        ]
    )


# ------------------------------------------------------------------------ fingerprint


def _canonical_decimal(value: Decimal) -> str:
    # 10, 10.0 and 10.00 are one price; "-0" and "0E+2" are zero.
    return "0" if value == 0 else format(value.normalize(), "f")


def fingerprint(
    lines: Sequence[QuoteLine],
    header_discount_pct: Decimal,
    policy_discount_pct: Decimal,
    currency: str,
    valid_until: date | None,
    terms: str | None,
) -> str:
    """SHA-256 of what an approval covers. Any change to it voids the approval."""
    payload: dict[str, Any] = {
        "currency": currency.strip().upper(),
        "header_discount_pct": _canonical_decimal(header_discount_pct),
        "lines": [
            {
                "sku": ln.sku,
                "description": ln.description,
                "quantity": _canonical_decimal(ln.quantity),
                "unit_list_price": _canonical_decimal(ln.unit_list_price),
                "line_discount_pct": _canonical_decimal(ln.line_discount_pct),
            }
            for ln in lines
        ],
        "policy_discount_pct": _canonical_decimal(policy_discount_pct),
        "terms": terms,
        "valid_until": valid_until.isoformat() if valid_until else None,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_approval_binding(
    approved_fingerprint: str | None, current_fingerprint: str
) -> GateResult:
    """Is the approval still about this exact content? (Closes edit-after-approval bypasses.)"""
    if approved_fingerprint == current_fingerprint:
        return GateResult(ok=True)
    return GateResult.from_checks(
        [Check("quote.approval_void", "The quote changed after approval; submit it again.")]
    )


# ------------------------------------------------------------------------- lifecycle


class QuoteAction(StrEnum):
    edit = "edit"
    submit = "submit"
    approve = "approve"
    reject = "reject"  # by the approver (pending) or the customer (sent)
    send = "send"
    accept = "accept"
    expire = "expire"
    supersede = "supersede"


_S = QuoteStatus
# action → (statuses it may start from, status it leads to; None = stays put)
QUOTE_MOVES: dict[QuoteAction, tuple[frozenset[QuoteStatus], QuoteStatus | None]] = {
    # Versions are immutable once submitted: only drafts are edited.
    QuoteAction.edit: (frozenset({_S.draft}), None),
    QuoteAction.submit: (frozenset({_S.draft}), _S.pending_approval),
    QuoteAction.approve: (frozenset({_S.pending_approval}), _S.approved),
    QuoteAction.reject: (frozenset({_S.pending_approval, _S.sent}), _S.rejected),
    QuoteAction.send: (frozenset({_S.approved}), _S.sent),
    QuoteAction.accept: (frozenset({_S.sent}), _S.accepted),
    QuoteAction.expire: (frozenset({_S.pending_approval, _S.approved, _S.sent}), _S.expired),
    # Only live versions get superseded; rejected/expired/accepted keep their outcome.
    QuoteAction.supersede: (
        frozenset({_S.draft, _S.pending_approval, _S.approved, _S.sent}),
        _S.superseded,
    ),
}

# Actions that move a quote towards a contract: they need it still valid and its deal open.
_ADVANCING = frozenset(
    {QuoteAction.submit, QuoteAction.approve, QuoteAction.send, QuoteAction.accept}
)

CONFLICT_CODES = frozenset({"quote.action_not_allowed", "quote.expired", "quote.deal_closed"})


def default_valid_until(issued_on: date, policy: QuotePolicy) -> date:
    return issued_on + timedelta(days=policy.validity_days)


def validity_passed(valid_until: date | None, now: datetime) -> bool:
    """A quote is valid through the whole of its `valid_until` day (UTC)."""
    return valid_until is not None and require_aware(now, "now").date() > valid_until


def _state_check(status: QuoteStatus, action: QuoteAction) -> Check | None:
    starts, _ = QUOTE_MOVES[action]
    if status in starts:
        return None
    if status is QuoteStatus.expired and action is QuoteAction.accept:
        return Check("quote.expired", "This quote has expired and can no longer be accepted.")
    return Check("quote.action_not_allowed", f"Cannot {action} a quote that is {status}.", "status")


def _validity_check(action: QuoteAction, now: datetime, valid_until: date | None) -> Check | None:
    passed = validity_passed(valid_until, now)
    if action in _ADVANCING and passed:
        return Check(
            "quote.validity_passed",
            f"The quote was valid until {valid_until}.",
            "valid_until",
        )
    if action is QuoteAction.expire and not passed:
        return Check("quote.not_yet_expired", "The quote is still within its validity date.")
    return None


def deal_closed_check(deal_stage: DealStage | None) -> Check | None:
    """A won or lost deal takes no new quotes and moves none of its quotes forward."""
    if deal_stage not in CLOSED_DEAL_STAGES:
        return None
    return Check(
        "quote.deal_closed",
        f"The deal is {deal_stage}: it takes no new quotes, and its quotes no longer move "
        "towards a contract.",
        "deal_id",
    )


def check_quote_action(
    status: QuoteStatus,
    action: QuoteAction,
    *,
    now: datetime,
    valid_until: date | None,
    deal_stage: DealStage | None = None,
) -> GateResult:
    """May `action` happen to a quote in `status` at `now`, on a deal in `deal_stage`?
    Every reason if not. Rejecting and expiring stay possible on a closed deal: they only
    close the quote."""
    checks = (
        _state_check(status, action),
        _validity_check(action, now, valid_until),
        deal_closed_check(deal_stage) if action in _ADVANCING else None,
    )
    return GateResult.from_checks(c for c in checks if c is not None)


def allowed_quote_actions(
    status: QuoteStatus,
    *,
    now: datetime,
    valid_until: date | None,
    deal_stage: DealStage | None = None,
) -> tuple[QuoteAction, ...]:
    return tuple(
        action
        for action in QuoteAction
        if check_quote_action(
            status, action, now=now, valid_until=valid_until, deal_stage=deal_stage
        ).ok
    )


def quote_status_after(
    status: QuoteStatus, action: QuoteAction, *, auto_approved: bool = False
) -> QuoteStatus:
    """The status an allowed action leads to; a submit within authority lands on approved."""
    starts, target = QUOTE_MOVES[action]
    if status not in starts:
        raise ValueError(f"{action} is not allowed from {status}")
    if action is QuoteAction.submit and auto_approved:
        return QuoteStatus.approved
    return target or status

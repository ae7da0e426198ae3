"""Customer rules: RFM tier, grade, lifecycle stage, health warnings, reminders, renewals.

docs/domain.md §2. The caller aggregates a customer's history (won deals, activities, payment
milestones, complaints) into small fact models; these functions only decide. Every
number is in `CustomerPolicy`, whose threshold tables are plain tuples so the nightly
set-based recompute can turn them into SQL `CASE` expressions and agree with the API.

Day counts: "days since X" is the number of *whole* days elapsed, `(now - X).days`
(floor; never negative). Hence, for an integer N:
- `days_since(X) >= N`  <=>  `X <= now - N days`
- `days_since(X) <= N`  <=>  `X >  now - (N + 1) days`
"12 months" is `rfm_window_days` (365) days everywhere, so SQL uses plain intervals.

Tier precedence (first match wins), and why:
1. manual override (recorded with a reason; the computed tier is still reported);
2. `dormant`: bought before, but nothing for `dormant_after_days` (180). Checked before
   `strategic` because a big account gone quiet needs reactivation, not a green channel,
   and its 12-month RFM can still look strategic for months after it stopped buying;
3. `strategic`: RFM total >= `strategic_min_rfm` (13);
4. `growth`: RFM total >= `growth_min_rfm` (9, so 9..12), or revenue rising: last 12
   months > `revenue_rising_min_ratio` x previous 12 months, with previous > 0 (a first
   small order is not "growth" yet, it stays potential);
5. `potential`: everything else (little or no purchase yet).

Lifecycle precedence (first match wins):
1. `churned`: marked lost; or no active contract and no purchase for
   `churned_after_days` (365) after having bought;
2. `prospect`: nothing won yet;
3. `decline`: last-12-month revenue < `decline_revenue_ratio` (50%) x the previous 12
   months (strictly less: exactly half is not decline), or an open churn warning;
4. `mature`: >= `mature_min_won_deals` (2) won deals, or the first win is
   >= `mature_after_days` (365) days old (growth is strictly under 12 months);
5. `growth`: one won deal, less than 12 months ago.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from app.core.enums import CustomerGrade, CustomerTier, LifecycleStage, RatingLevel

ZERO = Decimal(0)

Thresholds = tuple[int, int, int, int]


def _strictly_ascending(values: Sequence[int | Decimal]) -> bool:
    return all(low < high for low, high in pairwise(values))


class CustomerPolicy(BaseModel):
    """Thresholds for tier, lifecycle, health warnings and renewals (docs/domain.md §2).

    RFM threshold tables, four cut-offs each, all inclusive:
    - `recency_thresholds_days = (30, 90, 180, 270)`: days since last purchase
      <= 30 -> R5, <= 90 -> R4, <= 180 -> R3, <= 270 -> R2, more (or never bought) -> R1.
      Formula: `R = 5 - count(days > t for t in thresholds)`.
    - `frequency_thresholds = (2, 3, 5, 8)`: won deals in the window
      >= 8 -> F5, >= 5 -> F4, >= 3 -> F3, >= 2 -> F2, else F1.
      Formula: `F = 1 + count(won >= t for t in thresholds)`.
    - `monetary_thresholds = (50 000, 200 000, 500 000, 1 000 000)`: revenue in the window,
      in `base_currency`, >= 1 000 000 -> M5, >= 500 000 -> M4, >= 200 000 -> M3,
      >= 50 000 -> M2, else M1. Formula: `M = 1 + count(revenue >= t for t in thresholds)`.
      A won deal's revenue is its accepted (or closed) contracts' amount, else its estimated
      amount. Amounts in other currencies are not converted (there is no rate to trust), so
      they add nothing to M and the tier reason says how many such deals were left out.
    SQL: `CASE WHEN days <= 30 THEN 5 WHEN days <= 90 THEN 4 ... ELSE 1 END`, and
    `CASE WHEN won >= 8 THEN 5 WHEN won >= 5 THEN 4 ... ELSE 1 END`.

    Warning thresholds: `no_contact_warning_days` and `no_purchase_warning_days` fire at
    days >= N; `payment_overdue_warning_days` fires at days overdue > N ("more than 15").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rfm_window_days: int = Field(365, ge=1)
    base_currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    recency_thresholds_days: Thresholds = (30, 90, 180, 270)
    frequency_thresholds: Thresholds = (2, 3, 5, 8)
    monetary_thresholds: tuple[Decimal, Decimal, Decimal, Decimal] = (
        Decimal(50_000),
        Decimal(200_000),
        Decimal(500_000),
        Decimal(1_000_000),
    )
    strategic_min_rfm: int = Field(13, ge=3, le=15)
    growth_min_rfm: int = Field(9, ge=3, le=15)
    revenue_rising_min_ratio: Decimal = Field(Decimal(1), gt=0)
    dormant_after_days: int = Field(180, ge=1)
    mature_min_won_deals: int = Field(2, ge=1)
    mature_after_days: int = Field(365, ge=1)
    decline_revenue_ratio: Decimal = Field(Decimal("0.5"), gt=0, le=1)
    churned_after_days: int = Field(365, ge=1)
    no_contact_warning_days: int = Field(60, ge=1)
    payment_overdue_warning_days: int = Field(15, ge=0)
    no_purchase_warning_days: int = Field(180, ge=1)
    churn_risk_window_days: int = Field(90, ge=1)
    renewal_lead_days: int = Field(90, ge=1)
    renewal_tiers: tuple[CustomerTier, ...] = (CustomerTier.strategic,)

    @model_validator(mode="after")
    def _consistent_tables(self) -> "CustomerPolicy":
        for name in ("recency_thresholds_days", "frequency_thresholds", "monetary_thresholds"):
            if not _strictly_ascending(getattr(self, name)):
                raise ValueError(f"{name} must be strictly ascending")
        if self.growth_min_rfm >= self.strategic_min_rfm:
            raise ValueError("growth_min_rfm must be below strategic_min_rfm")
        return self


DEFAULT_CUSTOMER_POLICY = CustomerPolicy()


def days_since(instant: datetime | None, now: datetime) -> int | None:
    """Whole days elapsed (floor), 0 for a future instant, None if it never happened."""
    if instant is None:
        return None
    return max(0, (now - instant).days)


# --- RFM ---------------------------------------------------------------------------------


class Rfm(BaseModel):
    """Recency, frequency and monetary scores, each 1..5."""

    model_config = ConfigDict(frozen=True)

    r: int = Field(ge=1, le=5)
    f: int = Field(ge=1, le=5)
    m: int = Field(ge=1, le=5)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return self.r + self.f + self.m

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reason_text(self) -> str:
        return f"R={self.r} F={self.f} M={self.m}"


def recency_score(days_since_purchase: int | None, policy: CustomerPolicy) -> int:
    """5 for a purchase within the first cut-off (inclusive) down to 1; never bought = 1."""
    if days_since_purchase is None:
        return 1
    return 5 - sum(days_since_purchase > limit for limit in policy.recency_thresholds_days)


def frequency_score(won_count: int, policy: CustomerPolicy) -> int:
    """1 plus one for every cut-off the won-deal count reaches (inclusive)."""
    return 1 + sum(won_count >= limit for limit in policy.frequency_thresholds)


def monetary_score(revenue: Decimal, policy: CustomerPolicy) -> int:
    """1 plus one for every cut-off the revenue reaches (inclusive)."""
    return 1 + sum(revenue >= limit for limit in policy.monetary_thresholds)


def rfm_scores(
    last_purchase_at: datetime | None,
    won_count_12m: int,
    revenue_12m: Decimal,
    now: datetime,
    policy: CustomerPolicy,
) -> Rfm:
    """Score a customer's last `rfm_window_days` of buying; the caller aggregates the window."""
    return Rfm(
        r=recency_score(days_since(last_purchase_at, now), policy),
        f=frequency_score(won_count_12m, policy),
        m=monetary_score(revenue_12m, policy),
    )


# --- Tier --------------------------------------------------------------------------------


class PurchaseHistory(BaseModel):
    """A customer's won business as the repository aggregates it ("purchase" = won deal).

    `*_12m` covers the last `rfm_window_days` days; `revenue_prev_12m` the window before.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_won_at: datetime | None = None
    last_purchase_at: datetime | None = None
    won_count_total: int = Field(0, ge=0)
    won_count_12m: int = Field(0, ge=0)
    revenue_12m: Decimal = ZERO
    revenue_prev_12m: Decimal = ZERO
    # Won deals of the window whose revenue is in another currency than the policy's base
    # (so not in `revenue_12m`), and that currency when they all share one.
    other_currency_deals_12m: int = Field(0, ge=0)
    other_currency: str | None = None


class TierDecision(BaseModel):
    """The tier to act on, the computed one shown beside it, and why."""

    model_config = ConfigDict(frozen=True)

    tier: CustomerTier
    computed_tier: CustomerTier
    overridden: bool
    rfm: Rfm
    reasons: tuple[str, ...]


def monetary_note(history: PurchaseHistory, policy: CustomerPolicy) -> str:
    """What M left out, e.g. `" (CNY; 1 USD deal not counted)"`; empty when nothing was."""
    count = history.other_currency_deals_12m
    if count == 0:
        return ""
    deals = "deal" if count == 1 else "deals"
    if history.other_currency is not None:
        return f" ({policy.base_currency}; {count} {history.other_currency} {deals} not counted)"
    return f" ({policy.base_currency}; {count} {deals} in other currencies not counted)"


def rfm_reason(rfm: Rfm, history: PurchaseHistory, policy: CustomerPolicy) -> str:
    """`R=5 F=4 M=3`, plus the note on other-currency revenue left out of M."""
    return rfm.reason_text + monetary_note(history, policy)


def revenue_rising(history: PurchaseHistory, policy: CustomerPolicy) -> bool:
    """Last 12 months beat the previous 12 by the policy ratio; needs a previous base."""
    previous = history.revenue_prev_12m
    return previous > 0 and history.revenue_12m > previous * policy.revenue_rising_min_ratio


def _computed_tier(
    history: PurchaseHistory, rfm: Rfm, now: datetime, policy: CustomerPolicy
) -> tuple[CustomerTier, str]:
    idle_days = days_since(history.last_purchase_at, now)
    if idle_days is not None and idle_days >= policy.dormant_after_days:
        return CustomerTier.dormant, f"no purchase for {idle_days} days"
    if rfm.total >= policy.strategic_min_rfm:
        return CustomerTier.strategic, f"RFM {rfm.total} >= {policy.strategic_min_rfm}"
    if rfm.total >= policy.growth_min_rfm:
        return CustomerTier.growth, f"RFM {rfm.total} >= {policy.growth_min_rfm}"
    if revenue_rising(history, policy):
        rise = f"{history.revenue_12m} vs {history.revenue_prev_12m}"
        return CustomerTier.growth, f"revenue rising over the previous 12 months ({rise})"
    return CustomerTier.potential, f"RFM {rfm.total} < {policy.growth_min_rfm}"


def compute_tier(
    history: PurchaseHistory,
    now: datetime,
    policy: CustomerPolicy,
    *,
    manual_tier: CustomerTier | None = None,
    manual_reason: str | None = None,
) -> TierDecision:
    """Tier a customer by RFM and revenue trend (precedence in the module docstring).

    A manager's `manual_tier` wins, but the computed tier and its reason stay visible so
    an override that no longer fits the numbers is easy to spot.
    """
    rfm = rfm_scores(
        history.last_purchase_at, history.won_count_12m, history.revenue_12m, now, policy
    )
    computed, why = _computed_tier(history, rfm, now, policy)
    reasons = [f"computed {computed}: {why} ({rfm_reason(rfm, history, policy)})"]
    if manual_tier is not None:
        reasons.append(f"manual override {manual_tier}: {manual_reason or 'no reason given'}")
    return TierDecision(
        tier=computed if manual_tier is None else manual_tier,
        computed_tier=computed,
        overridden=manual_tier is not None,
        rfm=rfm,
        reasons=tuple(reasons),
    )


# --- Grade -------------------------------------------------------------------------------


def compute_grade(
    need_intensity: RatingLevel | None, purchasing_power: RatingLevel | None
) -> CustomerGrade | None:
    """A = strong need and able to pay (invest now); C = either is low (wait and see);
    B = the rest, customers with potential worth developing. None until both are judged.
    """
    if need_intensity is None or purchasing_power is None:
        return None
    levels = {need_intensity, purchasing_power}
    if levels == {RatingLevel.high}:
        return CustomerGrade.A
    if RatingLevel.low in levels:
        return CustomerGrade.C
    return CustomerGrade.B


# --- Lifecycle ---------------------------------------------------------------------------


class LifecycleDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: LifecycleStage
    reasons: tuple[str, ...]


def revenue_declined(history: PurchaseHistory, policy: CustomerPolicy) -> bool:
    """Strictly below the ratio of the previous 12 months; no previous revenue, no decline."""
    previous = history.revenue_prev_12m
    return previous > 0 and history.revenue_12m < previous * policy.decline_revenue_ratio


def _churned_reason(
    history: PurchaseHistory,
    now: datetime,
    policy: CustomerPolicy,
    has_active_contract: bool,
    marked_lost: bool,
) -> str | None:
    if marked_lost:
        return "marked lost"
    idle_days = days_since(history.last_purchase_at, now)
    if has_active_contract or idle_days is None or idle_days < policy.churned_after_days:
        return None
    return f"no active contract and no purchase for {idle_days} days"


def _mature_reason(history: PurchaseHistory, now: datetime, policy: CustomerPolicy) -> str | None:
    if history.won_count_total >= policy.mature_min_won_deals:
        return f"{history.won_count_total} won deals"
    age_days = days_since(history.first_won_at, now)
    if age_days is not None and age_days >= policy.mature_after_days:
        return f"first deal won {age_days} days ago"
    return None


def _stage_and_reason(
    history: PurchaseHistory,
    now: datetime,
    policy: CustomerPolicy,
    has_active_contract: bool,
    marked_lost: bool,
    open_churn_warning: bool,
) -> tuple[LifecycleStage, str]:
    churned = _churned_reason(history, now, policy, has_active_contract, marked_lost)
    if churned:
        return LifecycleStage.churned, churned
    if history.won_count_total == 0:
        return LifecycleStage.prospect, "nothing won yet"
    if revenue_declined(history, policy):
        ratio = (
            f"{history.revenue_12m} < {policy.decline_revenue_ratio} x {history.revenue_prev_12m}"
        )
        return LifecycleStage.decline, f"12-month revenue fell ({ratio})"
    if open_churn_warning:
        return LifecycleStage.decline, "open churn warning"
    mature = _mature_reason(history, now, policy)
    if mature:
        return LifecycleStage.mature, mature
    return LifecycleStage.growth, "first deal won less than 12 months ago"


def compute_lifecycle(
    history: PurchaseHistory,
    now: datetime,
    policy: CustomerPolicy,
    *,
    has_active_contract: bool = False,
    marked_lost: bool = False,
    open_churn_warning: bool = False,
) -> LifecycleDecision:
    """Place a customer in its lifecycle stage (precedence in the module docstring).

    `open_churn_warning` is usually "`health_warnings` contains `churn_risk`".
    """
    stage, reason = _stage_and_reason(
        history, now, policy, has_active_contract, marked_lost, open_churn_warning
    )
    return LifecycleDecision(stage=stage, reasons=(reason,))


# --- Health warnings and reminders -------------------------------------------------------


class HealthWarningCode(StrEnum):
    """Stable machine codes: clients filter on them, so never rename one."""

    no_contact_60d = "no_contact_60d"
    payment_overdue_15d = "payment_overdue_15d"
    no_purchase_180d = "no_purchase_180d"
    never_contacted = "never_contacted"
    never_purchased = "never_purchased"
    churn_risk = "churn_risk"


class HealthWarning(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: HealthWarningCode
    message: str


class CustomerHealthFacts(BaseModel):
    """What the warnings look at, aggregated by the caller.

    - `oldest_unpaid_due_at`: the earliest due instant among unpaid payment milestones.
    - `*_last_quarter` / `*_prev_quarter`: the last `churn_risk_window_days` days and the
      window before; purchase volume is won revenue.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    last_contact_at: datetime | None = None
    last_purchase_at: datetime | None = None
    oldest_unpaid_due_at: datetime | None = None
    revenue_last_quarter: Decimal = ZERO
    revenue_prev_quarter: Decimal = ZERO
    complaints_last_quarter: int = Field(0, ge=0)
    complaints_prev_quarter: int = Field(0, ge=0)


def _contact_warning(
    facts: CustomerHealthFacts, now: datetime, p: CustomerPolicy
) -> HealthWarning | None:
    idle_days = days_since(facts.last_contact_at, now)
    if idle_days is None:
        return HealthWarning(code=HealthWarningCode.never_contacted, message="Never contacted")
    if idle_days >= p.no_contact_warning_days:
        message = f"No contact for {idle_days} days"
        return HealthWarning(code=HealthWarningCode.no_contact_60d, message=message)
    return None


def _payment_warning(
    facts: CustomerHealthFacts, now: datetime, p: CustomerPolicy
) -> HealthWarning | None:
    overdue_days = days_since(facts.oldest_unpaid_due_at, now)
    if overdue_days is None or overdue_days <= p.payment_overdue_warning_days:
        return None
    message = f"A payment milestone is {overdue_days} days overdue"
    return HealthWarning(code=HealthWarningCode.payment_overdue_15d, message=message)


def _purchase_warning(
    facts: CustomerHealthFacts, now: datetime, p: CustomerPolicy
) -> HealthWarning | None:
    idle_days = days_since(facts.last_purchase_at, now)
    if idle_days is None:
        return HealthWarning(code=HealthWarningCode.never_purchased, message="Never purchased")
    if idle_days >= p.no_purchase_warning_days:
        message = f"No purchase for {idle_days} days: reactivate"
        return HealthWarning(code=HealthWarningCode.no_purchase_180d, message=message)
    return None


def churn_risk(facts: CustomerHealthFacts) -> bool:
    """Both signals at once, strictly: buying less *and* complaining more than last quarter."""
    buying_less = facts.revenue_last_quarter < facts.revenue_prev_quarter
    complaining_more = facts.complaints_last_quarter > facts.complaints_prev_quarter
    return buying_less and complaining_more


def _churn_warning(facts: CustomerHealthFacts) -> HealthWarning | None:
    if not churn_risk(facts):
        return None
    message = (
        f"Churn risk: purchases down ({facts.revenue_last_quarter} vs "
        f"{facts.revenue_prev_quarter}) and complaints up ({facts.complaints_last_quarter} vs "
        f"{facts.complaints_prev_quarter}) in the last quarter"
    )
    return HealthWarning(code=HealthWarningCode.churn_risk, message=message)


def health_warnings(
    facts: CustomerHealthFacts, now: datetime, policy: CustomerPolicy
) -> list[HealthWarning]:
    """Every warning that holds, in a fixed order (contact, payment, purchase, churn).

    "Never contacted" replaces "no contact for 60 days" (there is no day count), and
    likewise "never purchased" replaces "no purchase for 180 days".
    """
    candidates = (
        _contact_warning(facts, now, policy),
        _payment_warning(facts, now, policy),
        _purchase_warning(facts, now, policy),
        _churn_warning(facts),
    )
    return [warning for warning in candidates if warning is not None]


class ReminderCode(StrEnum):
    days_since_follow_up = "days_since_follow_up"
    never_followed_up = "never_followed_up"
    days_since_purchase = "days_since_purchase"
    never_purchased = "never_purchased"


class Reminder(BaseModel):
    """One line of a rep's morning list; `days` is None for the "never" reminders."""

    model_config = ConfigDict(frozen=True)

    code: ReminderCode
    days: int | None
    message: str


def _days_text(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def _since_reminder(
    days: int | None, counted: ReminderCode, never: ReminderCode, event: str, never_text: str
) -> Reminder:
    if days is None:
        return Reminder(code=never, days=None, message=never_text)
    return Reminder(code=counted, days=days, message=f"{_days_text(days)} since last {event}")


def reminders(facts: CustomerHealthFacts, now: datetime) -> list[Reminder]:
    """The follow-up and purchase reminders for one customer: always both, no threshold.

    They describe the state ("12 days since last follow-up", "never purchased"); the
    caller sorts or filters by `days`, while thresholds belong to `health_warnings`.
    """
    return [
        _since_reminder(
            days_since(facts.last_contact_at, now),
            ReminderCode.days_since_follow_up,
            ReminderCode.never_followed_up,
            "follow-up",
            "never followed up",
        ),
        _since_reminder(
            days_since(facts.last_purchase_at, now),
            ReminderCode.days_since_purchase,
            ReminderCode.never_purchased,
            "purchase",
            "never purchased",
        ),
    ]


# --- Renewals ----------------------------------------------------------------------------


def renewal_opens_at(contract_end_at: datetime, policy: CustomerPolicy) -> datetime:
    """The instant renewal work starts: `renewal_lead_days` before the contract ends."""
    return contract_end_at - timedelta(days=policy.renewal_lead_days)


def renewal_due(
    tier: CustomerTier, contract_end_at: datetime, now: datetime, policy: CustomerPolicy
) -> bool:
    """Whether a renewal task should be open now: an eligible tier and
    `end - renewal_lead_days <= now < end` (inclusive start; an ended contract is too late).
    """
    in_window = renewal_opens_at(contract_end_at, policy) <= now < contract_end_at
    return tier in policy.renewal_tiers and in_window

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from app.core.enums import CustomerGrade, CustomerTier, LifecycleStage, RatingLevel
from app.rules.customers import (
    DEFAULT_CUSTOMER_POLICY as POLICY,
)
from app.rules.customers import (
    CustomerHealthFacts,
    CustomerPolicy,
    HealthWarningCode,
    PurchaseHistory,
    ReminderCode,
    Rfm,
    compute_grade,
    compute_lifecycle,
    compute_tier,
    days_since,
    health_warnings,
    monetary_note,
    reminders,
    renewal_due,
    renewal_opens_at,
    rfm_scores,
)

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def rfm(days: int | None, won: int = 0, revenue: str = "0") -> Rfm:
    last = None if days is None else ago(days)
    return rfm_scores(last, won, Decimal(revenue), NOW, POLICY)


# --- day counting ------------------------------------------------------------------------


def test_days_since_counts_whole_days():
    assert days_since(ago(30), NOW) == 30
    assert days_since(ago(30.99), NOW) == 30
    assert days_since(NOW + timedelta(days=2), NOW) == 0
    assert days_since(None, NOW) is None


# --- RFM thresholds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "score"),
    [(0, 5), (30, 5), (31, 4), (90, 4), (91, 3), (180, 3), (181, 2), (270, 2), (271, 1),
     (5000, 1), (None, 1)],
)  # fmt: skip
def test_recency_score_cut_offs_are_inclusive(days, score):
    assert rfm(days).r == score


def test_recency_counts_whole_days_so_30_days_23_hours_is_still_30():
    assert rfm_scores(ago(30.99), 0, Decimal(0), NOW, POLICY).r == 5
    assert rfm_scores(ago(31), 0, Decimal(0), NOW, POLICY).r == 4


@pytest.mark.parametrize(
    ("won", "score"),
    [(0, 1), (1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (7, 4), (8, 5), (40, 5)],
)
def test_frequency_score_cut_offs_are_inclusive(won, score):
    assert rfm(10, won=won).f == score


@pytest.mark.parametrize(
    ("revenue", "score"),
    [("0", 1), ("49999.99", 1), ("50000", 2), ("199999.99", 2), ("200000", 3),
     ("499999.99", 3), ("500000", 4), ("999999.99", 4), ("1000000", 5)],
)  # fmt: skip
def test_monetary_score_cut_offs_are_inclusive(revenue, score):
    assert rfm(10, revenue=revenue).m == score


def test_rfm_total_and_reason_text():
    result = rfm(10, won=5, revenue="1000000")
    assert (result.r, result.f, result.m, result.total) == (5, 4, 5, 14)
    assert result.reason_text == "R=5 F=4 M=5"
    assert result.model_dump()["total"] == 14


def test_custom_threshold_tables_are_used():
    policy = CustomerPolicy(recency_thresholds_days=(7, 14, 21, 28))
    assert rfm_scores(ago(8), 0, Decimal(0), NOW, policy).r == 4


@pytest.mark.parametrize(
    "settings",
    [
        {"recency_thresholds_days": (30, 30, 180, 270)},
        {"frequency_thresholds": (8, 5, 3, 2)},
        {"monetary_thresholds": ("1", "3", "2", "4")},
        {"growth_min_rfm": 13},
        {"unknown_setting": 1},
    ],
)
def test_policy_rejects_unordered_tables_and_unknown_settings(settings):
    with pytest.raises(ValidationError):
        CustomerPolicy(**settings)


def test_policy_round_trips_through_json_with_decimal_money():
    dumped = POLICY.model_dump(mode="json")
    assert dumped["recency_thresholds_days"] == [30, 90, 180, 270]
    assert dumped["monetary_thresholds"] == ["50000", "200000", "500000", "1000000"]
    assert dumped["decline_revenue_ratio"] == "0.5"
    assert CustomerPolicy.model_validate(dumped) == POLICY


def test_policy_is_frozen():
    with pytest.raises(ValidationError):
        POLICY.dormant_after_days = 10  # type: ignore[misc]


# --- tier --------------------------------------------------------------------------------


def history(
    days: int | None = None,
    won_12m: int = 0,
    revenue_12m: str = "0",
    revenue_prev_12m: str = "0",
    **more,
) -> PurchaseHistory:
    return PurchaseHistory(
        last_purchase_at=None if days is None else ago(days),
        won_count_12m=won_12m,
        won_count_total=more.pop("won_total", won_12m),
        revenue_12m=Decimal(revenue_12m),
        revenue_prev_12m=Decimal(revenue_prev_12m),
        **more,
    )


def tier_of(h: PurchaseHistory, policy: CustomerPolicy = POLICY) -> CustomerTier:
    return compute_tier(h, NOW, policy).tier


def test_rfm_13_is_strategic_and_12_is_growth():
    at_13 = compute_tier(history(10, won_12m=5, revenue_12m="500000"), NOW, POLICY)  # 5+4+4
    at_12 = compute_tier(history(60, won_12m=5, revenue_12m="500000"), NOW, POLICY)  # 4+4+4
    assert (at_13.rfm.total, at_13.tier) == (13, CustomerTier.strategic)
    assert (at_12.rfm.total, at_12.tier) == (12, CustomerTier.growth)


def test_rfm_9_is_growth_and_8_is_potential():
    at_9 = compute_tier(history(120, won_12m=3, revenue_12m="200000"), NOW, POLICY)  # 3+3+3
    at_8 = compute_tier(history(120, won_12m=3, revenue_12m="199999"), NOW, POLICY)  # 3+3+2
    assert (at_9.rfm.total, at_9.tier) == (9, CustomerTier.growth)
    assert (at_8.rfm.total, at_8.tier) == (8, CustomerTier.potential)


def test_rising_revenue_makes_a_low_rfm_customer_growth():
    assert tier_of(history(120, 3, "100", revenue_prev_12m="99")) is CustomerTier.growth
    assert tier_of(history(120, 3, "100", revenue_prev_12m="100")) is CustomerTier.potential


def test_first_small_purchase_is_not_rising_revenue():
    assert tier_of(history(120, 1, "100", revenue_prev_12m="0")) is CustomerTier.potential


def test_never_bought_is_potential():
    decision = compute_tier(history(), NOW, POLICY)
    assert decision.tier is CustomerTier.potential
    assert decision.rfm.total == 3


def test_dormant_at_180_days_even_with_strategic_rfm():
    # 179 days: R3 + F5 + M5 = 13 -> strategic; at 180 days nothing in the last 180 -> dormant
    assert tier_of(history(179, 8, "1000000")) is CustomerTier.strategic
    decision = compute_tier(history(180, 8, "1000000"), NOW, POLICY)
    assert decision.tier is CustomerTier.dormant
    assert "no purchase for 180 days" in decision.reasons[0]


def test_manual_override_wins_but_computed_tier_stays_visible():
    decision = compute_tier(
        history(120, 1, "100"),
        NOW,
        POLICY,
        manual_tier=CustomerTier.strategic,
        manual_reason="group HQ account",
    )
    assert decision.tier is CustomerTier.strategic
    assert decision.computed_tier is CustomerTier.potential
    assert decision.overridden
    assert "group HQ account" in decision.reasons[-1]


def test_tier_reason_names_the_rfm_scores():
    decision = compute_tier(history(10, won_12m=5, revenue_12m="500000"), NOW, POLICY)
    assert not decision.overridden
    assert "R=5 F=4 M=4" in decision.reasons[0]


# --- grade -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "power", "grade"),
    [
        (RatingLevel.high, RatingLevel.high, CustomerGrade.A),
        (RatingLevel.high, RatingLevel.medium, CustomerGrade.B),
        (RatingLevel.medium, RatingLevel.high, CustomerGrade.B),
        (RatingLevel.medium, RatingLevel.medium, CustomerGrade.B),
        (RatingLevel.high, RatingLevel.low, CustomerGrade.C),
        (RatingLevel.low, RatingLevel.high, CustomerGrade.C),
        (RatingLevel.low, RatingLevel.low, CustomerGrade.C),
    ],
)
def test_grade_by_need_intensity_and_purchasing_power(need, power, grade):
    assert compute_grade(need, power) is grade


@pytest.mark.parametrize(
    ("need", "power"), [(None, RatingLevel.high), (RatingLevel.low, None), (None, None)]
)
def test_no_grade_until_both_are_judged(need, power):
    assert compute_grade(need, power) is None


# --- revenue in other currencies ---------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "currency", "note"),
    [
        (0, None, ""),
        (1, "USD", " (CNY; 1 USD deal not counted)"),
        (2, "USD", " (CNY; 2 USD deals not counted)"),
        (1, None, " (CNY; 1 deal in other currencies not counted)"),
        (3, None, " (CNY; 3 deals in other currencies not counted)"),
    ],
)
def test_the_reason_says_what_m_left_out(count, currency, note):
    history = PurchaseHistory(other_currency_deals_12m=count, other_currency=currency)
    assert monetary_note(history, POLICY) == note
    decision = compute_tier(history, NOW, POLICY)
    assert decision.reasons[0].endswith(f"(R=1 F=1 M=1{note})")


def test_base_currency_is_a_currency_code():
    assert CustomerPolicy().base_currency == "CNY"
    assert CustomerPolicy(base_currency="EUR").base_currency == "EUR"
    for bad in ("cny", "EURO", ""):
        with pytest.raises(ValidationError):
            CustomerPolicy(base_currency=bad)


# --- lifecycle ---------------------------------------------------------------------------


def stage_of(h: PurchaseHistory, **flags) -> LifecycleStage:
    return compute_lifecycle(h, NOW, POLICY, **flags).stage


def test_nothing_won_is_prospect():
    assert stage_of(history()) is LifecycleStage.prospect


def test_first_win_364_days_ago_is_growth_365_is_mature():
    young = history(10, won_12m=1, first_won_at=ago(364))
    old = history(10, won_12m=1, first_won_at=ago(365))
    assert stage_of(young) is LifecycleStage.growth
    assert stage_of(old) is LifecycleStage.mature


def test_second_won_deal_makes_mature():
    assert stage_of(history(10, won_12m=2, first_won_at=ago(30))) is LifecycleStage.mature


def test_revenue_below_half_of_previous_year_is_decline():
    base = {"days": 10, "won_12m": 2, "revenue_prev_12m": "100000", "first_won_at": ago(700)}
    assert stage_of(history(revenue_12m="49999.99", **base)) is LifecycleStage.decline
    assert stage_of(history(revenue_12m="50000", **base)) is LifecycleStage.mature


def test_open_churn_warning_is_decline():
    h = history(10, won_12m=2, first_won_at=ago(30))
    assert stage_of(h, open_churn_warning=True) is LifecycleStage.decline


def test_no_purchase_for_365_days_without_active_contract_is_churned():
    base = {"won_total": 3, "first_won_at": ago(900)}
    assert stage_of(history(364, **base)) is LifecycleStage.mature
    decision = compute_lifecycle(history(365, **base), NOW, POLICY)
    assert decision.stage is LifecycleStage.churned
    assert "365 days" in decision.reasons[0]


def test_active_contract_keeps_a_quiet_customer_from_churning():
    h = history(400, won_total=3, first_won_at=ago(900))
    assert stage_of(h, has_active_contract=True) is LifecycleStage.mature


def test_marked_lost_is_churned():
    assert stage_of(history(10, won_12m=2), marked_lost=True) is LifecycleStage.churned


# --- health warnings ---------------------------------------------------------------------


def codes(**facts) -> set[HealthWarningCode]:
    return {w.code for w in health_warnings(CustomerHealthFacts(**facts), NOW, POLICY)}


RECENT = {"last_contact_at": ago(1), "last_purchase_at": ago(1)}


def test_healthy_customer_has_no_warnings():
    assert codes(**RECENT) == set()


def test_no_contact_warning_at_60_days_not_59():
    assert HealthWarningCode.no_contact_60d not in codes(**(RECENT | {"last_contact_at": ago(59)}))
    assert HealthWarningCode.no_contact_60d in codes(**(RECENT | {"last_contact_at": ago(60)}))


def test_payment_warning_when_overdue_more_than_15_days():
    assert codes(**RECENT, oldest_unpaid_due_at=ago(15)) == set()
    assert codes(**RECENT, oldest_unpaid_due_at=ago(16)) == {HealthWarningCode.payment_overdue_15d}


def test_no_purchase_warning_at_180_days_not_179():
    assert codes(**(RECENT | {"last_purchase_at": ago(179)})) == set()
    assert codes(**(RECENT | {"last_purchase_at": ago(180)})) == {
        HealthWarningCode.no_purchase_180d
    }


def test_never_contacted_and_never_purchased_replace_the_day_counts():
    assert codes() == {HealthWarningCode.never_contacted, HealthWarningCode.never_purchased}


def test_churn_risk_needs_purchases_down_and_complaints_up():
    down = {"revenue_last_quarter": Decimal(80), "revenue_prev_quarter": Decimal(100)}
    flat = {"revenue_last_quarter": Decimal(100), "revenue_prev_quarter": Decimal(100)}
    up = {"complaints_last_quarter": 3, "complaints_prev_quarter": 2}
    same = {"complaints_last_quarter": 2, "complaints_prev_quarter": 2}
    assert codes(**RECENT, **down, **up) == {HealthWarningCode.churn_risk}
    assert codes(**RECENT, **down, **same) == set()
    assert codes(**RECENT, **flat, **up) == set()


def test_warnings_come_in_a_fixed_order_with_messages():
    warnings = health_warnings(
        CustomerHealthFacts(last_contact_at=ago(61), oldest_unpaid_due_at=ago(20)), NOW, POLICY
    )
    assert [w.code for w in warnings] == [
        HealthWarningCode.no_contact_60d,
        HealthWarningCode.payment_overdue_15d,
        HealthWarningCode.never_purchased,
    ]
    assert warnings[0].message == "No contact for 61 days"
    assert warnings[1].message == "A payment milestone is 20 days overdue"


def test_warning_codes_are_stable_strings():
    assert {code.value for code in HealthWarningCode} == {
        "no_contact_60d",
        "payment_overdue_15d",
        "no_purchase_180d",
        "never_contacted",
        "never_purchased",
        "churn_risk",
    }


def test_warning_thresholds_follow_the_policy():
    policy = CustomerPolicy(no_contact_warning_days=30)
    facts = CustomerHealthFacts(last_contact_at=ago(30), last_purchase_at=ago(1))
    assert [w.code for w in health_warnings(facts, NOW, policy)] == [
        HealthWarningCode.no_contact_60d
    ]


# --- reminders ---------------------------------------------------------------------------


def test_reminders_count_days_since_follow_up_and_purchase():
    result = reminders(CustomerHealthFacts(last_contact_at=ago(12), last_purchase_at=ago(1)), NOW)
    assert [(r.code, r.days, r.message) for r in result] == [
        (ReminderCode.days_since_follow_up, 12, "12 days since last follow-up"),
        (ReminderCode.days_since_purchase, 1, "1 day since last purchase"),
    ]


def test_reminders_for_a_customer_never_followed_up_or_purchased():
    result = reminders(CustomerHealthFacts(), NOW)
    assert [(r.code, r.days, r.message) for r in result] == [
        (ReminderCode.never_followed_up, None, "never followed up"),
        (ReminderCode.never_purchased, None, "never purchased"),
    ]


# --- renewals ----------------------------------------------------------------------------

END = datetime(2025, 12, 31, tzinfo=UTC)


def test_renewal_opens_90_days_before_the_end():
    assert renewal_opens_at(END, POLICY) == END - timedelta(days=90)


@pytest.mark.parametrize(
    ("days_left", "due"),
    [(91, False), (90.0001, False), (90, True), (89, True), (0.5, True), (0, False), (-1, False)],
)
def test_strategic_renewal_window(days_left, due):
    now = END - timedelta(days=days_left)
    assert renewal_due(CustomerTier.strategic, END, now, POLICY) is due


@pytest.mark.parametrize(
    "tier", [CustomerTier.growth, CustomerTier.potential, CustomerTier.dormant]
)
def test_only_strategic_customers_get_renewal_tasks(tier):
    assert not renewal_due(tier, END, END - timedelta(days=30), POLICY)

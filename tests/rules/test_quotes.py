from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from app.core.enums import ContractStatus, CustomerTier, DealStage, QuoteStatus, Role
from app.rules.common import GateResult
from app.rules.quotes import (
    QuoteAction,
    QuoteLine,
    QuotePolicy,
    allowed_quote_actions,
    approval_queue_key,
    can_approve,
    check_approval_binding,
    check_quote_action,
    check_renewal_eligibility,
    compute_totals,
    decide_submission,
    default_valid_until,
    fingerprint,
    quote_status_after,
    renewal_policy_discount_pct,
    required_approver_role,
    validate_quote_inputs,
)

POLICY = QuotePolicy()
D = Decimal
ZERO = D(0)
AUTHOR, OTHER = uuid4(), uuid4()
VALID_UNTIL = date(2025, 3, 31)
LAST_VALID_SECOND = datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC)
FIRST_INVALID_SECOND = datetime(2025, 4, 1, 0, 0, 0, tzinfo=UTC)
NOW_VALID = datetime(2025, 3, 15, tzinfo=UTC)


def line(qty: str, price: str, discount: str = "0", sku: str = "SKU-1") -> QuoteLine:
    return QuoteLine(D(qty), D(price), D(discount), sku=sku, description="Conveyor")


# --- totals ------------------------------------------------------------------------------


def test_totals_without_discounts_equal_list_price() -> None:
    totals = compute_totals([line("3", "100"), line("2", "50.50")], ZERO, ZERO)
    assert totals.list_total == D("401.00")
    assert totals.subtotal == D("401.00")
    assert totals.total == D("401.00")
    assert totals.effective_discount_pct == D("0.00")


def test_line_and_header_discounts_compose_multiplicatively() -> None:
    totals = compute_totals([line("1", "1000", discount="10")], D(10), ZERO)
    assert totals.lines[0].net_amount == D("900.00")
    assert totals.header_discount_amount == D("90.00")
    assert totals.negotiated_total == D("810.00")
    assert totals.effective_discount_pct == D("19.00")  # not 20: 1 - 0.9 * 0.9


def test_policy_discount_is_applied_last_and_excluded_from_effective_discount() -> None:
    totals = compute_totals([line("1", "1000")], D(5), D(10))
    assert totals.negotiated_total == D("950.00")
    assert totals.policy_discount_amount == D("95.00")
    assert totals.total == D("855.00")
    assert totals.effective_discount_pct == D("5.00")


def test_amounts_are_rounded_half_up_to_cents() -> None:
    totals = compute_totals([line("1", "0.10", discount="5")], ZERO, ZERO)
    assert totals.lines[0].net_amount == D("0.10")  # 0.095 → 0.10
    assert totals.lines[0].list_amount == D("0.10")


def test_cent_rounding_does_not_push_a_five_percent_quote_over_the_rep_limit() -> None:
    # 5 % of 99.99 is 4.9995, rounded to 5.00: on cents that would read as 5.0005 %.
    totals = compute_totals([line("1", "33.33")] * 3, D(5), ZERO)
    assert totals.header_discount_amount == D("5.00")
    assert totals.effective_discount_pct == D("5.00")


def test_a_sliver_above_a_limit_rounds_up_to_the_next_hundredth() -> None:
    totals = compute_totals([line("1", "1000", discount="5.001")], ZERO, ZERO)
    assert totals.effective_discount_pct == D("5.01")


def test_effective_discount_weights_lines_by_list_amount() -> None:
    totals = compute_totals([line("1", "900"), line("1", "100", discount="50")], ZERO, ZERO)
    assert totals.effective_discount_pct == D("5.00")


def test_zero_list_total_has_zero_effective_discount() -> None:
    assert compute_totals([line("1", "0")], D(10), ZERO).effective_discount_pct == D("0.00")


def test_invalid_inputs_are_listed_with_their_fields() -> None:
    result = validate_quote_inputs([QuoteLine(D(0), D(-1), D(101))], D(-1), D("100.01"))
    assert [(c.code, c.field) for c in result.unmet] == [
        ("quote.quantity_not_positive", "lines[0].quantity"),
        ("quote.price_negative", "lines[0].unit_list_price"),
        ("quote.discount_out_of_range", "lines[0].line_discount_pct"),
        ("quote.discount_out_of_range", "header_discount_pct"),
        ("quote.discount_out_of_range", "policy_discount_pct"),
    ]


def test_a_quote_needs_lines() -> None:
    assert validate_quote_inputs([], ZERO, ZERO).codes == ("quote.no_lines",)
    with pytest.raises(ValueError):
        compute_totals([], ZERO, ZERO)


def test_discounts_of_zero_and_hundred_percent_are_valid() -> None:
    assert validate_quote_inputs([line("1", "10", discount="100")], ZERO, D(100)).ok


# --- discount authority ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("discount", "role"),
    [
        ("0.00", Role.rep),
        ("5.00", Role.rep),
        ("5.01", Role.manager),
        ("10.00", Role.manager),
        ("10.01", Role.director),
        ("15.00", Role.director),
        ("15.01", None),
    ],
)
def test_required_approver_role_at_each_boundary(discount: str, role: Role | None) -> None:
    assert required_approver_role(D(discount), POLICY) == role


@pytest.mark.parametrize(
    ("author", "discount", "auto", "approver"),
    [
        (Role.rep, "5.00", True, None),
        (Role.rep, "5.01", False, Role.manager),
        (Role.rep, "10.00", False, Role.manager),
        (Role.rep, "10.01", False, Role.director),
        (Role.manager, "10.00", True, None),
        (Role.manager, "10.01", False, Role.director),
        (Role.director, "15.00", True, None),
    ],
)
def test_submission_is_auto_approved_only_within_author_authority(
    author: Role, discount: str, auto: bool, approver: Role | None
) -> None:
    decision = decide_submission(author, D(discount), POLICY)
    assert (decision.auto_approve, decision.approver_role, decision.refused) == (
        auto,
        approver,
        False,
    )


@pytest.mark.parametrize("author", [Role.rep, Role.manager, Role.director, Role.admin])
def test_submission_above_fifteen_percent_is_refused_for_everyone(author: Role) -> None:
    decision = decide_submission(author, D("15.01"), POLICY)
    assert decision.refused and not decision.auto_approve and decision.approver_role is None
    assert [c.code for c in decision.unmet] == ["discount.above_ceiling"]


def test_admin_holds_no_discount_authority() -> None:
    decision = decide_submission(Role.admin, D("0.01"), POLICY)
    assert not decision.auto_approve and decision.approver_role is Role.rep


def test_approval_within_approver_limit_passes() -> None:
    assert can_approve(Role.manager, OTHER, AUTHOR, D("10.00"), POLICY).ok


def test_approval_above_approver_limit_is_refused() -> None:
    result = can_approve(Role.manager, OTHER, AUTHOR, D("10.01"), POLICY)
    assert result.codes == ("approval.insufficient_authority",)


def test_self_approval_is_refused_even_within_authority() -> None:
    result = can_approve(Role.director, AUTHOR, AUTHOR, D("1.00"), POLICY)
    assert result.codes == ("approval.self_approval",)


def test_director_cannot_approve_above_fifteen_percent() -> None:
    assert can_approve(Role.director, OTHER, AUTHOR, D("15.00"), POLICY).ok
    result = can_approve(Role.director, OTHER, AUTHOR, D("15.01"), POLICY)
    assert result.codes == ("discount.above_ceiling",)


def test_discounts_read_with_two_decimals_in_messages() -> None:
    (ceiling,) = can_approve(Role.director, OTHER, AUTHOR, D("15.5"), POLICY).unmet
    assert ceiling.message.startswith("A 15.50 % discount is above 15.00 %")
    (limit,) = can_approve(Role.manager, OTHER, AUTHOR, D(11), POLICY).unmet
    assert limit.message == "A manager may not approve a 11.00 % discount."


@pytest.mark.parametrize("role", [Role.admin, Role.support_agent])
def test_roles_outside_the_sales_hierarchy_cannot_approve(role: Role) -> None:
    result = can_approve(role, OTHER, AUTHOR, D("1.00"), POLICY)
    assert result.codes == ("approval.insufficient_authority",)


def test_strategic_customers_go_first_in_the_approval_queue() -> None:
    early = datetime(2025, 1, 1, tzinfo=UTC)
    late = early + timedelta(hours=5)
    queue = sorted(
        [
            ("growth-early", CustomerTier.growth, early),
            ("strategic-late", CustomerTier.strategic, late),
        ],
        key=lambda item: approval_queue_key(item[1], item[2]),
    )
    assert [name for name, _, _ in queue] == ["strategic-late", "growth-early"]


# --- renewal policy discounts ------------------------------------------------------------


@pytest.mark.parametrize(("years", "pct"), [(1, "0"), (2, "10"), (3, "15"), (4, "15"), (10, "15")])
def test_multi_year_renewal_discount(years: int, pct: str) -> None:
    assert renewal_policy_discount_pct(years, POLICY) == D(pct)


@pytest.mark.parametrize(
    "status",
    [
        ContractStatus.signed,
        ContractStatus.in_delivery,
        ContractStatus.delivered,
        ContractStatus.accepted,
        ContractStatus.closed,
    ],
)
def test_a_signed_contract_running_or_ended_makes_a_renewal(status: ContractStatus) -> None:
    assert check_renewal_eligibility(3, [ContractStatus.terminated, status]).ok


@pytest.mark.parametrize(
    "statuses",
    [
        [],
        [ContractStatus.terminated],
        [ContractStatus.draft, ContractStatus.in_review, ContractStatus.approved],
    ],
)
def test_nothing_signed_and_standing_means_no_renewal_discount(
    statuses: list[ContractStatus],
) -> None:
    result = check_renewal_eligibility(2, statuses)
    assert [(c.code, c.field) for c in result.unmet] == [
        ("quote.renewal_not_eligible", "renewal_years")
    ]
    # Even a one-year "renewal" with no discount is refused: it renews nothing.
    assert not check_renewal_eligibility(1, statuses).ok


def test_a_quote_without_renewal_years_needs_no_prior_contract() -> None:
    assert check_renewal_eligibility(None, []).ok


def test_renewal_of_zero_years_is_invalid() -> None:
    with pytest.raises(ValueError):
        renewal_policy_discount_pct(0, POLICY)


def test_policy_is_json_serialisable_and_round_trips() -> None:
    dumped = POLICY.model_dump(mode="json")
    assert dumped["discount_authority_pct"] == {
        "rep": "5.00",
        "manager": "10.00",
        "director": "15.00",
    }
    assert dumped["validity_days"] == 30
    assert QuotePolicy.model_validate(dumped) == POLICY


# --- fingerprint -------------------------------------------------------------------------


def fp(
    lines: list[QuoteLine],
    header: str = "5",
    policy_discount: Decimal = ZERO,
    currency: str = "CNY",
    valid_until: date = VALID_UNTIL,
    terms: str = "30% advance",
) -> str:
    return fingerprint(lines, D(header), policy_discount, currency, valid_until, terms)


def test_fingerprint_ignores_decimal_notation() -> None:
    assert fp([line("10", "100")], header="5") == fp([line("10.00", "100.000")], header="5.0")


@pytest.mark.parametrize(
    "changed",
    [
        {"lines": [line("10", "100.01")]},
        {"lines": [line("11", "100")]},
        {"lines": [line("10", "100", discount="0.01")]},
        {"lines": [line("10", "100", sku="SKU-2")]},
        {"header": "5.01"},
        {"policy_discount": D(10)},
        {"currency": "USD"},
        {"valid_until": date(2025, 4, 1)},
        {"terms": "50% advance"},
    ],
)
def test_fingerprint_changes_with_anything_approved(changed: dict[str, object]) -> None:
    base = [line("10", "100")]
    lines = changed.pop("lines", base)
    assert fp(lines, **changed) != fp(base)  # type: ignore[arg-type]


def test_approval_binding_holds_only_for_the_same_fingerprint() -> None:
    approved = fp([line("10", "100")])
    assert check_approval_binding(approved, approved).ok
    edited = fp([line("10", "90")])
    assert check_approval_binding(approved, edited).codes == ("quote.approval_void",)
    assert check_approval_binding(None, edited).codes == ("quote.approval_void",)


# --- lifecycle ---------------------------------------------------------------------------


def check(
    status: QuoteStatus, action: QuoteAction, now: datetime = LAST_VALID_SECOND
) -> GateResult:
    return check_quote_action(status, action, now=now, valid_until=VALID_UNTIL)


def test_default_validity_is_thirty_days_after_issue() -> None:
    assert default_valid_until(date(2025, 3, 1), POLICY) == date(2025, 3, 31)


def test_happy_path_draft_to_accepted() -> None:
    status = QuoteStatus.draft
    for action in (QuoteAction.submit, QuoteAction.approve, QuoteAction.send, QuoteAction.accept):
        assert check(status, action).ok
        status = quote_status_after(status, action)
    assert status is QuoteStatus.accepted


def test_submit_within_authority_lands_on_approved() -> None:
    after = quote_status_after(QuoteStatus.draft, QuoteAction.submit, auto_approved=True)
    assert after is QuoteStatus.approved


def test_accept_on_last_valid_day_passes_and_a_second_later_is_refused() -> None:
    assert check(QuoteStatus.sent, QuoteAction.accept, LAST_VALID_SECOND).ok
    late = check(QuoteStatus.sent, QuoteAction.accept, FIRST_INVALID_SECOND)
    assert late.codes == ("quote.validity_passed",)


def test_expired_quote_cannot_be_accepted() -> None:
    assert check(QuoteStatus.expired, QuoteAction.accept).codes == ("quote.expired",)


def test_expire_only_after_validity_date() -> None:
    assert check(QuoteStatus.sent, QuoteAction.expire, LAST_VALID_SECOND).codes == (
        "quote.not_yet_expired",
    )
    assert check(QuoteStatus.sent, QuoteAction.expire, FIRST_INVALID_SECOND).ok


def test_only_drafts_can_be_edited() -> None:
    assert check(QuoteStatus.draft, QuoteAction.edit).ok
    assert check(QuoteStatus.pending_approval, QuoteAction.edit).codes == (
        "quote.action_not_allowed",
    )


def test_rejection_by_approver_or_customer() -> None:
    assert check(QuoteStatus.pending_approval, QuoteAction.reject).ok
    assert check(QuoteStatus.sent, QuoteAction.reject).ok
    assert not check(QuoteStatus.approved, QuoteAction.reject).ok


def test_unapproved_quote_cannot_be_sent() -> None:
    assert check(QuoteStatus.pending_approval, QuoteAction.send).codes == (
        "quote.action_not_allowed",
    )


def test_wrong_state_and_passed_validity_are_reported_together() -> None:
    result = check(QuoteStatus.draft, QuoteAction.accept, FIRST_INVALID_SECOND)
    assert result.codes == ("quote.action_not_allowed", "quote.validity_passed")


@pytest.mark.parametrize("stage", [DealStage.won, DealStage.lost])
@pytest.mark.parametrize(
    ("status", "action"),
    [
        (QuoteStatus.draft, QuoteAction.submit),
        (QuoteStatus.pending_approval, QuoteAction.approve),
        (QuoteStatus.approved, QuoteAction.send),
        (QuoteStatus.sent, QuoteAction.accept),
    ],
)
def test_a_closed_deal_stops_its_quotes_moving_forward(
    stage: DealStage, status: QuoteStatus, action: QuoteAction
) -> None:
    result = check_quote_action(
        status, action, now=NOW_VALID, valid_until=VALID_UNTIL, deal_stage=stage
    )
    assert [(c.code, c.field) for c in result.unmet] == [("quote.deal_closed", "deal_id")]
    assert stage in result.unmet[0].message
    open_deal = check_quote_action(
        status, action, now=NOW_VALID, valid_until=VALID_UNTIL, deal_stage=DealStage.bidding
    )
    assert open_deal.ok


def test_a_closed_deal_still_lets_its_quotes_be_rejected_or_expired() -> None:
    sent = allowed_quote_actions(
        QuoteStatus.sent,
        now=FIRST_INVALID_SECOND,
        valid_until=VALID_UNTIL,
        deal_stage=DealStage.lost,
    )
    assert set(sent) == {QuoteAction.reject, QuoteAction.expire, QuoteAction.supersede}


def test_accepted_quote_is_final() -> None:
    assert allowed_quote_actions(QuoteStatus.accepted, now=NOW_VALID, valid_until=VALID_UNTIL) == ()


def test_live_versions_can_be_superseded_but_outcomes_cannot() -> None:
    assert check(QuoteStatus.approved, QuoteAction.supersede).ok
    assert not check(QuoteStatus.accepted, QuoteAction.supersede).ok


def test_allowed_actions_for_a_sent_quote() -> None:
    actions = allowed_quote_actions(QuoteStatus.sent, now=NOW_VALID, valid_until=VALID_UNTIL)
    assert actions == (QuoteAction.reject, QuoteAction.accept, QuoteAction.supersede)


def test_status_after_refuses_a_disallowed_action() -> None:
    with pytest.raises(ValueError):
        quote_status_after(QuoteStatus.accepted, QuoteAction.send)

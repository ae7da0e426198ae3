from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.core.enums import (
    ChangeRequestStatus,
    ContractStatus,
    DealStage,
    DeliveryStatus,
    MilestoneAnchor,
    MilestoneKind,
    TaskKind,
)
from app.rules.contracts import (
    BilledMilestone,
    ContractAction,
    ContractPolicy,
    MilestoneSpec,
    acceptance_deadline,
    apply_change_request,
    can_request_change,
    check_change_request_application,
    check_contract_action,
    check_contract_creation,
    check_delivery_progress,
    check_step_time,
    contract_delivered_at,
    contract_status_after,
    days_overdue,
    deal_stage_after,
    deemed_acceptance_at,
    deemed_accepted,
    is_overdue,
    milestone_amounts,
    milestone_due_date,
    overdue_warning,
    repriced_milestone_amounts,
    validate_milestones,
)
from app.rules.policy import PolicySet
from app.rules.tasks import (
    TaskTriggerPolicy,
    TriggerEvent,
    day_start,
    delivery_notice_date,
    tasks_for_event,
)

POLICY = ContractPolicy()
TASKS = TaskTriggerPolicy()
D = Decimal
C = ContractStatus
A = ContractAction
ARRIVED = datetime(2025, 5, 10, 14, 30, tzinfo=UTC)
DUE = date(2025, 6, 1)


# --- lifecycle ---------------------------------------------------------------------------


def test_happy_path_from_draft_to_closed() -> None:
    status = C.draft
    for action in (
        A.submit_for_review,
        A.approve,
        A.sign,
        A.start_delivery,
        A.mark_delivered,
        A.accept,
        A.close,
    ):
        assert check_contract_action(status, action).ok
        status = contract_status_after(status, action)
    assert status is C.closed


@pytest.mark.parametrize("status", [C.draft, C.in_review])
def test_signing_requires_approval(status: ContractStatus) -> None:
    assert check_contract_action(status, A.sign).codes == ("contract.sign_requires_approval",)


def test_reviewer_can_send_back_to_draft() -> None:
    assert contract_status_after(C.in_review, A.return_to_draft) is C.draft


def test_acceptance_before_delivery_is_refused() -> None:
    assert check_contract_action(C.in_delivery, A.accept).codes == ("contract.action_not_allowed",)


@pytest.mark.parametrize("status", [s for s in C if s not in (C.closed, C.terminated)])
def test_terminate_from_any_open_state_with_reason(status: ContractStatus) -> None:
    assert check_contract_action(status, A.terminate, reason="Customer insolvent").ok
    assert contract_status_after(status, A.terminate) is C.terminated


def test_terminate_without_reason_is_refused() -> None:
    assert check_contract_action(C.signed, A.terminate, reason=" ").codes == (
        "contract.termination_reason_required",
    )


@pytest.mark.parametrize("status", [C.closed, C.terminated])
def test_final_contracts_cannot_be_terminated(status: ContractStatus) -> None:
    result = check_contract_action(status, A.terminate, reason="x")
    assert result.codes == ("contract.action_not_allowed",)


def test_status_after_refuses_disallowed_action() -> None:
    with pytest.raises(ValueError):
        contract_status_after(C.draft, A.close)


@pytest.mark.parametrize("stage", [DealStage.won, DealStage.lost])
def test_a_closed_deal_takes_no_contract(stage: DealStage) -> None:
    result = check_contract_creation(stage)
    assert [(c.code, c.field) for c in result.unmet] == [("contract.deal_closed", "quote_id")]
    assert stage in result.unmet[0].message


def test_an_open_deal_takes_a_contract() -> None:
    assert check_contract_creation(DealStage.negotiation).ok


def test_signing_and_acceptance_move_the_deal() -> None:
    assert deal_stage_after(A.sign) is DealStage.implementation
    assert deal_stage_after(A.accept) is DealStage.won
    assert deal_stage_after(A.approve) is None


# --- milestones --------------------------------------------------------------------------


def plan(*percents: str) -> list[MilestoneSpec]:
    return [
        MilestoneSpec(MilestoneKind.custom, D(p), MilestoneAnchor.signing, 10) for p in percents
    ]


def test_milestones_summing_to_exactly_100_pass() -> None:
    assert validate_milestones(plan("30", "60", "10.00")).ok


def test_milestones_summing_to_99_99_fail() -> None:
    result = validate_milestones(plan("30", "60", "9.99"))
    assert result.codes == ("milestone.percent_sum_not_100",)


def test_the_percent_sum_reads_with_two_decimals() -> None:
    (check,) = validate_milestones(plan("30", "60")).unmet
    assert check.message == "Milestone percentages add up to 90.00 %, not 100.00 %."


def test_milestones_summing_to_100_01_fail() -> None:
    assert validate_milestones(plan("30", "60", "10.01")).codes == (
        "milestone.percent_sum_not_100",
    )


def test_plain_tuples_are_accepted_as_milestones() -> None:
    specs = [(MilestoneKind.advance, D(100), MilestoneAnchor.signing, 0)]
    assert validate_milestones(specs).ok  # type: ignore[arg-type]


def test_zero_percent_milestone_is_refused_with_its_position() -> None:
    result = validate_milestones(plan("100", "0"))
    assert [(c.code, c.field) for c in result.unmet] == [
        ("milestone.percent_not_positive", "milestones[1].percent")
    ]


def test_negative_days_after_is_refused() -> None:
    specs = [MilestoneSpec(MilestoneKind.advance, D(100), MilestoneAnchor.signing, -1)]
    assert validate_milestones(specs).codes == ("milestone.days_negative",)


def test_empty_plan_is_refused() -> None:
    assert validate_milestones([]).codes == ("milestone.none",)


def test_milestone_amounts_sum_to_the_contract_amount() -> None:
    amounts = milestone_amounts(D("1000.00"), [D("33.33"), D("33.33"), D("33.34")])
    assert amounts == (D("333.30"), D("333.30"), D("333.40"))
    thirds = milestone_amounts(D("100.00"), [D("33.333"), D("33.333"), D("33.334")])
    assert sum(thirds) == D("100.00")


def test_due_date_counts_days_from_its_anchor_event() -> None:
    signed = datetime(2025, 1, 10, 23, 0, tzinfo=UTC)
    assert milestone_due_date(MilestoneAnchor.signing, 30, signed, None, None) == date(2025, 2, 9)


def test_due_date_uses_the_utc_day_of_the_event() -> None:
    # 07:00 in Shanghai on Jan 11 is still Jan 10 in UTC.
    signed = datetime(2025, 1, 11, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert milestone_due_date(MilestoneAnchor.signing, 0, signed, None, None) == date(2025, 1, 10)


def test_due_date_is_unknown_until_the_anchor_event_happens() -> None:
    signed = datetime(2025, 1, 10, tzinfo=UTC)
    assert milestone_due_date(MilestoneAnchor.acceptance, 5, signed, signed, None) is None
    accepted = datetime(2025, 3, 1, tzinfo=UTC)
    assert milestone_due_date(MilestoneAnchor.acceptance, 5, signed, signed, accepted) == date(
        2025, 3, 6
    )


def test_milestone_is_not_overdue_on_its_due_day() -> None:
    assert not is_overdue(DUE, None, DUE)
    assert is_overdue(DUE, None, DUE + timedelta(days=1))


def test_paid_milestone_is_never_overdue() -> None:
    paid = datetime(2025, 7, 1, tzinfo=UTC)
    assert not is_overdue(DUE, paid, DUE + timedelta(days=60))
    assert days_overdue(DUE, paid, DUE + timedelta(days=60)) == 0


def test_milestone_without_due_date_is_not_overdue() -> None:
    assert not is_overdue(None, None, DUE)


def test_overdue_warning_after_more_than_fifteen_days() -> None:
    assert not overdue_warning(DUE, None, DUE + timedelta(days=15), POLICY)
    assert overdue_warning(DUE, None, DUE + timedelta(days=16), POLICY)


# --- delivery and acceptance -------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (DeliveryStatus.scheduled, DeliveryStatus.shipped),
        (DeliveryStatus.shipped, DeliveryStatus.arrived),
        (DeliveryStatus.arrived, DeliveryStatus.installed),
    ],
)
def test_delivery_advances_one_step(current: DeliveryStatus, target: DeliveryStatus) -> None:
    assert check_delivery_progress(current, target).ok


def test_delivery_cannot_skip_arrival() -> None:
    result = check_delivery_progress(DeliveryStatus.shipped, DeliveryStatus.installed)
    assert result.codes == ("delivery.skip_not_allowed",)


def test_delivery_cannot_go_backwards() -> None:
    result = check_delivery_progress(DeliveryStatus.arrived, DeliveryStatus.shipped)
    assert result.codes == ("delivery.backwards_not_allowed",)


def test_delivery_same_status_is_refused() -> None:
    result = check_delivery_progress(DeliveryStatus.arrived, DeliveryStatus.arrived)
    assert result.codes == ("delivery.same_status",)


def test_customer_is_notified_two_days_before_delivery() -> None:
    assert delivery_notice_date(date(2025, 5, 10), TASKS) == date(2025, 5, 8)
    same_day = TaskTriggerPolicy(delivery_notice_days=0)
    assert delivery_notice_date(date(2025, 5, 10), same_day) == date(2025, 5, 10)


def test_scheduling_a_delivery_makes_one_notice_task_due_on_the_notice_day() -> None:
    (spec,) = tasks_for_event(
        TriggerEvent.delivery_scheduled, "d-1", day_start(date(2025, 3, 1)), TASKS
    )
    # Across a month end, at the start of the notice day (UTC).
    assert spec.due_at == datetime(2025, 2, 27, tzinfo=UTC)
    assert spec.due_at.date() == delivery_notice_date(date(2025, 3, 1), TASKS)
    assert spec.dedupe_key == "delivery_notice:d-1"


def test_duty_delays_are_published_once_under_tasks() -> None:
    published = PolicySet().model_dump(mode="json")
    assert published["tasks"]["delivery_notice_days"] == 2
    assert published["tasks"]["survey_after_acceptance_hours"] == 24
    assert published["tasks"]["first_visit_after_acceptance_hours"] == 72
    assert not {"delivery_notice_days", "survey_after_hours", "first_visit_after_hours"} & set(
        published["contracts"]
    )


SIGNED = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def test_a_step_at_the_signing_instant_is_fine_one_second_before_is_not() -> None:
    assert check_step_time(SIGNED, signed_at=SIGNED, previous_at=None).ok
    early = check_step_time(SIGNED - timedelta(seconds=1), signed_at=SIGNED, previous_at=None)
    assert [(c.code, c.field) for c in early.unmet] == [("before_signing", "at")]


def test_a_step_is_not_before_the_step_it_follows() -> None:
    shipped = SIGNED + timedelta(days=1)
    assert check_step_time(shipped, signed_at=SIGNED, previous_at=shipped).ok
    result = check_step_time(shipped - timedelta(seconds=1), signed_at=SIGNED, previous_at=shipped)
    assert [(c.code, c.field) for c in result.unmet] == [("before_previous_step", "at")]


def test_a_contract_is_delivered_only_when_every_delivery_is_installed() -> None:
    first = SIGNED + timedelta(days=2)
    last = SIGNED + timedelta(days=5)
    assert contract_delivered_at([first, None]) is None
    assert contract_delivered_at([]) is None
    # The later installation, whichever was recorded last.
    assert contract_delivered_at([last, first]) == last


def test_acceptance_deadline_is_three_days_after_arrival() -> None:
    assert acceptance_deadline(ARRIVED, POLICY) == datetime(2025, 5, 13, 14, 30, tzinfo=UTC)


def test_not_deemed_accepted_at_the_deadline_itself() -> None:
    assert not deemed_accepted(ARRIVED, ARRIVED + timedelta(days=3), POLICY)


def test_deemed_accepted_one_second_after_the_deadline() -> None:
    assert deemed_accepted(ARRIVED, ARRIVED + timedelta(days=3, seconds=1), POLICY)


def test_deemed_acceptance_refuses_naive_now() -> None:
    with pytest.raises(ValueError):
        deemed_accepted(ARRIVED, datetime(2025, 5, 20), POLICY)


def test_deemed_acceptance_is_dated_when_the_window_closed() -> None:
    installed = ARRIVED + timedelta(hours=2)
    assert deemed_acceptance_at(ARRIVED, installed, POLICY) == ARRIVED + timedelta(days=3)


def test_deemed_acceptance_waits_for_an_installation_after_the_window() -> None:
    exactly = ARRIVED + timedelta(days=3)
    assert deemed_acceptance_at(ARRIVED, exactly, POLICY) == exactly
    later = exactly + timedelta(seconds=1)
    assert deemed_acceptance_at(ARRIVED, later, POLICY) == later


def test_acceptance_creates_survey_at_24h_and_visit_at_72h() -> None:
    accepted = datetime(2025, 5, 12, 10, 0, tzinfo=UTC)
    tasks = tasks_for_event(TriggerEvent.contract_accepted, "c-1", accepted, TASKS)
    assert [(t.kind, t.due_at) for t in tasks] == [
        (TaskKind.satisfaction_survey, accepted + timedelta(hours=24)),
        (TaskKind.first_visit, accepted + timedelta(hours=72)),
    ]


# --- change requests ---------------------------------------------------------------------


def test_change_request_adds_its_fee_to_the_amount() -> None:
    assert apply_change_request(D("100000.00"), D("2500.5")) == D("102500.50")


def test_descoping_fee_may_lower_but_not_negate_the_amount() -> None:
    assert apply_change_request(D("100.00"), D("-100.00")) == D("0.00")
    with pytest.raises(ValueError):
        apply_change_request(D("100.00"), D("-100.01"))


def test_only_an_approved_change_request_changes_the_amount() -> None:
    approved, pending = ChangeRequestStatus.approved, ChangeRequestStatus.pending
    assert check_change_request_application(C.in_delivery, approved, unpaid_milestones=1).ok
    result = check_change_request_application(C.in_delivery, pending, unpaid_milestones=1)
    assert result.codes == ("change_request.not_approved",)


def test_a_change_needs_an_unpaid_milestone_to_bill_it() -> None:
    result = check_change_request_application(
        C.in_delivery, ChangeRequestStatus.approved, unpaid_milestones=0
    )
    assert result.codes == ("change_request.no_unpaid_milestone",)


def test_paid_milestones_keep_their_amounts_and_the_rest_is_split_by_percent() -> None:
    plan = [
        BilledMilestone(D(30), D("3000.00"), paid=True),
        BilledMilestone(D(60), D("6000.00"), paid=False),
        BilledMilestone(D(10), D("1000.00"), paid=False),
    ]
    amounts = repriced_milestone_amounts(D("10500.00"), plan)
    # 7,500.00 left, split 60:10; the last unpaid one takes the rounding.
    assert amounts == (D("3000.00"), D("6428.57"), D("1071.43"))
    assert sum(amounts) == D("10500.00")


def test_repricing_without_payments_is_the_plain_split() -> None:
    plan = [BilledMilestone(D(p), D(0), paid=False) for p in ("33.33", "33.33", "33.34")]
    assert repriced_milestone_amounts(D("1000.00"), plan) == milestone_amounts(
        D("1000.00"), [D("33.33"), D("33.33"), D("33.34")]
    )


def test_repricing_refuses_when_nothing_is_unpaid() -> None:
    with pytest.raises(ValueError):
        repriced_milestone_amounts(D("10.00"), [BilledMilestone(D(100), D("5.00"), paid=True)])


@pytest.mark.parametrize("status", [C.draft, C.approved, C.accepted, C.closed, C.terminated])
def test_change_requests_only_on_running_contracts(status: ContractStatus) -> None:
    assert can_request_change(status).codes == ("change_request.contract_not_active",)


def test_policy_is_json_serialisable_with_sop_defaults() -> None:
    assert POLICY.model_dump(mode="json") == {
        "acceptance_window_days": 3,
        "milestone_overdue_warning_days": 15,
    }

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic import ValidationError

from app.core.enums import CustomerTier, LeadSource, TaskKind
from app.rules.customers import CustomerPolicy
from app.rules.leads import LeadPolicy
from app.rules.tasks import (
    DEFAULT_TASK_TRIGGER_POLICY as POLICY,
)
from app.rules.tasks import (
    TaskTrigger,
    TaskTriggerPolicy,
    TriggerEvent,
    task_for_trigger,
    tasks_for_event,
    triggers_for_event,
)

AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def spec(kind: TaskKind, record_id: object = "r1", at: datetime = AT, policy=POLICY):
    return task_for_trigger(TaskTrigger(kind=kind, record_id=record_id), at, policy)


@pytest.mark.parametrize(
    ("kind", "offset"),
    [
        (TaskKind.trade_show_follow_up, timedelta(hours=24)),
        (TaskKind.nurture_touch, timedelta(days=90)),
        (TaskKind.satisfaction_survey, timedelta(hours=24)),
        (TaskKind.first_visit, timedelta(hours=72)),
        (TaskKind.complaint_follow_up, timedelta(hours=72)),
        (TaskKind.renewal, -timedelta(days=90)),
        (TaskKind.dormant_reactivation, timedelta(days=187)),
    ],
)
def test_default_due_times_follow_the_sop(kind, offset):
    assert spec(kind).due_at == AT + offset


def test_policy_numbers_change_due_times():
    policy = TaskTriggerPolicy(trade_show_follow_up_hours=4, renewal_days_before_end=120)
    assert spec(TaskKind.trade_show_follow_up, policy=policy).due_at == AT + timedelta(hours=4)
    assert spec(TaskKind.renewal, policy=policy).due_at == AT - timedelta(days=120)


def test_due_at_is_reported_in_utc():
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2025, 3, 10, 17, 0, tzinfo=shanghai)
    due = spec(TaskKind.first_visit, at=local).due_at
    assert due == AT + timedelta(hours=72)
    assert due.utcoffset() == timedelta(0)


def test_one_shot_duties_key_on_kind_and_record():
    record = UUID("12345678-1234-5678-1234-567812345678")
    result = spec(TaskKind.trade_show_follow_up, record_id=record)
    assert result.dedupe_key == "trade_show_follow_up:12345678-1234-5678-1234-567812345678"
    assert result.record_id == str(record)
    assert spec(TaskKind.renewal, record_id=7).dedupe_key == "renewal:7"


def test_one_shot_key_ignores_the_anchor_so_replays_never_duplicate():
    first = spec(TaskKind.satisfaction_survey, at=AT)
    replay = spec(TaskKind.satisfaction_survey, at=AT + timedelta(days=3))
    assert first.dedupe_key == replay.dedupe_key == "satisfaction_survey:r1"


def test_recurring_duties_key_on_the_anchor_utc_date():
    first = spec(TaskKind.nurture_touch, at=AT)
    same_day = spec(TaskKind.nurture_touch, at=AT + timedelta(hours=5))
    next_cycle = spec(TaskKind.nurture_touch, at=AT + timedelta(days=90))
    assert first.dedupe_key == same_day.dedupe_key == "nurture_touch:r1:2025-03-10"
    assert next_cycle.dedupe_key == "nurture_touch:r1:2025-06-08"


def test_recurring_key_uses_utc_date_not_local_date():
    # 2025-03-11 01:00 in Shanghai is still 2025-03-10 in UTC
    shanghai_morning = datetime(2025, 3, 11, 1, 0, tzinfo=timezone(timedelta(hours=8)))
    key = spec(TaskKind.complaint_follow_up, record_id="t9", at=shanghai_morning).dedupe_key
    assert key == "complaint_follow_up:t9:2025-03-10"


def test_different_records_and_kinds_never_share_a_key():
    keys = {
        spec(TaskKind.satisfaction_survey, "c1").dedupe_key,
        spec(TaskKind.first_visit, "c1").dedupe_key,
        spec(TaskKind.satisfaction_survey, "c2").dedupe_key,
    }
    assert len(keys) == 3


@pytest.mark.parametrize("kind", [TaskKind.sla_escalation, TaskKind.general])
def test_kinds_not_triggered_by_sop_events_are_refused(kind):
    with pytest.raises(ValueError, match="not triggered"):
        spec(kind)


def test_naive_anchor_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        spec(TaskKind.first_visit, at=datetime(2025, 3, 10, 9, 0))


def test_empty_record_id_is_refused():
    with pytest.raises(ValidationError):
        TaskTrigger(kind=TaskKind.renewal, record_id="")


# --- events ------------------------------------------------------------------------------


def kinds(event: TriggerEvent, **context) -> list[TaskKind]:
    return [t.kind for t in triggers_for_event(event, "x", POLICY, **context)]


def test_only_trade_show_leads_get_the_24_hour_follow_up():
    assert kinds(TriggerEvent.lead_captured, lead_source=LeadSource.trade_show) == [
        TaskKind.trade_show_follow_up
    ]
    assert kinds(TriggerEvent.lead_captured, lead_source=LeadSource.website_form) == []
    assert kinds(TriggerEvent.lead_captured) == []


def test_acceptance_brings_a_survey_and_a_first_visit():
    specs = tasks_for_event(TriggerEvent.contract_accepted, "k1", AT, POLICY)
    assert [(s.kind, s.due_at) for s in specs] == [
        (TaskKind.satisfaction_survey, AT + timedelta(hours=24)),
        (TaskKind.first_visit, AT + timedelta(hours=72)),
    ]


def test_only_strategic_customers_get_a_renewal_task():
    contract_end = datetime(2025, 12, 31, tzinfo=UTC)
    specs = tasks_for_event(
        TriggerEvent.contract_ending,
        "k1",
        contract_end,
        POLICY,
        customer_tier=CustomerTier.strategic,
    )
    assert [(s.kind, s.due_at, s.dedupe_key) for s in specs] == [
        (TaskKind.renewal, contract_end - timedelta(days=90), "renewal:k1")
    ]
    assert kinds(TriggerEvent.contract_ending, customer_tier=CustomerTier.growth) == []
    assert kinds(TriggerEvent.contract_ending) == []


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (TriggerEvent.lead_parked, TaskKind.nurture_touch),
        (TriggerEvent.complaint_resolved, TaskKind.complaint_follow_up),
        (TriggerEvent.customer_dormant, TaskKind.dormant_reactivation),
    ],
)
def test_single_duty_events(event, kind):
    assert kinds(event) == [kind]


def test_each_touch_of_a_parked_lead_starts_a_new_cycle_with_its_own_key():
    parked = datetime(2025, 1, 5, 9, 0, tzinfo=UTC)
    touched = datetime(2025, 2, 10, 17, 30, tzinfo=UTC)
    [first] = tasks_for_event(TriggerEvent.lead_parked, "lead", parked, POLICY)
    [second] = tasks_for_event(TriggerEvent.lead_touched, "lead", touched, POLICY)
    [same_day] = tasks_for_event(
        TriggerEvent.lead_touched, "lead", touched + timedelta(hours=2), POLICY
    )
    assert (first.kind, second.kind) == (TaskKind.nurture_touch, TaskKind.nurture_touch)
    assert second.due_at == touched + timedelta(days=90)
    assert (first.dedupe_key, second.dedupe_key) == (
        "nurture_touch:lead:2025-01-05",
        "nurture_touch:lead:2025-02-10",
    )
    assert same_day.dedupe_key == second.dedupe_key  # one task per cycle (UTC day)


def test_dormant_reactivation_is_keyed_on_the_dormancy_episode():
    last_purchase = datetime(2025, 1, 5, 16, 0, tzinfo=UTC)
    [task] = tasks_for_event(TriggerEvent.customer_dormant, "cust", last_purchase, POLICY)
    assert task.due_at == last_purchase + timedelta(days=180 + 7)
    assert task.dedupe_key == "dormant_reactivation:cust:2025-01-05"


# --- policy ------------------------------------------------------------------------------


def test_defaults_match_domain_section_7():
    assert POLICY.trade_show_follow_up_hours == 24
    assert POLICY.nurture_touch_days == 90
    assert POLICY.survey_after_acceptance_hours == 24
    assert POLICY.first_visit_after_acceptance_hours == 72
    assert POLICY.complaint_follow_up_hours == 72
    assert POLICY.renewal_days_before_end == 90
    assert POLICY.renewal_tiers == (CustomerTier.strategic,)


def test_from_policies_keeps_tasks_in_step_with_lead_and_customer_policies():
    policy = TaskTriggerPolicy.from_policies(
        LeadPolicy(trade_show_follow_up_hours=12, touch_interval_days=60),
        CustomerPolicy(renewal_lead_days=120, dormant_after_days=150),
        complaint_follow_up_hours=48,
    )
    assert policy.trade_show_follow_up_hours == 12
    assert policy.nurture_touch_days == 60
    assert policy.renewal_days_before_end == 120
    assert policy.dormant_after_days == 150
    assert policy.complaint_follow_up_hours == 48


def test_policy_round_trips_through_json_and_is_frozen():
    dumped = POLICY.model_dump(mode="json")
    assert dumped["follow_up_sources"] == ["trade_show"]
    assert TaskTriggerPolicy.model_validate(dumped) == POLICY
    with pytest.raises(ValidationError):
        POLICY.first_visit_after_acceptance_hours = 1  # type: ignore[misc]


def test_task_spec_serialises_to_json():
    dumped = spec(TaskKind.first_visit).model_dump(mode="json")
    assert dumped == {
        "kind": "first_visit",
        "record_id": "r1",
        "due_at": "2025-03-13T09:00:00Z",
        "dedupe_key": "first_visit:r1",
        "title": "First visit after acceptance",
    }

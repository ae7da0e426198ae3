"""Which SOP duties become tasks, when they are due, and their dedupe keys (docs/domain.md §7).

The service calls `tasks_for_event` when something happens (a lead is captured, a
contract accepted...) and stores each `TaskSpec`. Each spec's `dedupe_key` is meant for a
unique index, so a retried request or a sweeper that runs every night never creates the
same duty twice.

`at` is always the *recorded* instant of the triggering fact, never "now", so the due
time and the key are the same however often the event is replayed:

| task kind              | record   | `at` (anchor)              | due                         |
|------------------------|----------|----------------------------|-----------------------------|
| trade_show_follow_up   | lead     | capture                    | at + 24 h                   |
| nurture_touch          | lead     | parked or last touched     | at + 90 d                   |
| delivery_notice        | delivery | planned day, 00:00 UTC     | at - 2 d (the notice day)   |
| satisfaction_survey    | contract | acceptance                 | at + 24 h                   |
| first_visit            | contract | acceptance                 | at + 72 h                   |
| complaint_follow_up    | ticket   | resolution                 | at + 72 h                   |
| renewal                | contract | contract end               | at - 90 d (renewal opens)   |
| dormant_reactivation   | customer | last purchase              | at + 180 d + 7 d            |

Dedupe keys are `"{kind}:{record_id}"` for duties that happen once per record, and
`"{kind}:{record_id}:{anchor UTC date}"` for those that recur on the same record (each
nurture cycle, each resolution of a reopened complaint, each dormancy episode).
"""

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.enums import CustomerTier, LeadSource, TaskKind
from app.rules.common import require_aware
from app.rules.customers import DEFAULT_CUSTOMER_POLICY, CustomerPolicy
from app.rules.leads import DEFAULT_LEAD_POLICY, LeadPolicy


class TaskTriggerPolicy(BaseModel):
    """Delays of the SOP's "within N hours" duties; defaults are docs/domain.md §7.

    The lead and customer numbers default to `LeadPolicy` / `CustomerPolicy`; build with
    `from_policies` so a tuned policy and its tasks cannot disagree.
    `dormant_reactivation_days` is ours (the seeds give no number): a week to reach out
    once a customer turns dormant.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    trade_show_follow_up_hours: int = Field(DEFAULT_LEAD_POLICY.trade_show_follow_up_hours, ge=1)
    follow_up_sources: tuple[LeadSource, ...] = (LeadSource.trade_show,)
    nurture_touch_days: int = Field(DEFAULT_LEAD_POLICY.touch_interval_days, ge=1)
    # The customer hears of a delivery this many days before its planned day (docs/domain.md §5).
    delivery_notice_days: int = Field(2, ge=0)
    survey_after_acceptance_hours: int = Field(24, ge=1)
    first_visit_after_acceptance_hours: int = Field(72, ge=1)
    complaint_follow_up_hours: int = Field(72, ge=1)
    renewal_days_before_end: int = Field(DEFAULT_CUSTOMER_POLICY.renewal_lead_days, ge=1)
    renewal_tiers: tuple[CustomerTier, ...] = DEFAULT_CUSTOMER_POLICY.renewal_tiers
    dormant_after_days: int = Field(DEFAULT_CUSTOMER_POLICY.dormant_after_days, ge=1)
    dormant_reactivation_days: int = Field(7, ge=0)

    @classmethod
    def from_policies(
        cls, lead: LeadPolicy, customer: CustomerPolicy, **overrides: Any
    ) -> "TaskTriggerPolicy":
        """The task delays implied by the lead and customer policies, plus any overrides."""
        derived = {
            "trade_show_follow_up_hours": lead.trade_show_follow_up_hours,
            "nurture_touch_days": lead.touch_interval_days,
            "renewal_days_before_end": customer.renewal_lead_days,
            "renewal_tiers": customer.renewal_tiers,
            "dormant_after_days": customer.dormant_after_days,
        }
        return cls(**(derived | overrides))


DEFAULT_TASK_TRIGGER_POLICY = TaskTriggerPolicy()


class TaskTrigger(BaseModel):
    """One SOP duty on one record: "follow up lead 42", "renew contract 7"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: TaskKind
    record_id: str = Field(min_length=1)

    @field_validator("record_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> str:
        # UUIDs and integer ids alike, so keys look the same whatever the id type.
        return str(value)


class TaskSpec(BaseModel):
    """A task to create: the service adds assignee and status and stores `dedupe_key`."""

    model_config = ConfigDict(frozen=True)

    kind: TaskKind
    record_id: str
    due_at: datetime
    dedupe_key: str
    title: str


def _offset(kind: TaskKind, policy: TaskTriggerPolicy) -> timedelta:
    """Due time relative to the anchor; KeyError for kinds that no SOP event triggers."""
    return {
        TaskKind.trade_show_follow_up: timedelta(hours=policy.trade_show_follow_up_hours),
        TaskKind.nurture_touch: timedelta(days=policy.nurture_touch_days),
        TaskKind.delivery_notice: -timedelta(days=policy.delivery_notice_days),
        TaskKind.satisfaction_survey: timedelta(hours=policy.survey_after_acceptance_hours),
        TaskKind.first_visit: timedelta(hours=policy.first_visit_after_acceptance_hours),
        TaskKind.complaint_follow_up: timedelta(hours=policy.complaint_follow_up_hours),
        TaskKind.renewal: -timedelta(days=policy.renewal_days_before_end),
        TaskKind.dormant_reactivation: timedelta(
            days=policy.dormant_after_days + policy.dormant_reactivation_days
        ),
    }[kind]


TITLES = {
    TaskKind.trade_show_follow_up: "Follow up the trade-show lead",
    TaskKind.nurture_touch: "Quarterly touch for a nurtured lead",
    TaskKind.delivery_notice: "Tell the customer the delivery is coming",
    TaskKind.satisfaction_survey: "Satisfaction survey after acceptance",
    TaskKind.first_visit: "First visit after acceptance",
    TaskKind.complaint_follow_up: "Follow up the resolved complaint",
    TaskKind.renewal: "Start the contract renewal",
    TaskKind.dormant_reactivation: "Reactivate the dormant customer",
}
TRIGGERED_KINDS = frozenset(TITLES)

# Duties that can fall on the same record again, so their key carries the anchor's date.
RECURRING_KINDS = frozenset(
    {TaskKind.nurture_touch, TaskKind.complaint_follow_up, TaskKind.dormant_reactivation}
)


def day_start(day: date) -> datetime:
    """00:00 UTC of a calendar day: the anchor of duties counted from a date."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def delivery_notice_date(planned_date: date, policy: TaskTriggerPolicy) -> date:
    """The day the customer must have heard of a delivery planned for `planned_date`;
    the delivery-notice task is due at its start."""
    return (day_start(planned_date) + _offset(TaskKind.delivery_notice, policy)).date()


def dedupe_key(trigger: TaskTrigger, at: datetime) -> str:
    """Deterministic per duty (see the module docstring); UTC date so time zones agree."""
    key = f"{trigger.kind}:{trigger.record_id}"
    if trigger.kind in RECURRING_KINDS:
        key += f":{at.astimezone(UTC).date().isoformat()}"
    return key


def task_for_trigger(trigger: TaskTrigger, at: datetime, policy: TaskTriggerPolicy) -> TaskSpec:
    """The task for one duty, anchored at `at` (the triggering fact's recorded instant).

    Raises ValueError for a kind no SOP event triggers (SLA tasks come from the SLA rules)
    and for a naive `at`.
    """
    require_aware(at, "at")
    if trigger.kind not in TRIGGERED_KINDS:
        raise ValueError(f"{trigger.kind} is not triggered by an SOP event")
    return TaskSpec(
        kind=trigger.kind,
        record_id=trigger.record_id,
        due_at=(at + _offset(trigger.kind, policy)).astimezone(UTC),
        dedupe_key=dedupe_key(trigger, at),
        title=TITLES[trigger.kind],
    )


class TriggerEvent(StrEnum):
    """Facts the services report; each may impose zero, one or more duties."""

    lead_captured = "lead_captured"
    lead_parked = "lead_parked"
    delivery_scheduled = "delivery_scheduled"
    # An activity logged on a parked lead: the touch is done and the next one is due.
    lead_touched = "lead_touched"
    contract_accepted = "contract_accepted"
    complaint_resolved = "complaint_resolved"
    contract_ending = "contract_ending"
    customer_dormant = "customer_dormant"


def _kinds_for_event(
    event: TriggerEvent,
    policy: TaskTriggerPolicy,
    lead_source: LeadSource | None,
    customer_tier: CustomerTier | None,
) -> tuple[TaskKind, ...]:
    if event is TriggerEvent.lead_captured:
        is_follow_up_source = lead_source in policy.follow_up_sources
        return (TaskKind.trade_show_follow_up,) if is_follow_up_source else ()
    if event is TriggerEvent.contract_ending:
        return (TaskKind.renewal,) if customer_tier in policy.renewal_tiers else ()
    return {
        TriggerEvent.lead_parked: (TaskKind.nurture_touch,),
        TriggerEvent.delivery_scheduled: (TaskKind.delivery_notice,),
        TriggerEvent.lead_touched: (TaskKind.nurture_touch,),
        TriggerEvent.contract_accepted: (TaskKind.satisfaction_survey, TaskKind.first_visit),
        TriggerEvent.complaint_resolved: (TaskKind.complaint_follow_up,),
        TriggerEvent.customer_dormant: (TaskKind.dormant_reactivation,),
    }[event]


def triggers_for_event(
    event: TriggerEvent,
    record_id: Any,
    policy: TaskTriggerPolicy,
    *,
    lead_source: LeadSource | None = None,
    customer_tier: CustomerTier | None = None,
) -> list[TaskTrigger]:
    """The duties an event imposes. A captured lead needs `lead_source` (only trade-show
    leads get the 24 h follow-up); an ending contract needs the customer's effective
    `customer_tier` (only strategic customers get a renewal task). Without them: none.
    """
    kinds = _kinds_for_event(event, policy, lead_source, customer_tier)
    return [TaskTrigger(kind=kind, record_id=record_id) for kind in kinds]


def tasks_for_event(
    event: TriggerEvent,
    record_id: Any,
    at: datetime,
    policy: TaskTriggerPolicy,
    *,
    lead_source: LeadSource | None = None,
    customer_tier: CustomerTier | None = None,
) -> list[TaskSpec]:
    """`triggers_for_event` turned into task specs anchored at `at` (see the module table)."""
    triggers = triggers_for_event(
        event, record_id, policy, lead_source=lead_source, customer_tier=customer_tier
    )
    return [task_for_trigger(trigger, at, policy) for trigger in triggers]

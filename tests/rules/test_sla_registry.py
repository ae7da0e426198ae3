"""The SLA registry: every version ever used stays known; the last ones are in force."""

from datetime import UTC, datetime, time, timedelta

import pytest

from app.core.enums import SlaEventKind, SlaStatus, TicketPriority, TicketType
from app.rules.calendar import TWENTY_FOUR_SEVEN, business_hours
from app.rules.sla import (
    COMPLAINT_SLA_POLICY,
    DEFAULT_SLA_POLICY,
    DEFAULT_SLA_POLICY_SET,
    SlaPolicy,
    SlaPolicySet,
)
from app.rules.sla_registry import DEFAULT_SLA_REGISTRY, build_registry

T0 = datetime(2025, 6, 2, 8, tzinfo=UTC)
OFFICE_V1 = business_hours(
    name="office", version="office-v1", time_zone="Asia/Shanghai", windows=((time(9), time(18)),)
)
OFFICE_V2 = business_hours(
    name="office", version="office-v2", time_zone="Asia/Shanghai", windows=((time(8), time(20)),)
)
FAST = SlaPolicy(
    version="fast-v1",
    name="Faster default",
    first_response=timedelta(minutes=20),
    resolution=timedelta(hours=8),
    calendar_name="office",
)


def test_the_default_registry_is_the_default_policy_set_on_24x7() -> None:
    registry = DEFAULT_SLA_REGISTRY
    assert registry.policy_for(TicketType.complaint, None, TicketPriority.low) is (
        COMPLAINT_SLA_POLICY
    )
    assert registry.policy_for(TicketType.software_bug, None, TicketPriority.urgent) is (
        DEFAULT_SLA_POLICY
    )
    assert registry.calendar_for(DEFAULT_SLA_POLICY) is TWENTY_FOUR_SEVEN


def test_a_retired_policy_still_replays_and_new_events_use_the_versions_in_force() -> None:
    new_set = SlaPolicySet(version="sla-set-v2", default=FAST)
    registry = build_registry(
        [DEFAULT_SLA_POLICY_SET, new_set], [TWENTY_FOUR_SEVEN, OFFICE_V1, OFFICE_V2]
    )
    old_log = [DEFAULT_SLA_REGISTRY.event(SlaEventKind.started, T0, DEFAULT_SLA_POLICY)]
    replayed = registry.snapshot(old_log, T0)
    assert replayed.resolution.due_at == T0 + timedelta(hours=48)
    policy = registry.policy_for(TicketType.usage_question, None, TicketPriority.normal)
    assert policy is FAST
    started = registry.event(SlaEventKind.started, T0, policy)
    assert (started.policy_version, started.calendar_version) == ("fast-v1", "office-v2")


def test_settle_uses_every_known_version() -> None:
    log = [DEFAULT_SLA_REGISTRY.event(SlaEventKind.started, T0, DEFAULT_SLA_POLICY)]
    stop = DEFAULT_SLA_REGISTRY.event(
        SlaEventKind.first_response, T0 + timedelta(minutes=61), DEFAULT_SLA_POLICY
    )
    settled = DEFAULT_SLA_REGISTRY.settle(log, stop)
    assert [(e.kind, e.at) for e in settled] == [
        (SlaEventKind.first_response, T0 + timedelta(minutes=61)),
        (SlaEventKind.breached, T0 + timedelta(hours=1)),
    ]
    assert (
        DEFAULT_SLA_REGISTRY.snapshot(
            [*log, *settled], T0 + timedelta(hours=2)
        ).first_response.status
        is SlaStatus.breached
    )


def test_a_version_naming_two_things_or_an_unknown_calendar_is_refused() -> None:
    clash = SlaPolicy(
        version="default-v1",
        name="Not the default",
        first_response=timedelta(hours=2),
        resolution=timedelta(hours=4),
    )
    with pytest.raises(ValueError, match="names two different policies"):
        build_registry(
            [DEFAULT_SLA_POLICY_SET, SlaPolicySet(version="x", default=clash)], [TWENTY_FOUR_SEVEN]
        )
    renamed = OFFICE_V2.model_copy(update={"version": "office-v1"})
    with pytest.raises(ValueError, match="names two different calendars"):
        build_registry([DEFAULT_SLA_POLICY_SET], [TWENTY_FOUR_SEVEN, OFFICE_V1, renamed])
    with pytest.raises(ValueError, match="unknown calendar 'office'"):
        build_registry([SlaPolicySet(version="y", default=FAST)], [TWENTY_FOUR_SEVEN])
    with pytest.raises(ValueError, match="at least one"):
        build_registry([], [TWENTY_FOUR_SEVEN])
    with pytest.raises(ValueError, match="unknown SLA policy version"):
        DEFAULT_SLA_REGISTRY.policy("gone")


def test_the_document_is_json_policy_data_with_its_calendars() -> None:
    document = DEFAULT_SLA_REGISTRY.document()
    assert SlaPolicySet.model_validate(document) == DEFAULT_SLA_POLICY_SET
    assert document["default"]["first_response"] == "PT1H"
    assert [c["version"] for c in document["calendars"]] == ["24x7-v1"]

"""Every SLA policy and calendar version the service knows, and the ones in force.

The clocks they drive are docs/domain.md §6.

SLA events record the policy and calendar versions they ran on, so a ticket's clocks can
only be recomputed if every version ever recorded is still known. The registry holds them
all (retired versions included) and says which are in force: the last policy set, and the
last version of each calendar name. Publishing a new version means appending it here;
nothing already recorded changes meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.enums import CustomerTier, SlaClockKind, SlaEventKind, TicketPriority, TicketType
from app.rules.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar
from app.rules.sla import (
    DEFAULT_SLA_POLICY_SET,
    SlaEvent,
    SlaPolicy,
    SlaPolicySet,
    SlaSnapshot,
    clock_event,
    compute_clocks,
    settle_clock,
)


def _by_version(items: Iterable[SlaPolicy | BusinessCalendar], what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        if found.setdefault(item.version, item) != item:
            raise ValueError(f"version {item.version!r} names two different {what}")
    return found


@dataclass(frozen=True)
class SlaRegistry:
    """The policy set in force, the calendars in force, and every version ever used."""

    policy_set: SlaPolicySet
    calendars: Mapping[str, BusinessCalendar]  # by name: the version in force
    policies_by_version: Mapping[str, SlaPolicy]
    calendars_by_version: Mapping[str, BusinessCalendar]

    def policy_for(
        self, ticket_type: TicketType, tier: CustomerTier | None, priority: TicketPriority
    ) -> SlaPolicy:
        return self.policy_set.policy_for(ticket_type, tier, priority)

    def policy(self, version: str) -> SlaPolicy:
        if version not in self.policies_by_version:
            raise ValueError(f"unknown SLA policy version {version!r}")
        return self.policies_by_version[version]

    def calendar_for(self, policy: SlaPolicy) -> BusinessCalendar:
        """The version in force of the calendar `policy` runs on."""
        return self.calendars[policy.calendar_name]

    def event(
        self,
        kind: SlaEventKind,
        at: datetime,
        policy: SlaPolicy,
        clock: SlaClockKind | None = None,
    ) -> SlaEvent:
        """An event on `policy`, recording the calendar version in force now."""
        return clock_event(kind, at, policy=policy, calendar=self.calendar_for(policy), clock=clock)

    def snapshot(self, events: Iterable[SlaEvent], now: datetime) -> SlaSnapshot:
        return compute_clocks(events, self.policies_by_version, self.calendars_by_version, now)

    def settle(self, events: Sequence[SlaEvent], stop: SlaEvent) -> list[SlaEvent]:
        return settle_clock(events, stop, self.policies_by_version, self.calendars_by_version)

    def document(self) -> dict[str, Any]:
        """The policy set in force and its calendars, as JSON data for partners and UIs."""
        return {
            **self.policy_set.model_dump(mode="json"),
            "calendars": [calendar.model_dump(mode="json") for calendar in self.calendars.values()],
        }


def build_registry(
    policy_sets: Sequence[SlaPolicySet], calendars: Sequence[BusinessCalendar]
) -> SlaRegistry:
    """A registry from every policy set and calendar version, each list oldest first.

    The last policy set is in force, and so is the last listed version of each calendar
    name. Refuses a version that names two different policies or calendars, and a policy
    in force whose calendar is unknown.
    """
    if not policy_sets:
        raise ValueError("an SLA registry needs at least one policy set")
    in_force = policy_sets[-1]
    policies = _by_version(
        (
            policy
            for policy_set in policy_sets
            for policy in policy_set.policies_by_version().values()
        ),
        "policies",
    )
    by_version = _by_version(calendars, "calendars")
    current = {calendar.name: calendar for calendar in calendars}
    for policy in in_force.policies_by_version().values():
        if policy.calendar_name not in current:
            raise ValueError(
                f"policy {policy.version} runs on unknown calendar {policy.calendar_name!r}"
            )
    return SlaRegistry(in_force, current, policies, by_version)


DEFAULT_SLA_REGISTRY = build_registry([DEFAULT_SLA_POLICY_SET], [TWENTY_FOUR_SEVEN])

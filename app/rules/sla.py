"""SLA policies and clocks for after-sales tickets (docs/domain.md §6).

Policies are data (`SlaPolicy`, chosen from an `SlaPolicySet`); a ticket's clocks are a
pure function of its SLA event log, the policy and calendar versions recorded on the
events, and the `now` the caller passes. Nothing is stored but the log, so a due time can
always be recomputed and explained, and a calendar published later never changes how a
past stretch of time counted.

Boundaries, decided once:
- a running clock is breached from its due instant on (`now >= due_at`);
- a response or resolution *at or before* `due_at` meets the clock;
- a clock is at risk once `elapsed >= at_risk_threshold * target` (75 % by default);
- `breached_at` is the due instant, never the moment somebody noticed;
- a recorded `breached` event is authoritative: once written it is never undone.

Event semantics, per clock (`SlaEvent.clock`, `None` = both clocks):
- `started` starts a clock (at the ticket's reported time, which may be in the past);
- `first_response` stops the first-response clock (only a public agent response counts);
- `paused` / `resumed` (waiting on the customer) apply to the resolution clock only;
  paused time does not count, so the due time moves by the paused business time;
- `retargeted` switches a running or paused clock to a new policy, keeping elapsed time;
  a stopped clock's outcome is settled and ignores it;
- `resolved` (or `met`) stops the resolution clock; `reopened` continues it where it
  stopped, elapsed time kept;
- `breached`, `at_risk` and `met` are outcome markers written once; `met` also stops a
  clock that is still running, so a log that records only `met` on resolve still works.
Each stretch of time between two of these events counts on the calendar version recorded
on the event that began it, against the target of the policy version in force.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.enums import (
    CustomerTier,
    SlaClockKind,
    SlaEventKind,
    SlaStatus,
    TicketPriority,
    TicketType,
)
from app.rules.calendar import (
    TWENTY_FOUR_SEVEN,
    ZERO,
    BusinessCalendar,
    add_business_time,
    as_utc,
    business_time_between,
)
from app.rules.common import Check

AT_RISK_THRESHOLD = Decimal("0.75")
COMPLAINT_FOLLOW_UP = timedelta(hours=72)
# An imported ticket reported longer ago than this is a mistyped date, not a backlog.
MAX_REPORTED_AGE = timedelta(days=90)
MICROSECOND = timedelta(microseconds=1)


# --- policies ---------------------------------------------------------------------------


class SlaPolicy(BaseModel):
    """Targets for one kind of ticket; `version` is unique and recorded on every event."""

    model_config = ConfigDict(frozen=True)

    version: str = Field(min_length=1, max_length=64)
    name: str
    first_response: timedelta
    resolution: timedelta
    calendar_name: str = TWENTY_FOUR_SEVEN.name
    at_risk_threshold: Decimal = Field(default=AT_RISK_THRESHOLD, gt=0, lt=1)
    follow_up_after_resolution: timedelta | None = None

    @model_validator(mode="after")
    def _positive_targets(self) -> SlaPolicy:
        if self.first_response <= ZERO or self.resolution <= ZERO:
            raise ValueError("SLA targets must be positive durations")
        return self

    def target(self, clock: SlaClockKind) -> timedelta:
        return self.first_response if clock is SlaClockKind.first_response else self.resolution

    def at_risk_after(self, clock: SlaClockKind) -> timedelta:
        """The elapsed time from which the clock is at risk, rounded up to the microsecond.

        Rounding up keeps the comparison exact: elapsed >= this <=> elapsed/target >= 75 %.
        """
        target_us = self.target(clock) // MICROSECOND
        return math.ceil(self.at_risk_threshold * target_us) * MICROSECOND


DEFAULT_SLA_POLICY = SlaPolicy(
    version="default-v1",
    name="Default: first response within 1 h, resolution within 48 h, 24x7",
    first_response=timedelta(hours=1),
    resolution=timedelta(hours=48),
)
COMPLAINT_SLA_POLICY = SlaPolicy(
    version="complaint-v1",
    name="Complaint: first solution within 30 min, carried out within 24 h, follow-up in 72 h",
    first_response=timedelta(minutes=30),
    resolution=timedelta(hours=24),
    follow_up_after_resolution=COMPLAINT_FOLLOW_UP,
)


class SlaRule(BaseModel):
    """An override: tickets matching every criterion that is set get `policy`."""

    model_config = ConfigDict(frozen=True)

    ticket_type: TicketType | None = None
    customer_tier: CustomerTier | None = None
    priority: TicketPriority | None = None
    policy: SlaPolicy

    @model_validator(mode="after")
    def _has_criterion(self) -> SlaRule:
        if self.criteria == (None, None, None):
            raise ValueError("a rule without criteria would replace the default; set one")
        return self

    @property
    def criteria(self) -> tuple[TicketType | None, CustomerTier | None, TicketPriority | None]:
        return (self.ticket_type, self.customer_tier, self.priority)

    @property
    def specificity(self) -> tuple[int, bool, bool, bool]:
        """Precedence key: more criteria first, then type over tier over priority."""
        has_type, has_tier, has_priority = (value is not None for value in self.criteria)
        return (has_type + has_tier + has_priority, has_type, has_tier, has_priority)

    def matches(
        self,
        ticket_type: TicketType,
        customer_tier: CustomerTier | None,
        priority: TicketPriority,
    ) -> bool:
        wanted = (ticket_type, customer_tier, priority)
        return all(
            rule is None or rule == got for rule, got in zip(self.criteria, wanted, strict=True)
        )


class SlaPolicySet(BaseModel):
    """The default policy plus overrides by (ticket type, customer tier, priority).

    Precedence: of the matching rules, the one with the most criteria set wins; between
    rules with as many criteria, one naming the ticket type beats one naming the customer
    tier, which beats one naming the priority. Two rules with identical criteria are
    refused, so at most one rule can ever win and list order never matters.
    """

    model_config = ConfigDict(frozen=True)

    version: str = Field(min_length=1, max_length=64)
    default: SlaPolicy
    rules: tuple[SlaRule, ...] = ()
    max_reported_age: timedelta = Field(default=MAX_REPORTED_AGE, gt=ZERO)

    @model_validator(mode="after")
    def _unambiguous(self) -> SlaPolicySet:
        criteria = [rule.criteria for rule in self.rules]
        if len(set(criteria)) != len(criteria):
            raise ValueError("two SLA rules have identical criteria")
        self.policies_by_version()  # refuses one version naming two different policies
        return self

    def policy_for(
        self,
        ticket_type: TicketType,
        customer_tier: CustomerTier | None,
        priority: TicketPriority,
    ) -> SlaPolicy:
        matching = [r for r in self.rules if r.matches(ticket_type, customer_tier, priority)]
        if not matching:
            return self.default
        return max(matching, key=lambda rule: rule.specificity).policy

    def policies_by_version(self) -> dict[str, SlaPolicy]:
        found: dict[str, SlaPolicy] = {}
        for policy in (self.default, *(rule.policy for rule in self.rules)):
            if found.setdefault(policy.version, policy) != policy:
                raise ValueError(f"policy version {policy.version!r} names two policies")
        return found


DEFAULT_SLA_POLICY_SET = SlaPolicySet(
    version="sla-set-v1",
    default=DEFAULT_SLA_POLICY,
    rules=(SlaRule(ticket_type=TicketType.complaint, policy=COMPLAINT_SLA_POLICY),),
)


# --- the event log ----------------------------------------------------------------------

# Kinds that only ever concern one clock: the event is normalised to it.
_ONLY_CLOCK: dict[SlaEventKind, SlaClockKind] = {
    SlaEventKind.first_response: SlaClockKind.first_response,
    SlaEventKind.paused: SlaClockKind.resolution,
    SlaEventKind.resumed: SlaClockKind.resolution,
    SlaEventKind.resolved: SlaClockKind.resolution,
    SlaEventKind.reopened: SlaClockKind.resolution,
}
# Outcome markers are about one clock's outcome, so they must name it.
_MARKERS = frozenset({SlaEventKind.breached, SlaEventKind.met, SlaEventKind.at_risk})
_STOPS = frozenset({SlaEventKind.first_response, SlaEventKind.resolved, SlaEventKind.met})


class SlaEvent(BaseModel):
    """One row of a ticket's SLA event log (`from_attributes`: validates a table row too)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    kind: SlaEventKind
    at: datetime
    clock: SlaClockKind | None = None
    policy_version: str = Field(min_length=1, max_length=64)
    calendar_version: str = Field(min_length=1, max_length=64)

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value, "at")

    @model_validator(mode="after")
    def _right_clock(self) -> SlaEvent:
        only = _ONLY_CLOCK.get(self.kind)
        if only is not None and self.clock not in (None, only):
            raise ValueError(f"a {self.kind} event concerns the {only} clock only")
        if only is not None and self.clock is None:
            object.__setattr__(self, "clock", only)  # frozen: normalise before anyone reads
        if self.kind in _MARKERS and self.clock is None:
            raise ValueError(f"a {self.kind} event must name its clock")
        return self

    def concerns(self, clock: SlaClockKind) -> bool:
        return self.clock is None or self.clock is clock


def clock_event(
    kind: SlaEventKind,
    at: datetime,
    *,
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    clock: SlaClockKind | None = None,
) -> SlaEvent:
    """An event recording the policy and calendar versions in force now.

    `policy` is the ticket's current policy (`SlaPolicySet.policy_for`), `calendar` the
    current version of the calendar that policy names.
    """
    if calendar.name != policy.calendar_name:
        raise ValueError(f"policy {policy.version} runs on calendar {policy.calendar_name!r}")
    return SlaEvent(
        kind=kind,
        at=at,
        clock=clock,
        policy_version=policy.version,
        calendar_version=calendar.version,
    )


def first_response_counts(is_public: bool, by_agent: bool) -> bool:
    """Only an agent's public reply answers the customer; notes and customer posts do not."""
    return is_public and by_agent


def first_response_event(
    at: datetime,
    *,
    is_public: bool,
    by_agent: bool,
    policy: SlaPolicy,
    calendar: BusinessCalendar,
) -> SlaEvent:
    """The event stopping the first-response clock; refuses a reply that does not count."""
    if not first_response_counts(is_public, by_agent):
        raise ValueError("only a public response by an agent counts as the first response")
    return clock_event(SlaEventKind.first_response, at, policy=policy, calendar=calendar)


def validate_reported_at(
    reported_at: datetime, now: datetime, max_age: timedelta = MAX_REPORTED_AGE
) -> list[Check]:
    """Clocks may start in the past (an imported ticket), at most `max_age` ago, never in
    the future."""
    now = as_utc(now, "now")
    if reported_at.tzinfo is None or reported_at.utcoffset() is None:
        return [Check("reported_at_not_aware", "reported_at needs a time zone", "reported_at")]
    if reported_at > now:
        return [Check("reported_at_in_future", "reported_at is in the future", "reported_at")]
    if reported_at < now - max_age:
        return [
            Check(
                "reported_at_too_old",
                f"reported_at is more than {max_age.days} days ago",
                "reported_at",
            )
        ]
    return []


# --- the snapshot -----------------------------------------------------------------------


class ClockState(StrEnum):
    running = "running"
    paused = "paused"
    stopped = "stopped"


class SlaSegment(BaseModel):
    """A stretch during which a clock ran or was paused, measured on its own calendar."""

    model_config = ConfigDict(frozen=True)

    state: ClockState
    start: datetime
    end: datetime | None  # None: still going at the snapshot's `computed_at`
    policy_version: str
    calendar_version: str
    target: timedelta
    elapsed_before: timedelta
    business_duration: timedelta  # for a paused stretch: how far it moved the due time


class SlaClock(BaseModel):
    """One clock (first response or resolution) as of the snapshot's `computed_at`."""

    model_config = ConfigDict(frozen=True)

    kind: SlaClockKind
    state: ClockState
    status: SlaStatus
    policy_version: str
    calendar_version: str
    target: timedelta
    elapsed: timedelta
    remaining: timedelta
    fraction_used: float
    started_at: datetime
    due_at: datetime | None  # None only while paused and not yet overdue: it is moving
    at_risk_at: datetime | None
    breached_at: datetime | None
    breach_recorded: bool
    met_at: datetime | None
    stopped_at: datetime | None
    at_risk_recorded: bool
    segments: tuple[SlaSegment, ...]
    paused_spans: tuple[SlaSegment, ...]
    # due_at = add_business_time(due_from, due_remaining, calendar due_calendar_version)
    due_from: datetime | None
    due_remaining: timedelta | None
    due_calendar_version: str | None


class SlaSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    computed_at: datetime
    first_response: SlaClock
    resolution: SlaClock
    sla_status: SlaStatus
    next_due_at: datetime | None  # the earliest due instant of a running clock
    at_risk_at: datetime | None  # the earliest at-risk instant of a running clock

    @property
    def clocks(self) -> tuple[SlaClock, SlaClock]:
        return (self.first_response, self.resolution)

    def clock(self, kind: SlaClockKind) -> SlaClock:
        return self.first_response if kind is SlaClockKind.first_response else self.resolution


# --- replaying the log ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Span:
    state: ClockState
    start: datetime
    end: datetime | None
    policy_version: str
    calendar_version: str


@dataclass(slots=True)
class _Trace:
    """One clock's state machine while the log is replayed; no time is measured yet."""

    kind: SlaClockKind
    state: ClockState | None = None
    started_at: datetime | None = None
    policy_version: str = ""
    calendar_version: str = ""
    open_since: datetime | None = None
    spans: list[_Span] = field(default_factory=list)
    stopped_at: datetime | None = None
    breach: SlaEvent | None = None
    at_risk: SlaEvent | None = None

    def open(self, state: ClockState, event: SlaEvent) -> None:
        self.close(event.at)
        self.state, self.open_since = state, event.at
        self.calendar_version = event.calendar_version

    def close(self, at: datetime) -> None:
        if self.open_since is not None and self.state is not None and at > self.open_since:
            self.spans.append(
                _Span(self.state, self.open_since, at, self.policy_version, self.calendar_version)
            )
        self.open_since = None

    def all_spans(self) -> list[_Span]:
        if self.open_since is None or self.state is None:
            return list(self.spans)
        current = _Span(
            self.state, self.open_since, None, self.policy_version, self.calendar_version
        )
        return [*self.spans, current]


def _apply(trace: _Trace, event: SlaEvent) -> None:
    """Advance one clock by one event; events that do not fit its state change nothing."""
    kind, state = event.kind, trace.state
    if kind is SlaEventKind.started and state is None:
        trace.started_at, trace.policy_version = event.at, event.policy_version
        trace.open(ClockState.running, event)
    elif kind is SlaEventKind.retargeted and state in (ClockState.running, ClockState.paused):
        trace.close(event.at)
        trace.policy_version = event.policy_version
        trace.open(state, event)
    elif kind is SlaEventKind.paused and state is ClockState.running:
        trace.open(ClockState.paused, event)
    elif kind is SlaEventKind.resumed and state is ClockState.paused:
        trace.open(ClockState.running, event)
    elif kind in _STOPS and state in (ClockState.running, ClockState.paused):
        trace.close(event.at)
        trace.state, trace.stopped_at = ClockState.stopped, event.at
    elif kind is SlaEventKind.reopened and state is ClockState.stopped:
        trace.stopped_at = None
        trace.open(ClockState.running, event)
    if kind is SlaEventKind.breached and trace.breach is None:
        trace.breach = event
    elif kind is SlaEventKind.at_risk and trace.at_risk is None:
        trace.at_risk = event


def _replay(kind: SlaClockKind, log: Sequence[SlaEvent]) -> _Trace:
    trace = _Trace(kind)
    for event in log:
        if event.concerns(kind):
            _apply(trace, event)
    if trace.state is None:
        raise ValueError(f"the SLA log has no started event for the {kind} clock")
    return trace


# --- measuring ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Lookup:
    """Policies and calendars by version, failing with a message that names the version."""

    policies: Mapping[str, SlaPolicy]
    calendars: Mapping[str, BusinessCalendar]

    def policy(self, version: str) -> SlaPolicy:
        if version not in self.policies:
            raise ValueError(f"unknown SLA policy version {version!r}")
        return self.policies[version]

    def calendar(self, version: str) -> BusinessCalendar:
        if version not in self.calendars:
            raise ValueError(f"unknown calendar version {version!r}")
        return self.calendars[version]


def _segments(trace: _Trace, lookup: _Lookup, now: datetime) -> tuple[SlaSegment, ...]:
    segments, elapsed = [], ZERO
    for span in trace.all_spans():
        measured = business_time_between(
            span.start, span.end or now, lookup.calendar(span.calendar_version)
        )
        segments.append(
            SlaSegment(
                state=span.state,
                start=span.start,
                end=span.end,
                policy_version=span.policy_version,
                calendar_version=span.calendar_version,
                target=lookup.policy(span.policy_version).target(trace.kind),
                elapsed_before=elapsed,
                business_duration=measured,
            )
        )
        if span.state is ClockState.running:
            elapsed += measured
    return tuple(segments)


@dataclass(frozen=True, slots=True)
class _Reach:
    """Where a clock reaches an amount: `remaining` more business time from `start`."""

    start: datetime
    remaining: timedelta
    calendar_version: str

    def instant(self, lookup: _Lookup) -> datetime:
        return add_business_time(self.start, self.remaining, lookup.calendar(self.calendar_version))


def _reach(
    segments: Sequence[SlaSegment], amount: Callable[[SlaSegment], timedelta]
) -> _Reach | None:
    """The first point at which elapsed time reaches `amount` (in force per segment).

    A still-running last segment reaches it eventually; a retarget below the time
    already used reaches it at once, at the retarget.
    """
    for segment in segments:
        remaining = amount(segment) - segment.elapsed_before
        if remaining <= ZERO:
            return _Reach(segment.start, ZERO, segment.calendar_version)
        if segment.state is ClockState.running and (
            segment.end is None or segment.business_duration >= remaining
        ):
            return _Reach(segment.start, remaining, segment.calendar_version)
    return None


def _due(trace: _Trace, segments: Sequence[SlaSegment], target: timedelta) -> _Reach | None:
    reached = _reach(segments, lambda segment: segment.target)
    if reached is not None or trace.state is not ClockState.stopped:
        return reached
    # Stopped in time: the due instant it was heading for when it stopped.
    assert trace.stopped_at is not None
    used = sum((s.business_duration for s in segments if s.state is ClockState.running), ZERO)
    return _Reach(trace.stopped_at, target - used, trace.calendar_version)


def _status(
    trace: _Trace, due_at: datetime | None, at_risk: bool, now: datetime
) -> tuple[SlaStatus, datetime | None, datetime | None]:
    """(status, breached_at, met_at): a recorded breach wins, then the due instant decides."""
    if trace.breach is not None:
        return SlaStatus.breached, trace.breach.at, None
    if trace.state is ClockState.stopped and due_at is not None:
        assert trace.stopped_at is not None
        if trace.stopped_at <= due_at:
            return SlaStatus.met, None, trace.stopped_at
        return SlaStatus.breached, due_at, None
    if due_at is not None and now >= due_at:
        return SlaStatus.breached, due_at, None
    return (SlaStatus.at_risk if at_risk else SlaStatus.on_track), None, None


def _measure(trace: _Trace, lookup: _Lookup, now: datetime) -> SlaClock:
    policy = lookup.policy(trace.policy_version)
    target = policy.target(trace.kind)
    segments = _segments(trace, lookup, now)
    elapsed = sum((s.business_duration for s in segments if s.state is ClockState.running), ZERO)
    due = _due(trace, segments, target)
    due_at = due.instant(lookup) if due is not None else None
    at_risk_reach = _reach(
        segments, lambda s: lookup.policy(s.policy_version).at_risk_after(trace.kind)
    )
    status, breached_at, met_at = _status(
        trace, due_at, elapsed >= policy.at_risk_after(trace.kind), now
    )
    assert trace.state is not None and trace.started_at is not None
    return SlaClock(
        kind=trace.kind,
        state=trace.state,
        status=status,
        policy_version=trace.policy_version,
        calendar_version=trace.calendar_version,
        target=target,
        elapsed=elapsed,
        remaining=max(target - elapsed, ZERO),
        fraction_used=elapsed / target,
        started_at=trace.started_at,
        due_at=due_at,
        at_risk_at=at_risk_reach.instant(lookup) if at_risk_reach is not None else None,
        breached_at=breached_at,
        breach_recorded=trace.breach is not None,
        met_at=met_at,
        stopped_at=trace.stopped_at,
        at_risk_recorded=trace.at_risk is not None,
        segments=segments,
        paused_spans=tuple(s for s in segments if s.state is ClockState.paused),
        due_from=due.start if due is not None else None,
        due_remaining=due.remaining if due is not None else None,
        due_calendar_version=due.calendar_version if due is not None else None,
    )


# Worst first; `met` is the best, so the worst of all clocks is `met` only when all are.
_SEVERITY = (SlaStatus.breached, SlaStatus.at_risk, SlaStatus.on_track, SlaStatus.met)


def overall_status(clocks: Iterable[SlaClock]) -> SlaStatus:
    """The ticket's status is its worst clock's: a breach anywhere stays a breach."""
    return min((clock.status for clock in clocks), key=_SEVERITY.index)


def compute_clocks(
    events: Iterable[SlaEvent],
    policies_by_version: Mapping[str, SlaPolicy],
    calendars_by_version: Mapping[str, BusinessCalendar],
    now: datetime,
) -> SlaSnapshot:
    """Both clocks of a ticket as of `now`, replayed from its SLA event log.

    Events after `now` are ignored (so `now` may be any past instant, for audits); events
    at the same instant keep their log order.
    """
    now = as_utc(now, "now")
    log = sorted((event for event in events if event.at <= now), key=lambda event: event.at)
    lookup = _Lookup(policies_by_version, calendars_by_version)
    first_response, resolution = (
        _measure(_replay(kind, log), lookup, now)
        for kind in (SlaClockKind.first_response, SlaClockKind.resolution)
    )
    running = [clock for clock in (first_response, resolution) if clock.state is ClockState.running]
    return SlaSnapshot(
        computed_at=now,
        first_response=first_response,
        resolution=resolution,
        sla_status=overall_status((first_response, resolution)),
        next_due_at=min((c.due_at for c in running if c.due_at is not None), default=None),
        at_risk_at=min((c.at_risk_at for c in running if c.at_risk_at is not None), default=None),
    )


# --- what to write next: the HTTP layer and the sweeper ------------------------------------


def _marker(kind: SlaEventKind, at: datetime, clock: SlaClock) -> SlaEvent:
    return SlaEvent(
        kind=kind,
        at=at,
        clock=clock.kind,
        policy_version=clock.policy_version,
        calendar_version=clock.calendar_version,
    )


def settle_clock(
    events: Sequence[SlaEvent],
    stop: SlaEvent,
    policies_by_version: Mapping[str, SlaPolicy],
    calendars_by_version: Mapping[str, BusinessCalendar],
) -> list[SlaEvent]:
    """The events to append when a response or resolution stops a clock.

    The stop itself, then its outcome: `met` when in time, else `breached` at the due
    instant unless a breach is already on record. A stop that stops nothing (a second
    response) yields only itself.
    """
    if stop.kind not in _STOPS:
        raise ValueError(f"a {stop.kind} event does not stop a clock")
    snapshot = compute_clocks([*events, stop], policies_by_version, calendars_by_version, stop.at)
    settled = [stop]
    for clock in snapshot.clocks:
        if not stop.concerns(clock.kind) or clock.stopped_at != stop.at:
            continue
        if clock.status is SlaStatus.met and stop.kind is not SlaEventKind.met:
            settled.append(_marker(SlaEventKind.met, stop.at, clock))
        elif clock.status is SlaStatus.breached and not clock.breach_recorded:
            assert clock.breached_at is not None
            settled.append(_marker(SlaEventKind.breached, clock.breached_at, clock))
    return settled


def due_breaches(snapshot: SlaSnapshot, now: datetime) -> list[SlaEvent]:
    """`breached` events for clocks past due with no breach on record (the sweeper's job).

    Each is dated at the due instant, so a late sweep still records when it happened; a
    clock with a recorded breach never yields another, so nothing escalates twice.
    """
    now = as_utc(now, "now")
    return [
        _marker(SlaEventKind.breached, clock.due_at, clock)
        for clock in snapshot.clocks
        if clock.due_at is not None
        and clock.due_at <= now
        and clock.status is not SlaStatus.met
        and not clock.breach_recorded
    ]


def needs_at_risk_warning(
    snapshot: SlaSnapshot, events: Iterable[SlaEvent], now: datetime
) -> list[SlaEvent]:
    """`at_risk` events for running clocks past the threshold and not yet due, once each."""
    now = as_utc(now, "now")
    warned = {event.clock for event in events if event.kind is SlaEventKind.at_risk and event.clock}
    return [
        _marker(SlaEventKind.at_risk, clock.at_risk_at, clock)
        for clock in snapshot.clocks
        if clock.state is ClockState.running
        and clock.kind not in warned
        and not clock.breach_recorded
        and clock.at_risk_at is not None
        and clock.at_risk_at <= now
        and (clock.due_at is None or now < clock.due_at)
    ]


def next_sweep_at(snapshot: SlaSnapshot, recorded: Iterable[SlaEvent]) -> datetime | None:
    """The next instant at which a marker falls due: the earliest at-risk instant not yet
    warned of and due instant not yet breached, of the running clocks; None when nothing
    is pending (every clock stopped, paused or breached on record).

    `recorded` are markers written with this snapshot, which it does not know of yet.
    """
    written = {(event.kind, event.clock) for event in recorded}
    pending = []
    for clock in snapshot.clocks:
        if clock.state is not ClockState.running or clock.breach_recorded:
            continue
        if (SlaEventKind.breached, clock.kind) in written:
            continue
        pending.append(clock.due_at)
        if not clock.at_risk_recorded and (SlaEventKind.at_risk, clock.kind) not in written:
            pending.append(clock.at_risk_at)
    return min((moment for moment in pending if moment is not None), default=None)


# --- reading a stored status ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Promotion:
    """Once the stored `instant` has passed, a ticket whose stored status is one of `from_`
    reads as `to`; `from_` None means whatever was stored."""

    instant: str  # "next_due_at" or "at_risk_at", as stored with the status
    to: SlaStatus
    from_: frozenset[SlaStatus] | None


# A stored status is exact as of the write that stored it; after that, time alone moves a
# running clock only forward, past its at-risk instant and then its due instant. The first
# promotion that applies wins; SQL reads and filters are built from this same table.
READ_PROMOTIONS: tuple[Promotion, ...] = (
    Promotion("next_due_at", SlaStatus.breached, None),
    Promotion("at_risk_at", SlaStatus.at_risk, frozenset({SlaStatus.on_track})),
)


def status_at(
    stored: SlaStatus,
    instants: Mapping[str, datetime | None],
    now: datetime,
) -> SlaStatus:
    """A ticket's SLA status at `now` from what was stored (`next_due_at`, `at_risk_at`)."""
    now = as_utc(now, "now")
    for promotion in READ_PROMOTIONS:
        moment = instants[promotion.instant]
        applies = promotion.from_ is None or stored in promotion.from_
        if applies and moment is not None and now >= moment:
            return promotion.to
    return stored


def complaint_follow_up_due(resolved_at: datetime, policy: SlaPolicy) -> datetime | None:
    """When the follow-up call is due (72 h after resolution for complaints), in real time."""
    if policy.follow_up_after_resolution is None:
        return None
    return as_utc(resolved_at, "resolved_at") + policy.follow_up_after_resolution


# --- explaining ---------------------------------------------------------------------------


def _seconds(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds()


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _explain_segment(segment: SlaSegment) -> dict[str, Any]:
    return {
        "state": segment.state.value,
        "start": _instant(segment.start),
        "end": _instant(segment.end),
        "policy_version": segment.policy_version,
        "calendar_version": segment.calendar_version,
        "target_seconds": _seconds(segment.target),
        "elapsed_before_seconds": _seconds(segment.elapsed_before),
        "business_seconds": _seconds(segment.business_duration),
    }


def _due_summary(clock: SlaClock) -> str:
    if clock.due_at is None:
        return (
            f"paused with {clock.remaining} of business time left; the due time moves"
            " until the clock resumes"
        )
    return (
        f"{clock.due_remaining} of business time from {_instant(clock.due_from)}"
        f" on calendar {clock.due_calendar_version} ends at {_instant(clock.due_at)}"
    )


def _explain_clock(clock: SlaClock) -> dict[str, Any]:
    return {
        "clock": clock.kind.value,
        "state": clock.state.value,
        "status": clock.status.value,
        "policy_version": clock.policy_version,
        "calendar_version": clock.calendar_version,
        "target_seconds": _seconds(clock.target),
        "elapsed_seconds": _seconds(clock.elapsed),
        "remaining_seconds": _seconds(clock.remaining),
        "fraction_used": clock.fraction_used,
        "segments": [_explain_segment(segment) for segment in clock.segments],
        "due": {
            "from": _instant(clock.due_from),
            "remaining_seconds": _seconds(clock.due_remaining),
            "calendar_version": clock.due_calendar_version,
            "due_at": _instant(clock.due_at),
            "summary": _due_summary(clock),
        },
        "at_risk_at": _instant(clock.at_risk_at),
        "breached_at": _instant(clock.breached_at),
        "breach_recorded": clock.breach_recorded,
        "met_at": _instant(clock.met_at),
    }


def explain(snapshot: SlaSnapshot) -> dict[str, Any]:
    """A JSON-ready account of how each clock's due time and status came about."""
    return {
        "computed_at": _instant(snapshot.computed_at),
        "sla_status": snapshot.sla_status.value,
        "next_due_at": _instant(snapshot.next_due_at),
        "clocks": [_explain_clock(clock) for clock in snapshot.clocks],
    }

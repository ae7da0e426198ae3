"""SLA clocks replayed from the event log: boundaries to the second, pauses, DST, audits."""

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest

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
    BusinessCalendar,
    add_business_time,
    business_hours,
)
from app.rules.sla import (
    COMPLAINT_SLA_POLICY,
    DEFAULT_SLA_POLICY,
    DEFAULT_SLA_POLICY_SET,
    ClockState,
    SlaEvent,
    SlaPolicy,
    SlaPolicySet,
    SlaRule,
    SlaSnapshot,
    clock_event,
    complaint_follow_up_due,
    compute_clocks,
    due_breaches,
    explain,
    first_response_counts,
    first_response_event,
    needs_at_risk_warning,
    next_sweep_at,
    settle_clock,
    status_at,
    validate_reported_at,
)

FR, RES = SlaClockKind.first_response, SlaClockKind.resolution
K = SlaEventKind
T0 = datetime(2025, 6, 2, 8, tzinfo=UTC)  # Monday, 10:00 in Berlin


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def after(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def office(version: str, holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    return business_hours(
        name="berlin-office",
        version=version,
        time_zone="Europe/Berlin",
        windows=((time(9), time(12)), (time(13), time(18))),
        holidays=holidays,
    )


OFFICE = office("berlin-office-v1", holidays=(date(2025, 5, 1),))
OFFICE_V2 = office("berlin-office-v2", holidays=(date(2025, 5, 1), date(2025, 6, 9)))
OFFICE_POLICY = SlaPolicy(
    version="office-v1",
    name="Business hours: respond in 1 h, resolve in 8 h",
    first_response=timedelta(hours=1),
    resolution=timedelta(hours=8),
    calendar_name="berlin-office",
)
URGENT_POLICY = SlaPolicy(
    version="urgent-v1",
    name="Urgent",
    first_response=timedelta(minutes=15),
    resolution=timedelta(hours=4),
)
POLICIES = {
    policy.version: policy
    for policy in (DEFAULT_SLA_POLICY, COMPLAINT_SLA_POLICY, OFFICE_POLICY, URGENT_POLICY)
}
CALENDARS = {calendar.version: calendar for calendar in (TWENTY_FOUR_SEVEN, OFFICE, OFFICE_V2)}


def event(
    kind: SlaEventKind,
    at: datetime,
    policy: SlaPolicy = DEFAULT_SLA_POLICY,
    calendar: BusinessCalendar = TWENTY_FOUR_SEVEN,
    clock: SlaClockKind | None = None,
) -> SlaEvent:
    return clock_event(kind, at, policy=policy, calendar=calendar, clock=clock)


def snapshot(events: list[SlaEvent], now: datetime) -> SlaSnapshot:
    return compute_clocks(events, POLICIES, CALENDARS, now)


def respond(events: list[SlaEvent], at: datetime) -> list[SlaEvent]:
    stop = event(K.first_response, at)
    return [*events, *settle_clock(events, stop, POLICIES, CALENDARS)]


def resolve(events: list[SlaEvent], at: datetime) -> list[SlaEvent]:
    stop = event(K.resolved, at)
    return [*events, *settle_clock(events, stop, POLICIES, CALENDARS)]


STARTED = [event(K.started, T0)]


# --- first response and resolution boundaries ----------------------------------------------


def test_first_response_is_not_breached_at_59_59_and_is_at_one_hour() -> None:
    almost = snapshot(STARTED, after(minutes=59, seconds=59)).first_response
    assert almost.status is SlaStatus.at_risk
    assert almost.breached_at is None
    due = snapshot(STARTED, after(hours=1)).first_response
    assert due.status is SlaStatus.breached
    assert due.breached_at == after(hours=1)


def test_breached_at_is_the_due_instant_not_when_it_was_noticed() -> None:
    assert snapshot(STARTED, after(days=3)).first_response.breached_at == after(hours=1)


def test_response_at_exactly_the_due_instant_meets_the_clock() -> None:
    events = respond(STARTED, after(hours=1))
    clock = snapshot(events, after(hours=2)).first_response
    assert (clock.status, clock.met_at, clock.state) == (
        SlaStatus.met,
        after(hours=1),
        ClockState.stopped,
    )
    assert [e.kind for e in events[1:]] == [K.first_response, K.met]


def test_response_one_second_late_is_breached_at_the_due_instant() -> None:
    events = respond(STARTED, after(hours=1, seconds=1))
    clock = snapshot(events, after(hours=2)).first_response
    assert (clock.status, clock.breached_at, clock.met_at) == (
        SlaStatus.breached,
        after(hours=1),
        None,
    )
    assert [(e.kind, e.at) for e in events[1:]] == [
        (K.first_response, after(hours=1, seconds=1)),
        (K.breached, after(hours=1)),
    ]


def test_resolution_is_due_48_hours_after_opening() -> None:
    assert snapshot(STARTED, T0).resolution.due_at == after(hours=48)
    almost = snapshot(STARTED, after(hours=47, minutes=59, seconds=59)).resolution
    assert almost.status is SlaStatus.at_risk
    assert snapshot(STARTED, after(hours=48)).resolution.status is SlaStatus.breached


def test_resolved_late_is_breached_not_met() -> None:
    events = resolve(respond(STARTED, after(minutes=5)), after(hours=49))
    clock = snapshot(events, after(hours=50)).resolution
    assert (clock.status, clock.breached_at, clock.met_at) == (
        SlaStatus.breached,
        after(hours=48),
        None,
    )
    assert K.met not in [e.kind for e in events if e.clock is RES]


def test_complaint_targets_30_minutes_and_24_hours_and_a_72_hour_follow_up() -> None:
    policy = DEFAULT_SLA_POLICY_SET.policy_for(TicketType.complaint, None, TicketPriority.normal)
    assert policy is COMPLAINT_SLA_POLICY
    events = [event(K.started, T0, policy)]
    assert snapshot(events, after(minutes=29, seconds=59)).first_response.status is not (
        SlaStatus.breached
    )
    assert snapshot(events, after(minutes=30)).first_response.breached_at == after(minutes=30)
    assert snapshot(events, T0).resolution.due_at == after(hours=24)
    assert complaint_follow_up_due(after(hours=20), policy) == after(hours=92)
    assert complaint_follow_up_due(after(hours=20), DEFAULT_SLA_POLICY) is None


# --- at risk -----------------------------------------------------------------------------------


def test_at_risk_starts_at_75_percent_not_at_74_99() -> None:
    policy = SlaPolicy(
        version="ten-thousand-seconds",
        name="A target that makes 74.99 % a whole second",
        first_response=timedelta(seconds=10_000),
        resolution=timedelta(hours=48),
    )
    events = [event(K.started, T0, policy)]
    policies = {**POLICIES, policy.version: policy}
    before = compute_clocks(events, policies, CALENDARS, after(seconds=7_499)).first_response
    assert (before.status, before.fraction_used) == (SlaStatus.on_track, 0.7499)
    at = compute_clocks(events, policies, CALENDARS, after(seconds=7_500)).first_response
    assert (at.status, at.at_risk_at) == (SlaStatus.at_risk, after(seconds=7_500))


def test_at_risk_warning_is_given_once_per_clock() -> None:
    assert (
        needs_at_risk_warning(snapshot(STARTED, after(minutes=44)), STARTED, after(minutes=44))
        == []
    )
    now = after(minutes=50)
    warnings = needs_at_risk_warning(snapshot(STARTED, now), STARTED, now)
    assert [(w.kind, w.clock, w.at) for w in warnings] == [(K.at_risk, FR, after(minutes=45))]
    events = [*STARTED, *warnings]
    assert needs_at_risk_warning(snapshot(events, now), events, now) == []
    assert snapshot(events, now).first_response.at_risk_recorded


# --- pauses --------------------------------------------------------------------------------


def test_waiting_on_the_customer_pauses_resolution_but_not_first_response() -> None:
    events = [*STARTED, event(K.paused, after(minutes=10))]
    now = after(hours=2)
    clocks = snapshot(events, now)
    assert clocks.first_response.status is SlaStatus.breached
    assert clocks.resolution.state is ClockState.paused
    assert clocks.resolution.elapsed == timedelta(minutes=10)
    assert clocks.resolution.due_at is None  # moving while paused
    assert clocks.next_due_at == after(hours=1)


def test_a_pause_moves_the_due_time_by_the_paused_span() -> None:
    events = [*STARTED, event(K.paused, after(hours=1)), event(K.resumed, after(hours=4))]
    clock = snapshot(events, after(hours=5)).resolution
    assert clock.due_at == after(hours=51)
    assert [(s.start, s.end, s.business_duration) for s in clock.paused_spans] == [
        (after(hours=1), after(hours=4), timedelta(hours=3))
    ]


def test_pause_across_the_lunch_break_moves_due_by_business_time_only() -> None:
    monday_9 = utc(2025, 6, 2, 7)
    events = [
        event(K.started, monday_9, OFFICE_POLICY, OFFICE),
        event(K.paused, utc(2025, 6, 2, 9, 30), OFFICE_POLICY, OFFICE),  # 11:30 local
        event(K.resumed, utc(2025, 6, 2, 12), OFFICE_POLICY, OFFICE),  # 14:00 local
    ]
    clock = snapshot(events, utc(2025, 6, 2, 13)).resolution
    assert clock.paused_spans[0].business_duration == timedelta(hours=1, minutes=30)
    assert clock.due_at == utc(2025, 6, 3, 8, 30)  # Tuesday 10:30, not Monday 18:00


def test_pause_spanning_a_weekend_moves_due_by_the_business_hours_it_covered() -> None:
    friday_16 = utc(2025, 6, 6, 14)
    unpaused = [event(K.started, friday_16, OFFICE_POLICY, OFFICE)]
    assert snapshot(unpaused, friday_16).resolution.due_at == utc(2025, 6, 9, 14)
    events = [
        *unpaused,
        event(K.paused, utc(2025, 6, 6, 15), OFFICE_POLICY, OFFICE),  # Friday 17:00
        event(K.resumed, utc(2025, 6, 9, 8), OFFICE_POLICY, OFFICE),  # Monday 10:00
    ]
    clock = snapshot(events, utc(2025, 6, 9, 9)).resolution
    assert clock.paused_spans[0].business_duration == timedelta(hours=2)
    assert clock.due_at == utc(2025, 6, 9, 16)  # Monday 18:00, two business hours later


def test_a_pause_after_closing_time_does_not_postpone_a_breach_at_closing_time() -> None:
    monday_9 = utc(2025, 6, 2, 7)
    events = [
        event(K.started, monday_9, OFFICE_POLICY, OFFICE),
        event(K.paused, utc(2025, 6, 2, 17), OFFICE_POLICY, OFFICE),  # 19:00, after closing
    ]
    clock = snapshot(events, utc(2025, 6, 3, 12)).resolution
    assert (clock.state, clock.status) == (ClockState.paused, SlaStatus.breached)
    assert clock.breached_at == utc(2025, 6, 2, 16)  # Monday 18:00, closing time


def test_resolving_while_paused_stops_the_clock_as_met() -> None:
    events = [*respond(STARTED, after(minutes=5)), event(K.paused, after(hours=2))]
    events = resolve(events, after(hours=60))
    clock = snapshot(events, after(hours=61)).resolution
    assert (clock.status, clock.elapsed, clock.met_at) == (
        SlaStatus.met,
        timedelta(hours=2),
        after(hours=60),
    )


# --- calendars, holidays and daylight saving time ------------------------------------------


def test_holiday_is_skipped_when_computing_the_due_time() -> None:
    wednesday_14 = utc(2025, 4, 30, 12)
    clocks = snapshot([event(K.started, wednesday_14, OFFICE_POLICY, OFFICE)], wednesday_14)
    assert clocks.resolution.due_at == utc(2025, 5, 2, 12)  # Friday 14:00; 1 May is off


def test_dst_spring_forward_with_business_hours() -> None:
    friday_14_cet = utc(2025, 3, 28, 13)
    events = [event(K.started, friday_14_cet, OFFICE_POLICY, OFFICE)]
    monday_14_cest = utc(2025, 3, 31, 12)
    assert snapshot(events, friday_14_cet).resolution.due_at == monday_14_cest
    before = snapshot(events, monday_14_cest - timedelta(seconds=1)).resolution
    assert before.status is SlaStatus.at_risk
    assert snapshot(events, monday_14_cest).resolution.status is SlaStatus.breached


def test_dst_fall_back_with_business_hours() -> None:
    friday_14_cest = utc(2025, 10, 24, 12)
    events = [event(K.started, friday_14_cest, OFFICE_POLICY, OFFICE)]
    monday_14_cet = utc(2025, 10, 27, 13)
    assert snapshot(events, friday_14_cest).resolution.due_at == monday_14_cet
    before = snapshot(events, monday_14_cet - timedelta(seconds=1)).resolution
    assert before.status is SlaStatus.at_risk
    assert snapshot(events, monday_14_cet).resolution.status is SlaStatus.breached


def test_a_new_calendar_version_never_rewrites_a_past_breach() -> None:
    whit_monday_9 = utc(2025, 6, 9, 7)  # a holiday only in OFFICE_V2, published later
    events = [event(K.started, whit_monday_9, OFFICE_POLICY, OFFICE)]
    events += due_breaches(snapshot(events, utc(2025, 6, 9, 17)), utc(2025, 6, 9, 17))
    assert [(e.kind, e.at) for e in events[1:]] == [
        (K.breached, utc(2025, 6, 9, 8)),  # first response, Monday 10:00
        (K.breached, utc(2025, 6, 9, 16)),  # resolution, Monday 18:00
    ]
    events += [
        event(K.paused, utc(2025, 6, 10, 8), OFFICE_POLICY, OFFICE_V2),
        event(K.resumed, utc(2025, 6, 10, 9), OFFICE_POLICY, OFFICE_V2),
    ]
    clock = snapshot(events, utc(2025, 6, 11, 12)).resolution
    assert (clock.status, clock.breached_at) == (SlaStatus.breached, utc(2025, 6, 9, 16))
    assert clock.segments[0].calendar_version == OFFICE.version
    assert clock.segments[-1].calendar_version == OFFICE_V2.version
    # Counted on the new calendar from the start, the ticket would not have been due yet.
    assert clock.breached_at is not None
    assert add_business_time(whit_monday_9, timedelta(hours=8), OFFICE_V2) > clock.breached_at


def test_a_recorded_breach_is_authoritative() -> None:
    recorded = event(K.breached, after(minutes=59), clock=FR)  # e.g. an older rule's due time
    clocks = snapshot([*STARTED, recorded], after(minutes=59, seconds=30))
    assert (clocks.first_response.status, clocks.first_response.breached_at) == (
        SlaStatus.breached,
        after(minutes=59),
    )
    assert due_breaches(snapshot([*STARTED, recorded], after(hours=2)), after(hours=2)) == []


# --- reopening and retargeting -------------------------------------------------------------


def test_reopening_continues_the_resolution_clock_where_it_stopped() -> None:
    events = resolve(respond(STARTED, after(minutes=10)), after(hours=10))
    assert snapshot(events, after(hours=20)).resolution.status is SlaStatus.met
    events.append(event(K.reopened, after(hours=30)))
    clock = snapshot(events, after(hours=40)).resolution
    assert (clock.state, clock.status, clock.met_at) == (
        ClockState.running,
        SlaStatus.on_track,
        None,
    )
    assert clock.elapsed == timedelta(hours=20)
    assert clock.due_at == after(hours=68)
    assert snapshot(events, after(hours=40)).first_response.status is SlaStatus.met


def test_resolving_a_reopened_ticket_late_is_a_breach() -> None:
    events = resolve(respond(STARTED, after(minutes=10)), after(hours=10))
    events = resolve([*events, event(K.reopened, after(hours=30))], after(hours=70))
    clock = snapshot(events, after(hours=71)).resolution
    assert (clock.status, clock.breached_at) == (SlaStatus.breached, after(hours=68))
    assert (events[-1].kind, events[-1].at) == (K.breached, after(hours=68))


def test_retargeting_keeps_elapsed_time() -> None:
    events = respond(STARTED, after(minutes=10))
    events.append(event(K.retargeted, after(hours=10), URGENT_POLICY))
    clocks = snapshot(events, after(hours=11))
    assert clocks.resolution.policy_version == URGENT_POLICY.version
    assert clocks.resolution.target == timedelta(hours=4)
    assert clocks.resolution.elapsed == timedelta(hours=11)
    # 4 h target, 10 h already used at the retarget: overdue from the retarget on.
    assert clocks.resolution.breached_at == after(hours=10)
    # The answered first-response clock keeps its settled outcome and target.
    assert (clocks.first_response.status, clocks.first_response.target) == (
        SlaStatus.met,
        timedelta(hours=1),
    )


def test_retargeting_to_a_looser_policy_moves_the_due_time_out() -> None:
    events = [
        event(K.started, T0, URGENT_POLICY),
        event(K.retargeted, after(hours=1), DEFAULT_SLA_POLICY, clock=RES),
    ]
    clock = snapshot(events, after(hours=2)).resolution
    assert (clock.due_at, clock.status) == (after(hours=48), SlaStatus.on_track)


def test_a_breach_before_a_retarget_stands_even_if_not_yet_recorded() -> None:
    events = [
        event(K.started, T0, URGENT_POLICY),
        event(K.retargeted, after(hours=5), DEFAULT_SLA_POLICY, clock=RES),
    ]
    clock = snapshot(events, after(hours=6)).resolution
    assert (clock.status, clock.breached_at) == (SlaStatus.breached, after(hours=4))


# --- reported_at in the past or the future -------------------------------------------------


def test_a_past_reported_at_starts_the_clocks_there() -> None:
    now = utc(2025, 6, 2, 12)
    reported_at = now - timedelta(hours=3)
    assert validate_reported_at(reported_at, now) == []
    clocks = snapshot([event(K.started, reported_at)], now)
    assert clocks.first_response.breached_at == reported_at + timedelta(hours=1)
    assert clocks.resolution.due_at == reported_at + timedelta(hours=48)
    assert [(e.clock, e.at) for e in due_breaches(clocks, now)] == [
        (FR, reported_at + timedelta(hours=1))
    ]


def test_a_reported_at_is_refused_once_older_than_the_policy_allows() -> None:
    now = utc(2025, 6, 2, 12)
    assert DEFAULT_SLA_POLICY_SET.max_reported_age == timedelta(days=90)
    assert validate_reported_at(now - timedelta(days=90), now) == []
    [check] = validate_reported_at(now - timedelta(days=90, microseconds=1), now)
    assert (check.code, check.field) == ("reported_at_too_old", "reported_at")
    [ancient] = validate_reported_at(datetime(1, 1, 1, tzinfo=UTC), now)
    assert ancient.code == "reported_at_too_old"
    assert validate_reported_at(now - timedelta(days=8), now, timedelta(days=7)) != []


def test_a_future_reported_at_is_invalid() -> None:
    now = utc(2025, 6, 2, 12)
    assert validate_reported_at(now, now) == []
    [check] = validate_reported_at(now + timedelta(seconds=1), now)
    assert (check.code, check.field) == ("reported_at_in_future", "reported_at")
    [naive] = validate_reported_at(datetime(2025, 6, 2, 11), now)
    assert naive.code == "reported_at_not_aware"


# --- who may answer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_public", "by_agent", "counts"),
    [(True, True, True), (False, True, False), (True, False, False), (False, False, False)],
)
def test_only_a_public_agent_response_counts(is_public: bool, by_agent: bool, counts: bool) -> None:
    assert first_response_counts(is_public, by_agent) is counts


def test_a_response_that_does_not_count_is_refused() -> None:
    with pytest.raises(ValueError, match="public response by an agent"):
        first_response_event(
            T0,
            is_public=False,
            by_agent=True,
            policy=DEFAULT_SLA_POLICY,
            calendar=TWENTY_FOUR_SEVEN,
        )
    counted = first_response_event(
        T0, is_public=True, by_agent=True, policy=DEFAULT_SLA_POLICY, calendar=TWENTY_FOUR_SEVEN
    )
    assert (counted.kind, counted.clock) == (K.first_response, FR)


# --- the sweeper's view ----------------------------------------------------------------------


def test_due_breaches_are_reported_once_dated_at_the_due_instant() -> None:
    now = after(hours=3)
    breaches = due_breaches(snapshot(STARTED, now), now)
    assert [(b.kind, b.clock, b.at) for b in breaches] == [(K.breached, FR, after(hours=1))]
    events = [*STARTED, *breaches]
    later = snapshot(events, after(hours=4))
    assert later.first_response.breach_recorded
    assert due_breaches(later, after(hours=4)) == []


def test_nothing_is_due_before_the_due_instant() -> None:
    now = after(minutes=59, seconds=59)
    assert due_breaches(snapshot(STARTED, now), now) == []


def test_overall_status_is_the_worst_clock_and_next_due_is_the_earliest_running() -> None:
    opened = snapshot(STARTED, after(minutes=1))
    assert (opened.sla_status, opened.next_due_at) == (SlaStatus.on_track, after(hours=1))
    answered = snapshot(respond(STARTED, after(minutes=5)), after(minutes=6))
    assert (answered.sla_status, answered.next_due_at) == (SlaStatus.on_track, after(hours=48))
    done = snapshot(resolve(respond(STARTED, after(minutes=5)), after(hours=1)), after(hours=2))
    assert (done.sla_status, done.next_due_at) == (SlaStatus.met, None)
    late_answer = resolve(respond(STARTED, after(hours=2)), after(hours=3))
    assert snapshot(late_answer, after(hours=4)).sla_status is SlaStatus.breached


def sweep_at(events: list[SlaEvent], now: datetime) -> datetime | None:
    """What a sweep at `now` records, then when the next one has something to do."""
    clocks = snapshot(events, now)
    reached = [*due_breaches(clocks, now), *needs_at_risk_warning(clocks, events, now)]
    return next_sweep_at(clocks, reached)


def test_the_next_sweep_is_due_at_the_next_unrecorded_warning_or_breach() -> None:
    assert sweep_at(STARTED, T0) == after(minutes=45)  # the first response turns at risk
    # Warned at 45 min: next, its breach at 1 h.
    assert sweep_at(STARTED, after(minutes=45)) == after(hours=1)
    # Breached on record: nothing for that clock again, the resolution warning is next.
    assert sweep_at(STARTED, after(hours=1)) == after(hours=36)
    warned = [*STARTED, event(K.at_risk, after(minutes=45), clock=FR)]
    assert sweep_at(warned, after(minutes=50)) == after(hours=1)
    breached = [*warned, event(K.breached, after(hours=1), clock=FR)]
    assert sweep_at(breached, after(hours=2)) == after(hours=36)
    # Answered and waiting on the customer: no clock runs, nothing is pending.
    waiting = [*respond(STARTED, after(minutes=5)), event(K.paused, after(minutes=6))]
    assert sweep_at(waiting, after(minutes=6)) is None
    assert (
        sweep_at(resolve(respond(STARTED, after(minutes=5)), after(hours=1)), after(hours=1))
        is None
    )


def test_a_business_hours_clock_is_swept_at_its_real_at_risk_instant() -> None:
    # Opened Friday 17:30 in Berlin, half an hour before closing: of the 45 business
    # minutes to at risk, 30 pass on Friday and 15 on Monday, so its warning falls due on
    # Monday 09:15, not 15 minutes before its due time in real time.
    friday_17_30 = utc(2025, 6, 6, 15, 30)
    events = [event(K.started, friday_17_30, OFFICE_POLICY, OFFICE)]
    monday_9_15 = utc(2025, 6, 9, 7, 15)
    clocks = snapshot(events, friday_17_30)
    assert (clocks.at_risk_at, clocks.next_due_at) == (monday_9_15, utc(2025, 6, 9, 7, 30))
    assert sweep_at(events, friday_17_30) == monday_9_15


@pytest.mark.parametrize(
    ("stored", "now", "read"),
    [
        (SlaStatus.on_track, after(minutes=44, seconds=59), SlaStatus.on_track),
        (SlaStatus.on_track, after(minutes=45), SlaStatus.at_risk),
        (SlaStatus.at_risk, after(minutes=59, seconds=59), SlaStatus.at_risk),
        (SlaStatus.on_track, after(hours=1), SlaStatus.breached),
        (SlaStatus.at_risk, after(hours=1), SlaStatus.breached),
        (SlaStatus.breached, after(minutes=1), SlaStatus.breached),
    ],
)
def test_a_stored_status_reads_at_risk_then_breached_as_its_instants_pass(
    stored: SlaStatus, now: datetime, read: SlaStatus
) -> None:
    instants = {"at_risk_at": after(minutes=45), "next_due_at": after(hours=1)}
    assert status_at(stored, instants, now) is read


def test_a_stored_status_with_nothing_running_stays_as_stored() -> None:
    nothing = {"at_risk_at": None, "next_due_at": None}
    for stored in SlaStatus:
        assert status_at(stored, nothing, after(days=30)) is stored


def test_the_stored_instants_read_as_the_replayed_status_at_every_moment() -> None:
    written = snapshot(STARTED, T0)
    instants = {"at_risk_at": written.at_risk_at, "next_due_at": written.next_due_at}
    for minutes in (0, 44, 45, 59, 60, 61, 60 * 40):
        now = after(minutes=minutes)
        assert status_at(written.sla_status, instants, now) is snapshot(STARTED, now).sla_status


# --- recomputation and audit -----------------------------------------------------------------


def busy_log() -> list[SlaEvent]:
    events = respond(STARTED, after(minutes=20))
    events += [event(K.paused, after(hours=3)), event(K.resumed, after(hours=9))]
    events.append(event(K.retargeted, after(hours=10), URGENT_POLICY))
    return resolve(events, after(hours=30))


def test_recomputing_from_the_log_gives_the_same_answer() -> None:
    events, now = busy_log(), after(days=5)
    first = snapshot(events, now)
    assert snapshot(events, now) == first
    shuffled = events.copy()
    random.Random(7).shuffle(shuffled)
    assert snapshot(sorted(shuffled, key=lambda e: e.at), now) == first
    stored = [SlaEvent.model_validate(json.loads(e.model_dump_json())) for e in events]
    assert snapshot(stored, now) == first
    assert snapshot(events, after(days=50)).resolution.breached_at == first.resolution.breached_at


def test_events_after_now_are_ignored_so_past_states_can_be_audited() -> None:
    events = busy_log()
    past = snapshot(events, after(hours=5)).resolution
    assert (past.state, past.elapsed) == (ClockState.paused, timedelta(hours=3))


def test_a_table_row_validates_as_an_event() -> None:
    row = SimpleNamespace(
        kind="paused",
        at=T0,
        clock=None,
        policy_version="default-v1",
        calendar_version="24x7-v1",
        payload={},
    )
    assert SlaEvent.model_validate(row).clock is RES


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "paused", "clock": "first_response"}, "resolution clock only"),
        ({"kind": "breached"}, "must name its clock"),
        ({"kind": "started", "at": "2025-06-02T08:00:00"}, "timezone-aware"),
    ],
)
def test_malformed_events_are_refused(payload: dict[str, str], message: str) -> None:
    base = {
        "at": "2025-06-02T08:00:00Z",
        "policy_version": "default-v1",
        "calendar_version": "24x7-v1",
    }
    with pytest.raises(ValueError, match=message):
        SlaEvent.model_validate({**base, **payload})


def test_a_log_without_a_start_or_with_unknown_versions_is_refused() -> None:
    with pytest.raises(ValueError, match="no started event"):
        snapshot([], T0)
    stranger = SlaEvent(kind=K.started, at=T0, policy_version="gone", calendar_version="24x7-v1")
    with pytest.raises(ValueError, match="unknown SLA policy version 'gone'"):
        snapshot([stranger], T0)


def test_an_event_must_use_the_calendar_its_policy_names() -> None:
    with pytest.raises(ValueError, match="runs on calendar"):
        event(K.started, T0, OFFICE_POLICY, TWENTY_FOUR_SEVEN)


def test_explain_lists_segments_and_the_due_computation() -> None:
    events = [*STARTED, event(K.paused, after(hours=1)), event(K.resumed, after(hours=4))]
    report = explain(snapshot(events, after(hours=5)))
    json.dumps(report)  # JSON-ready as it is
    resolution = report["clocks"][1]
    assert resolution["target_seconds"] == 48 * 3600
    assert [(s["state"], s["business_seconds"]) for s in resolution["segments"]] == [
        ("running", 3600),
        ("paused", 3 * 3600),
        ("running", 3600),
    ]
    assert resolution["segments"][-1]["end"] is None
    assert resolution["due"] == {
        "from": "2025-06-02T12:00:00Z",
        "remaining_seconds": 47 * 3600,
        "calendar_version": "24x7-v1",
        "due_at": "2025-06-04T11:00:00Z",
        "summary": "1 day, 23:00:00 of business time from 2025-06-02T12:00:00Z"
        " on calendar 24x7-v1 ends at 2025-06-04T11:00:00Z",
    }


# --- policies as data ------------------------------------------------------------------------


def test_policies_are_json_serialisable_data_with_versions() -> None:
    dumped = DEFAULT_SLA_POLICY_SET.model_dump(mode="json")
    assert dumped["default"]["version"] == "default-v1"
    assert dumped["default"]["first_response"] == "PT1H"
    assert dumped["default"]["at_risk_threshold"] == "0.75"
    assert SlaPolicySet.model_validate(dumped) == DEFAULT_SLA_POLICY_SET


def named(version: str) -> SlaPolicy:
    return SlaPolicy(
        version=version, name=version, first_response=timedelta(hours=1), resolution=timedelta(1)
    )


PRECEDENCE = SlaPolicySet(
    version="precedence-test",
    default=named("default"),
    rules=(
        SlaRule(priority=TicketPriority.urgent, policy=named("urgent")),
        SlaRule(customer_tier=CustomerTier.strategic, policy=named("strategic")),
        SlaRule(ticket_type=TicketType.complaint, policy=named("complaint")),
        SlaRule(
            ticket_type=TicketType.complaint,
            customer_tier=CustomerTier.strategic,
            policy=named("strategic-complaint"),
        ),
    ),
)


@pytest.mark.parametrize(
    ("ticket_type", "tier", "priority", "expected"),
    [
        (
            TicketType.complaint,
            CustomerTier.strategic,
            TicketPriority.urgent,
            "strategic-complaint",
        ),
        (TicketType.software_bug, CustomerTier.strategic, TicketPriority.urgent, "strategic"),
        (TicketType.complaint, CustomerTier.growth, TicketPriority.urgent, "complaint"),
        (TicketType.software_bug, CustomerTier.growth, TicketPriority.urgent, "urgent"),
        (TicketType.software_bug, None, TicketPriority.normal, "default"),
    ],
)
def test_the_most_specific_rule_wins(
    ticket_type: TicketType,
    tier: CustomerTier | None,
    priority: TicketPriority,
    expected: str,
) -> None:
    assert PRECEDENCE.policy_for(ticket_type, tier, priority).version == expected


def test_ambiguous_or_empty_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="identical criteria"):
        SlaPolicySet(
            version="dup",
            default=named("default"),
            rules=(
                SlaRule(priority=TicketPriority.high, policy=named("a")),
                SlaRule(priority=TicketPriority.high, policy=named("b")),
            ),
        )
    with pytest.raises(ValueError, match="without criteria"):
        SlaRule(policy=named("everything"))

"""Business-hours arithmetic: window edges, lunch breaks, weekends, holidays and DST."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.calendar import (
    TWENTY_FOUR_SEVEN,
    BusinessCalendar,
    Weekday,
    WorkingWindow,
    add_business_time,
    business_hours,
    business_time_between,
    open_intervals,
)

BERLIN_OFFICE = business_hours(
    name="berlin-office",
    version="berlin-office-v1",
    time_zone="Europe/Berlin",
    windows=((time(9), time(12)), (time(13), time(18))),
    holidays=(date(2025, 5, 1),),
)
# Open early on Sundays, so a window straddles the 02:00-03:00 DST change itself.
BERLIN_SUNDAY_NIGHT = BusinessCalendar(
    name="berlin-sunday-night",
    version="berlin-sunday-night-v1",
    time_zone="Europe/Berlin",
    windows={Weekday.sunday: (WorkingWindow(start=time(1), end=time(4)),)},
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_twenty_four_seven_counts_real_elapsed_time_across_dst() -> None:
    # Berlin's spring-forward day has 23 hours; a 24x7 calendar must not care about zones.
    start = utc(2025, 3, 29, 23)  # 00:00 local, 30 March
    assert add_business_time(start, hours(24), TWENTY_FOUR_SEVEN) == utc(2025, 3, 30, 23)
    assert business_time_between(start, utc(2025, 3, 30, 22), TWENTY_FOUR_SEVEN) == hours(23)


def test_time_inside_one_window_is_plain_elapsed_time() -> None:
    start = utc(2025, 6, 2, 7)  # Monday 09:00 CEST
    assert add_business_time(start, hours(2), BERLIN_OFFICE) == utc(2025, 6, 2, 9)


def test_lunch_break_does_not_count() -> None:
    start = utc(2025, 6, 2, 9, 30)  # Monday 11:30 CEST
    assert add_business_time(start, hours(1), BERLIN_OFFICE) == utc(2025, 6, 2, 11, 30)
    assert business_time_between(start, utc(2025, 6, 2, 11, 30), BERLIN_OFFICE) == hours(1)


def test_time_running_out_at_closing_lands_on_closing_not_next_morning() -> None:
    start = utc(2025, 6, 2, 15)  # Monday 17:00 CEST, one hour before closing
    assert add_business_time(start, hours(1), BERLIN_OFFICE) == utc(2025, 6, 2, 16)


def test_start_outside_hours_counts_from_next_opening() -> None:
    friday_evening = utc(2025, 6, 6, 19)  # 21:00 CEST, Friday
    assert add_business_time(friday_evening, hours(1), BERLIN_OFFICE) == utc(2025, 6, 9, 8)


def test_weekend_does_not_count() -> None:
    friday_17 = utc(2025, 6, 6, 15)
    monday_10 = utc(2025, 6, 9, 8)
    assert business_time_between(friday_17, monday_10, BERLIN_OFFICE) == hours(2)
    assert add_business_time(friday_17, hours(2), BERLIN_OFFICE) == monday_10


def test_holiday_is_skipped() -> None:
    wednesday_17 = utc(2025, 4, 30, 15)  # 1 May, Thursday, is a holiday
    friday_10 = utc(2025, 5, 2, 8)
    assert add_business_time(wednesday_17, hours(2), BERLIN_OFFICE) == friday_10
    assert business_time_between(wednesday_17, friday_10, BERLIN_OFFICE) == hours(2)


def test_spring_forward_over_a_weekend_keeps_local_office_hours() -> None:
    friday_16_cet = utc(2025, 3, 28, 15)
    monday_10_cest = utc(2025, 3, 31, 8)  # one hour less in UTC terms than the week before
    assert add_business_time(friday_16_cet, hours(3), BERLIN_OFFICE) == monday_10_cest
    assert business_time_between(friday_16_cet, monday_10_cest, BERLIN_OFFICE) == hours(3)


def test_fall_back_over_a_weekend_keeps_local_office_hours() -> None:
    friday_16_cest = utc(2025, 10, 24, 14)
    monday_10_cet = utc(2025, 10, 27, 9)
    assert add_business_time(friday_16_cest, hours(3), BERLIN_OFFICE) == monday_10_cet
    assert business_time_between(friday_16_cest, monday_10_cet, BERLIN_OFFICE) == hours(3)


def test_window_across_spring_forward_is_an_hour_shorter() -> None:
    # 01:00 CET to 04:00 CEST is two real hours.
    day = (utc(2025, 3, 29, 12), utc(2025, 3, 31))
    assert business_time_between(*day, BERLIN_SUNDAY_NIGHT) == hours(2)
    assert add_business_time(day[0], hours(2), BERLIN_SUNDAY_NIGHT) == utc(2025, 3, 30, 2)


def test_window_across_fall_back_is_an_hour_longer() -> None:
    # 01:00 CEST to 04:00 CET is four real hours.
    day = (utc(2025, 10, 25, 12), utc(2025, 10, 27))
    assert business_time_between(*day, BERLIN_SUNDAY_NIGHT) == hours(4)
    assert add_business_time(day[0], hours(4), BERLIN_SUNDAY_NIGHT) == utc(2025, 10, 26, 3)


def test_add_and_between_are_inverse() -> None:
    start = utc(2025, 4, 29, 10, 17) + timedelta(seconds=3)
    for duration in (hours(0.5), hours(7), hours(26), hours(61.25)):
        end = add_business_time(start, duration, BERLIN_OFFICE)
        assert business_time_between(start, end, BERLIN_OFFICE) == duration


def test_between_is_zero_when_end_is_not_after_start() -> None:
    moment = utc(2025, 6, 2, 8)
    assert business_time_between(moment, moment, BERLIN_OFFICE) == timedelta(0)
    assert business_time_between(moment, moment - hours(1), BERLIN_OFFICE) == timedelta(0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2025, 6, 2, 8), hours(1), BERLIN_OFFICE)


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(utc(2025, 6, 2, 8), -hours(1), BERLIN_OFFICE)


def test_midnight_end_means_whole_day() -> None:
    all_day = business_hours(
        name="all-day",
        version="all-day-v1",
        time_zone="Europe/Berlin",
        windows=((time(0), time(0)),),
        days=(Weekday.saturday,),
    )
    saturday = (utc(2025, 6, 6, 12), utc(2025, 6, 8, 12))
    assert business_time_between(*saturday, all_day) == hours(24)


def test_calendar_round_trips_through_json() -> None:
    dumped = BERLIN_OFFICE.model_dump(mode="json")
    assert dumped["version"] == "berlin-office-v1"
    assert dumped["holidays"] == ["2025-05-01"]
    assert BusinessCalendar.model_validate(dumped) == BERLIN_OFFICE


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown IANA time zone"),
        ({"windows": {}}, "at least one working window"),
        (
            {"windows": {Weekday.monday: (WorkingWindow(start=time(9), end=time(12)),) * 2}},
            "overlapping",
        ),
        ({"always_open": True}, "always-open"),
    ],
)
def test_unsound_calendars_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.model_validate({**BERLIN_OFFICE.model_dump(), **changes})


def test_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        WorkingWindow(start=time(12), end=time(9))


# --- wall times the clock skips or repeats -------------------------------------------------


def sunday_windows(zone: str, *windows: tuple[time, time]) -> BusinessCalendar:
    return business_hours(
        name=f"sunday-{zone}",
        version=f"sunday-{zone}-v1",
        time_zone=zone,
        windows=windows,
        days=(Weekday.sunday,),
    )


def intervals_until(calendar: BusinessCalendar, since: datetime, until: datetime) -> list:
    found = []
    for opens, closes in open_intervals(calendar, since):
        if opens >= until:
            return found
        found.append((opens, closes))
    raise AssertionError("unreachable")  # pragma: no cover


# Berlin springs forward on 30 March 2025: 02:00 CET jumps to 03:00 CEST (01:00Z).
BERLIN_ACROSS_THE_GAP = sunday_windows("Europe/Berlin", (time(0), time(2, 30)), (time(3), time(8)))


def test_a_window_ending_in_the_spring_forward_gap_ends_when_the_gap_ends() -> None:
    night = (utc(2025, 3, 29, 23), utc(2025, 3, 30, 6))  # 00:00 CET to 08:00 CEST
    assert intervals_until(BERLIN_ACROSS_THE_GAP, *night) == [
        (utc(2025, 3, 29, 23), utc(2025, 3, 30, 1)),
        (utc(2025, 3, 30, 1), utc(2025, 3, 30, 6)),
    ]
    assert business_time_between(*night, BERLIN_ACROSS_THE_GAP) == hours(7)
    assert add_business_time(night[0], hours(6), BERLIN_ACROSS_THE_GAP) == utc(2025, 3, 30, 5)


def test_a_window_opening_in_the_gap_opens_when_the_gap_ends() -> None:
    calendar = sunday_windows("Europe/Berlin", (time(2, 30), time(4)))
    since = utc(2025, 3, 29, 12)
    assert intervals_until(calendar, since, utc(2025, 3, 31)) == [
        (utc(2025, 3, 30, 1), utc(2025, 3, 30, 2))
    ]


def test_a_window_inside_the_gap_has_no_working_time() -> None:
    swallowed = sunday_windows("Europe/Berlin", (time(2, 10), time(2, 40)), (time(9), time(10)))
    since = utc(2025, 3, 29, 12)
    assert add_business_time(since, hours(1), swallowed) == utc(2025, 3, 30, 8)


def test_new_york_spring_forward_gap() -> None:
    # 9 March 2025: 02:00 EST jumps to 03:00 EDT (07:00Z).
    calendar = sunday_windows("America/New_York", (time(0), time(2, 30)), (time(3), time(8)))
    night = (utc(2025, 3, 9, 5), utc(2025, 3, 9, 12))
    assert business_time_between(*night, calendar) == hours(7)
    assert add_business_time(night[0], hours(2), calendar) == utc(2025, 3, 9, 7)
    assert add_business_time(night[0], hours(2.5), calendar) == utc(2025, 3, 9, 7, 30)


def test_a_wall_time_repeated_at_fall_back_is_its_first_occurrence() -> None:
    # 26 October 2025: 03:00 CEST falls back to 02:00 CET (01:00Z); 02:30 happens twice.
    calendar = sunday_windows("Europe/Berlin", (time(0), time(2, 30)), (time(2, 30), time(5)))
    night = (utc(2025, 10, 25, 22), utc(2025, 10, 26, 4))  # 00:00 CEST to 05:00 CET
    assert intervals_until(calendar, *night) == [
        (utc(2025, 10, 25, 22), utc(2025, 10, 26, 0, 30)),
        (utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 4)),
    ]
    # Five hours on the wall, six real ones: the repeated hour is worked once, and counts.
    assert business_time_between(*night, calendar) == hours(6)
    assert add_business_time(night[0], hours(3), calendar) == utc(2025, 10, 26, 1)


# Zones with a DST change at 02:00 (Europe, the US), at midnight (Santiago), in the
# southern hemisphere (Sydney), by half an hour (Lord Howe), and none (Kolkata).
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
)
DST_DATES = (
    date(2025, 3, 9),
    date(2025, 3, 30),
    date(2025, 4, 6),
    date(2025, 9, 7),
    date(2025, 10, 5),
    date(2025, 10, 26),
    date(2025, 11, 2),
)
# Windows that begin, end or lie in the gap and fold hours of these zones (midnight,
# 02:00-02:30, 02:00-03:00), and one up to midnight.
NIGHT_SHIFTS = (
    (time(0), time(0, 30)),
    (time(1), time(2, 15)),
    (time(2, 30), time(2, 45)),
    (time(3), time(4)),
    (time(8), time(12)),
    (time(22), time(0)),
)


@st.composite
def clock_cases(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime, timedelta]:
    zone = draw(st.sampled_from(ZONES))
    calendar = business_hours(
        name="shifts",
        version=f"shifts-{zone}",
        time_zone=zone,
        windows=NIGHT_SHIFTS,
        days=tuple(Weekday),
    )
    day = draw(st.sampled_from(DST_DATES))
    start = datetime.combine(day, time(), tzinfo=UTC) + draw(
        st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=30))
    )
    duration = draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=40)))
    return calendar, start, duration


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(clock_cases())
def test_add_and_between_are_inverse_across_dst_changes(
    case: tuple[BusinessCalendar, datetime, timedelta],
) -> None:
    calendar, start, duration = case
    end = add_business_time(start, duration, calendar)
    assert business_time_between(start, end, calendar) == duration
    # Working time never counts twice: never more of it than real time, and the intervals
    # are ordered and disjoint.
    assert end - start >= duration
    intervals = intervals_until(calendar, start, end + hours(48))
    for (_, closes), (opens, _) in pairwise(intervals):
        assert closes <= opens

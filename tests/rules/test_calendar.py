"""Business-hours arithmetic: window edges, lunch breaks, weekends, holidays and DST."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.rules.calendar import (
    TWENTY_FOUR_SEVEN,
    BusinessCalendar,
    Weekday,
    WorkingWindow,
    add_business_time,
    business_hours,
    business_time_between,
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

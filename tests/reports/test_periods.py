from datetime import date

import pytest

from app.core.errors import InvalidInput
from app.reports.periods import Grouping, Period, bucket_start


@pytest.mark.parametrize(
    ("day", "grouping", "start"),
    [
        (date(2026, 1, 1), Grouping.week, date(2025, 12, 29)),  # a Thursday
        (date(2026, 1, 4), Grouping.week, date(2025, 12, 29)),  # Sunday ends the week
        (date(2026, 1, 5), Grouping.week, date(2026, 1, 5)),  # Monday starts one
        (date(2026, 3, 31), Grouping.quarter, date(2026, 1, 1)),
        (date(2026, 4, 1), Grouping.quarter, date(2026, 4, 1)),
        (date(2026, 12, 31), Grouping.quarter, date(2026, 10, 1)),
        (date(2026, 2, 28), Grouping.month, date(2026, 2, 1)),
        (date(2026, 7, 9), Grouping.year, date(2026, 1, 1)),
        (date(2026, 7, 9), Grouping.day, date(2026, 7, 9)),
    ],
)
def test_bucket_start(day, grouping, start):
    assert bucket_start(day, grouping) == start


def test_buckets_cover_the_period_and_no_more():
    period = Period.checked(date(2026, 1, 15), date(2026, 4, 1), Grouping.month)
    assert period.buckets() == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    quarters = Period.checked(date(2025, 11, 1), date(2026, 4, 2), Grouping.quarter)
    assert quarters.buckets() == [date(2025, 10, 1), date(2026, 1, 1), date(2026, 4, 1)]
    last = Period.checked(date(9999, 11, 1), date(9999, 12, 31), Grouping.year)
    assert last.buckets() == [date(9999, 1, 1)]
    months = Period.checked(date(9999, 11, 1), date(9999, 12, 31), Grouping.month)
    assert months.buckets() == [date(9999, 11, 1), date(9999, 12, 1)]


def test_three_years_at_most_and_to_after_from():
    assert Period.checked(date(2023, 1, 1), date(2026, 1, 1), Grouping.day)
    with pytest.raises(InvalidInput):
        Period.checked(date(2023, 1, 1), date(2026, 1, 2), Grouping.day)
    with pytest.raises(InvalidInput):
        Period.checked(date(2026, 1, 1), date(2026, 1, 1), Grouping.day)
    assert Period.checked(date(9998, 1, 1), date(9999, 12, 31), Grouping.year)


@pytest.mark.parametrize(
    ("grouping", "first", "last", "count"),
    [
        (Grouping.day, date(9999, 1, 1), date(9999, 12, 30), 364),
        (Grouping.week, date(9998, 12, 28), date(9999, 12, 27), 53),
        (Grouping.month, date(9999, 1, 1), date(9999, 12, 1), 12),
        (Grouping.quarter, date(9999, 1, 1), date(9999, 10, 1), 4),
        (Grouping.year, date(9999, 1, 1), date(9999, 1, 1), 1),
    ],
)
def test_buckets_end_at_the_last_day_of_the_calendar(grouping, first, last, count):
    buckets = Period.checked(date(9999, 1, 1), date(9999, 12, 31), grouping).buckets()
    assert (buckets[0], buckets[-1], len(buckets)) == (first, last, count)


@pytest.mark.parametrize("grouping", list(Grouping))
def test_the_first_year_of_the_calendar_has_its_buckets(grouping):
    buckets = Period.checked(date(1, 1, 1), date(1, 12, 31), grouping).buckets()
    assert buckets[0] == date(1, 1, 1)  # 1 January of year 1 was a Monday
    assert buckets[-1] == bucket_start(date(1, 12, 30), grouping)

"""A report's period: `[from, to)` in UTC, cut into day/week/month/quarter/year buckets."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from app.core.errors import ErrorItem, InvalidInput

MAX_SPAN_YEARS = 3


class Grouping(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


def bucket_start(day: date, grouping: Grouping) -> date:
    """The first day of the bucket holding `day` (weeks start on Monday)."""
    if grouping is Grouping.day:
        return day
    if grouping is Grouping.week:
        return day - timedelta(days=day.weekday())
    if grouping is Grouping.month:
        return day.replace(day=1)
    if grouping is Grouping.quarter:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def next_bucket(start: date, grouping: Grouping) -> date:
    """The start of the bucket after `start`'s; `date.max` past the last representable day
    (the last week or year of 9999), which ends any period, since `to` is at most that."""
    if grouping in (Grouping.day, Grouping.week):
        step = timedelta(days=1 if grouping is Grouping.day else 7)
        return start + step if date.max - start >= step else date.max
    months = {Grouping.month: 1, Grouping.quarter: 3, Grouping.year: 12}[grouping]
    index = start.year * 12 + start.month - 1 + months
    if index // 12 > date.max.year:
        return date.max
    return date(index // 12, index % 12 + 1, 1)


def _years_later(day: date, years: int) -> date | None:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, or past year 9999
        try:
            return (day + timedelta(days=1)).replace(year=day.year + years)
        except ValueError:
            return None


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    grouping: Grouping

    @classmethod
    def checked(cls, start: date, end: date, grouping: Grouping) -> "Period":
        if end <= start:
            raise InvalidInput(
                "`to` must be after `from` (the period is [from, to), `to` exclusive).",
                errors=[ErrorItem("period_empty", "to must be after from", "to")],
            )
        limit = _years_later(start, MAX_SPAN_YEARS)
        if limit is not None and end > limit:
            raise InvalidInput(
                f"A report covers at most {MAX_SPAN_YEARS} years; "
                f"`to` may be {limit} at the latest.",
                errors=[ErrorItem("period_too_long", f"at most {MAX_SPAN_YEARS} years", "to")],
            )
        return cls(start, end, grouping)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time.min, UTC)

    def buckets(self) -> list[date]:
        """Every bucket start the period touches, in order — empty ones included."""
        starts = []
        current = bucket_start(self.start, self.grouping)
        while current < self.end:
            starts.append(current)
            current = next_bucket(current, self.grouping)
        return starts

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end, "grouping": self.grouping}

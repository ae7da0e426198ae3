"""Business-hours calendars and the time arithmetic SLA clocks run on (docs/domain.md §6).

A calendar is data: an IANA time zone, working windows per weekday in *local wall-clock*
time, holiday dates and a `version`. SLA events record the calendar version they ran on,
so publishing a new version (next year's holidays) never changes how past time counted.

All arithmetic happens on UTC instants. Each local window is turned into a UTC interval
for its own date, so a DST change moves where a window falls in UTC and how long it lasts,
never what the office's clock on the wall says:
- a wall time that does not exist (spring-forward gap) is the instant the gap ends, the
  first moment the wall clock reads it or later: 02:30 on the spring-forward night is
  03:00 summer time, so a window ending then meets, and never overlaps, one opening at 03:00;
- a wall time that happens twice (fall back) is its first occurrence.
Time never counts twice: the intervals of consecutive windows are clipped so they never
overlap in UTC.
`TWENTY_FOUR_SEVEN` counts real elapsed time; it has no windows and no holidays.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.rules.common import require_aware

MIDNIGHT = time(0, 0)
ZERO = timedelta(0)
MICROSECOND = timedelta(microseconds=1)
# A calendar that has no working time for this many days in a row is a mistake (every
# weekday a holiday, say); refusing beats looping forever when adding time to it.
MAX_CLOSED_DAYS = 400


class Weekday(StrEnum):
    """Named weekdays: `{"monday": [...]}` reads better in a stored calendar than `{0: ...}`."""

    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @classmethod
    def of(cls, day: date) -> Weekday:
        return list(cls)[day.weekday()]


WORKDAYS: tuple[Weekday, ...] = (
    Weekday.monday,
    Weekday.tuesday,
    Weekday.wednesday,
    Weekday.thursday,
    Weekday.friday,
)


class WorkingWindow(BaseModel):
    """One stretch of working time on a day, `start` inclusive, `end` exclusive.

    `end` 00:00 means the end of the day (midnight), so `00:00-00:00` is the whole day.
    """

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _is_forward(self) -> WorkingWindow:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local wall-clock times, without a zone")
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError("a working window must end after it starts")
        return self

    @property
    def ends_at_midnight(self) -> bool:
        return self.end == MIDNIGHT

    def overlaps(self, other: WorkingWindow) -> bool:
        """Windows of one day must not overlap, or the overlap would count twice."""
        mine_end = time.max if self.ends_at_midnight else self.end
        other_end = time.max if other.ends_at_midnight else other.end
        return self.start < other_end and other.start < mine_end


class BusinessCalendar(BaseModel):
    """When SLA time counts: weekday windows in a time zone, minus holidays.

    `name` identifies the calendar across versions (policies refer to it); `version` is
    unique across all calendars and is what SLA events record.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64)
    time_zone: str = "UTC"
    windows: dict[Weekday, tuple[WorkingWindow, ...]] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()
    always_open: bool = False

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("windows")
    @classmethod
    def _sorted_disjoint(
        cls, value: dict[Weekday, tuple[WorkingWindow, ...]]
    ) -> dict[Weekday, tuple[WorkingWindow, ...]]:
        ordered: dict[Weekday, tuple[WorkingWindow, ...]] = {}
        for day, windows in value.items():
            ranked = tuple(sorted(windows, key=lambda window: window.start))
            for earlier, later in pairwise(ranked):
                if earlier.overlaps(later):
                    raise ValueError(f"overlapping working windows on {day}")
            ordered[day] = ranked
        return ordered

    @model_validator(mode="after")
    def _has_working_time(self) -> BusinessCalendar:
        has_windows = any(self.windows.values())
        if self.always_open and (has_windows or self.holidays):
            raise ValueError("an always-open calendar counts real time: no windows or holidays")
        if not self.always_open and not has_windows:
            raise ValueError("a business-hours calendar needs at least one working window")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays


TWENTY_FOUR_SEVEN = BusinessCalendar(name="24x7", version="24x7-v1", always_open=True)


def business_hours(
    *,
    name: str,
    version: str,
    time_zone: str,
    windows: tuple[tuple[time, time], ...],
    days: tuple[Weekday, ...] = WORKDAYS,
    holidays: tuple[date, ...] = (),
) -> BusinessCalendar:
    """The common shape: the same windows on each of `days` (Monday to Friday by default)."""
    day_windows = tuple(WorkingWindow(start=start, end=end) for start, end in windows)
    return BusinessCalendar(
        name=name,
        version=version,
        time_zone=time_zone,
        windows=dict.fromkeys(days, day_windows),
        holidays=holidays,
    )


def as_utc(moment: datetime, name: str = "datetime") -> datetime:
    """Every instant the rules see or return is aware and in UTC."""
    return require_aware(moment, name).astimezone(UTC)


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant at which `duration` of working time has passed since `start`.

    Time that runs out exactly at the end of a window lands on that end (17:00), not on
    the next opening: a clock due at closing time is late the next morning, not on time.
    """
    start = as_utc(start, "start")
    if duration < ZERO:
        raise ValueError("a duration to add must not be negative")
    if calendar.always_open or duration == ZERO:
        return start + duration
    remaining = duration
    for opens, closes in open_intervals(calendar, start):
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("open_intervals never ends")  # pragma: no cover


def business_time_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """Working time in `[start, end)`; zero when `end` is not after `start`."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end <= start:
        return ZERO
    if calendar.always_open:
        return end - start
    total = ZERO
    for opens, closes in open_intervals(calendar, start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def open_intervals(
    calendar: BusinessCalendar, since: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's working time from `since` on, as consecutive, disjoint UTC intervals.

    Each interval starts no earlier than `since` and than the end of the one before. Endless
    for a sound calendar; a calendar closed for `MAX_CLOSED_DAYS` in a row raises instead
    of looping.
    """
    floor = as_utc(since, "since")
    day = floor.astimezone(calendar.zone).date()
    closed_days = 0
    while closed_days < MAX_CLOSED_DAYS:
        opened = False
        for opens, closes in _day_intervals(calendar, day):
            if closes > max(opens, floor):
                yield max(opens, floor), closes
                opened = True
            floor = max(floor, closes)
        closed_days = 0 if opened else closed_days + 1
        day += timedelta(days=1)
    raise ValueError(f"calendar {calendar.version} has no working time for {MAX_CLOSED_DAYS} days")


def _day_intervals(calendar: BusinessCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """One local date's windows as UTC intervals; a window swallowed by a DST gap is dropped."""
    if calendar.is_holiday(day):
        return []
    zone = calendar.zone
    intervals = []
    for window in calendar.windows.get(Weekday.of(day), ()):
        opens = _wall_clock(day, window.start, zone)
        end_day = day + timedelta(days=1) if window.ends_at_midnight else day
        closes = _wall_clock(end_day, window.end, zone)
        if closes > opens:
            intervals.append((opens, closes))
    return intervals


def _wall_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The first UTC instant at which the wall clock in `zone` reads `at` on `day` or later."""
    wanted = datetime.combine(day, at)
    # fold=0: an ambiguous time's first occurrence; inside a gap, the offset before it,
    # which lands after the gap.
    after = wanted.replace(tzinfo=zone).astimezone(UTC)
    if _wall(after, zone) == wanted:
        return after
    # In a gap: fold=1 reads it with the offset after the change, which lands before the
    # gap. The wall clock only jumps once in between, so bisect for the jump.
    before = wanted.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while after - before > MICROSECOND:
        middle = before + (after - before) // 2
        if _wall(middle, zone) >= wanted:
            after = middle
        else:
            before = middle
    return after


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)

"""SQL pieces whose spelling differs between PostgreSQL and SQLite, and the one grouped
aggregation that needs medians.

Everything a report computes is set-based SQL except where SQLite lacks the function:
PostgreSQL groups with `date_trunc` and takes medians with `percentile_cont`; SQLite
groups with `strftime`, and its medians are taken in Python over the values one query
fetched. Money is summed in integer cents (NUMERIC on PostgreSQL, INTEGER on SQLite,
which stores NUMERIC as REAL), so totals are exact to the cent on both.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.reports.periods import Grouping

CENT = Decimal("0.01")
SECONDS_PER_DAY = Decimal(86_400)

Expr = sa.ColumnElement[Any]
Row = dict[str, Any]

_PG_UNITS = {
    Grouping.day: "day",
    Grouping.week: "week",
    Grouping.month: "month",
    Grouping.quarter: "quarter",
    Grouping.year: "year",
}


async def tune_for_reports(conn: AsyncConnection) -> None:
    """PostgreSQL, for this transaction only: no JIT (compiling these plans costs more than
    it saves on a year of one team's data) and room to sort and hash in memory."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SET LOCAL jit = off"))
        await conn.execute(sa.text("SET LOCAL work_mem = '32MB'"))


def bucket(column: Expr, grouping: Grouping, dialect: str, *, is_date: bool = False) -> Expr:
    """The start (a UTC date) of the period of `grouping` that holds `column`.

    Weeks start on Monday (ISO 8601), quarters in January, April, July and October.
    """
    if dialect == "postgresql":
        # AT TIME ZONE 'UTC' turns a timestamptz into UTC wall time, so the session's
        # time zone never moves an event into another period.
        value = sa.cast(column, sa.DateTime()) if is_date else sa.func.timezone("UTC", column)
        return sa.cast(sa.func.date_trunc(_PG_UNITS[grouping], value), sa.Date())
    return _sqlite_bucket(column, grouping)


def _sqlite_bucket(column: Expr, grouping: Grouping) -> Expr:
    # SQLite keeps UTC instants as ISO text, which its date functions read directly.
    if grouping is Grouping.day:
        return sa.func.date(column)
    if grouping is Grouping.week:
        return sa.func.date(column, "weekday 0", "-6 days")
    if grouping is Grouping.month:
        return sa.func.strftime("%Y-%m-01", column)
    if grouping is Grouping.year:
        return sa.func.strftime("%Y-01-01", column)
    month = sa.cast(sa.func.strftime("%m", column), sa.Integer)
    first_month = (month - 1) // 3 * 3 + 1
    return sa.func.printf("%s-%02d-01", sa.func.strftime("%Y", column), first_month)


def as_date(value: date | str) -> date:
    """A bucket value as a date, whichever dialect produced it."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def cents(amount: Expr, dialect: str) -> Expr:
    """An amount in cents, to be summed exactly."""
    if dialect == "postgresql":
        return amount * 100
    return sa.cast(sa.func.round(amount * 100), sa.Integer)


def weighted_cents(amount: Expr, basis_points: Expr, dialect: str) -> Expr:
    """amount * probability, rounded half up to the cent per deal — the `weighted_amount`
    the deals API shows, so a forecast is the sum of the figures users see."""
    if dialect == "postgresql":
        return sa.func.round(amount * basis_points / 10_000, 2) * 100
    # Integer arithmetic: cents * basis points, + half a unit, floor-divided.
    return (cents(amount, dialect) * basis_points + 5_000) // 10_000


def flag(condition: sa.ColumnElement[bool]) -> Expr:
    """1 where the condition holds, else 0: a count is the sum of a flag."""
    return sa.case((condition, 1), else_=0)


def money(value: Any) -> Decimal:
    """A summed cents value as an amount to the cent (0.00 for nothing)."""
    if value is None:
        return Decimal("0.00")
    return (Decimal(value) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def days(seconds: Any) -> Decimal | None:
    if seconds is None:
        return None
    exact = Decimal(str(round(float(seconds), 3)))
    return (exact / SECONDS_PER_DAY).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio_pct(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part / whole in percent, two decimals; None when there is no whole to divide by."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rollup:
    """Grouped sums and medians of `source`, per `keys` (the period bucket first) and per
    `total_keys` (the same figures over the whole period). Medians ignore NULLs.

    PostgreSQL answers both groupings in one statement (GROUPING SETS). SQLite has no
    median: when one is asked for, the rows are fetched once and grouped here.
    """

    keys: Sequence[str]
    total_keys: Sequence[str]
    sums: Sequence[str]
    medians: Sequence[str] = ()

    async def run(self, conn: AsyncConnection, source: sa.Subquery) -> tuple[list[Row], list[Row]]:
        if conn.dialect.name == "postgresql":
            return await self._grouping_sets(conn, source)
        if not self.medians:
            return await self._grouped(conn, source, self.keys), await self._grouped(
                conn, source, self.total_keys
            )
        rows = (await conn.execute(sa.select(source))).mappings().all()
        return self._in_python(rows, self.keys), self._in_python(rows, self.total_keys)

    def _aggregates(self, source: sa.Subquery) -> list[Expr]:
        c = source.c
        return [
            *(sa.func.sum(c[s]).label(s) for s in self.sums),
            *(sa.func.percentile_cont(0.5).within_group(c[m]).label(m) for m in self.medians),
        ]

    def grouping_sets(self, source: sa.Subquery) -> sa.Select[Any]:
        """PostgreSQL: the rows and the totals in one statement; `is_total` tells them apart."""
        c = source.c
        sets = [sa.tuple_(*(c[k] for k in keys)) if keys else sa.text("()")
                for keys in (self.keys, self.total_keys)]  # fmt: skip
        return sa.select(
            *(c[k] for k in self.keys),
            *self._aggregates(source),
            sa.func.grouping(c[self.keys[0]]).label("is_total"),
        ).group_by(sa.func.grouping_sets(*sets))

    async def _grouping_sets(
        self, conn: AsyncConnection, source: sa.Subquery
    ) -> tuple[list[Row], list[Row]]:
        statement = self.grouping_sets(source)
        rows: list[Row] = []
        totals: list[Row] = []
        for row in (await conn.execute(statement)).mappings():
            out = dict(row)
            is_total = out.pop("is_total")
            if is_total:
                out.pop(self.keys[0])
            (totals if is_total else rows).append(out)
        return rows, totals

    async def _grouped(
        self, conn: AsyncConnection, source: sa.Subquery, keys: Sequence[str]
    ) -> list[Row]:
        columns = [source.c[k] for k in keys]
        statement = sa.select(*columns, *self._aggregates(source)).group_by(*columns)
        return [dict(row) for row in (await conn.execute(statement)).mappings()]

    def _in_python(self, rows: Iterable[Any], keys: Sequence[str]) -> list[Row]:
        groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[tuple(row[k] for k in keys)].append(row)
        result = []
        for key, members in groups.items():
            out: Row = dict(zip(keys, key, strict=True))
            for name in self.sums:
                out[name] = sum(m[name] or 0 for m in members)
            for name in self.medians:
                values = [m[name] for m in members if m[name] is not None]
                out[name] = statistics.median(values) if values else None
            result.append(out)
        return result

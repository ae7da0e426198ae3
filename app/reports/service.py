"""The report use cases: check access, run the grouped queries, lay out every period.

Every bucket of the period is present, with zeros where nothing happened, for every key
the report found anywhere in the period (so each owner, campaign or currency has an
unbroken series). Derived figures (conversion, averages, shares, attainment) are computed
here from the summed counts and cents, never averaged from rounded values.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.enums import CustomerGrade, CustomerTier, LeadSource, TicketType
from app.reports import queries as q
from app.reports import ticket_queries as tq
from app.reports.periods import Period
from app.reports.schemas import FunnelStep, SalesBy, ServiceBy
from app.reports.sql import CENT, Rollup, Row, as_date, days, money, ratio_pct, tune_for_reports

# Rows need a currency even when a period has no money at all: the models' default.
DEFAULT_CURRENCY = "CNY"
Key = tuple[Any, ...]
Report = dict[str, Any]

FUNNEL_STEPS = tuple(FunnelStep)  # in funnel order: a step's rank is its index


def _num(row: Mapping[str, Any] | None, name: str) -> Any:
    return (row or {}).get(name) or 0


def _sort_key(key: Key) -> tuple[Any, ...]:
    return tuple((value is None, str(value) if value is not None else "") for value in key)


def _index(rows: Iterable[Row], keys: Sequence[str]) -> dict[Key, Row]:
    """Rows by their key tuple, bucket values read as dates."""
    found = {}
    for row in rows:
        if "period_start" in row and row["period_start"] is not None:
            row["period_start"] = as_date(row["period_start"])
        found[tuple(row.get(k) for k in keys)] = row
    return found


def _found(rows: list[Row], totals: list[Row], keys: Sequence[str]) -> dict[Key, Row]:
    """Rows and totals by key tuple; a total's bucket is None."""
    return _index(rows, keys) | _index([{"period_start": None, **t} for t in totals], keys)


def _series(
    period: Period,
    keys: Iterable[Key],
    figures: Callable[[date | None, Key], dict[str, Any]],
) -> tuple[list[Row], list[Row]]:
    """Rows for every bucket x key (zeros included) and the totals for every key."""
    ordered = sorted(set(keys), key=_sort_key)
    rows = [figures(start, key) for start in period.buckets() for key in ordered]
    totals = [figures(None, key) for key in ordered]
    return rows, totals


def _report(period: Period, rows: list[Row], totals: list[Row]) -> Report:
    return {"period": period.as_dict(), "rows": rows, "totals": totals}


def _average(cents: Any, count: int) -> Decimal | None:
    if not count:
        return None
    return (Decimal(cents) / count / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _with_period(start: date | None, row: Row) -> Row:
    return row if start is None else {"period_start": start, **row}


# ------------------------------------------------------------------ funnel


async def funnel(
    conn: AsyncConnection, principal: Principal, period: Period, f: q.Filters
) -> Report:
    principal.require(Kind.leads, "read")
    principal.require(Kind.deals, "read")
    await tune_for_reports(conn)
    dialect = conn.dialect.name
    reached = await _funnel_counts(
        conn, q.funnel_furthest(dialect, principal, period, f, per_bucket=True)
    )
    totals = await _funnel_counts(
        conn, q.funnel_furthest(dialect, principal, period, f, per_bucket=False)
    )
    reached |= {(None, step): count for (_, step), count in totals.items()}
    stage_rows, stage_totals = await Rollup(
        ["period_start", "step"], ["step"], [], ["stage_seconds"]
    ).run(conn, q.funnel_stage_times(dialect, principal, period, f))
    stages = _found(stage_rows, stage_totals, ["period_start", "step"])

    def steps(start: date | None) -> list[Row]:
        out, previous = [], None
        for step in FunnelStep:
            count = reached.get((start, step), 0)
            seconds = (stages.get((start, step.value)) or {}).get("stage_seconds")
            out.append(
                _with_period(
                    start,
                    {
                        "step": step,
                        "count": count,
                        "conversion_pct": None if previous is None else ratio_pct(count, previous),
                        "drop_off": None if previous is None else previous - count,
                        "median_days_in_stage": days(seconds),
                    },
                )
            )
            previous = count
        return out

    rows = [row for start in period.buckets() for row in steps(start)]
    return _report(period, rows, steps(None))


async def _funnel_counts(
    conn: AsyncConnection, statement: Any
) -> dict[tuple[date | None, FunnelStep], int]:
    """Records per (bucket, step) from how many got furthest to each step: a record counts
    at its furthest step and at every step before it."""
    furthest: dict[date | None, list[int]] = defaultdict(lambda: [0] * len(FUNNEL_STEPS))
    for row in (await conn.execute(statement)).mappings():
        start = as_date(row["period_start"]) if "period_start" in row else None
        furthest[start][row["furthest"]] += row["records"]
    counts = {}
    for start, records in furthest.items():
        running = 0
        for rank in reversed(range(len(FUNNEL_STEPS))):
            running += records[rank]
            counts[(start, FUNNEL_STEPS[rank])] = running
    return counts


# ------------------------------------------------------------------ sales and forecast


async def _name_sales_keys(conn: AsyncConnection, rows: list[Row], by: SalesBy | None) -> None:
    """Fill in owner and team names (and an owner's team) for the rows' keys."""
    owners = await q.user_names(conn, {r["owner_id"] for r in rows if r.get("owner_id")})
    for row in rows:
        owner = owners.get(row.get("owner_id"))  # type: ignore[arg-type]
        row["owner_name"] = owner["name"] if owner else None
        if by is SalesBy.owner:
            row["team_id"] = owner["team_id"] if owner else None
    team_ids = {r["team_id"] for r in rows if r.get("team_id")}
    names = await q.team_names(conn, team_ids)
    for row in rows:
        row["team_name"] = names.get(row["team_id"]) if row.get("team_id") else None


def _sales_row(key_names: Sequence[str], key: Key) -> Row:
    row: Row = dict.fromkeys(("owner_id", "owner_name", "team_id", "team_name", "product"))
    row.update(zip(key_names, key, strict=True))
    return row


async def _grouped_sales(
    conn: AsyncConnection,
    period: Period,
    by: SalesBy | None,
    rollup: Rollup,
    source: Any,
    figures: Callable[[Row | None], Row],
) -> Report:
    """Rows per bucket x (owner/team/product) x currency, zeros included, with names."""
    rows, totals = await rollup.run(conn, source)
    key_names = rollup.total_keys
    found = _found(rows, totals, rollup.keys)
    keys = {k[1:] for k in found}
    if not keys and by is None:
        keys = {(DEFAULT_CURRENCY,)}

    def make(start: date | None, key: Key) -> Row:
        return _with_period(
            start, {**_sales_row(key_names, key), **figures(found.get((start, *key)))}
        )

    out_rows, out_totals = _series(period, keys, make)
    await _name_sales_keys(conn, out_rows + out_totals, by)
    return _report(period, out_rows, out_totals)


def _sales_figures(row: Row | None) -> Row:
    won, lost, priced = _num(row, "won"), _num(row, "lost"), _num(row, "priced")
    return {
        "won_count": won,
        "won_amount": money(_num(row, "cents")),
        "average_deal_size": _average(_num(row, "cents"), priced),
        "estimated_count": _num(row, "estimated"),
        "unpriced_count": won - priced,
        "lost_count": lost,
        "win_rate_pct": ratio_pct(won, won + lost),
        "median_sales_cycle_days": days((row or {}).get("cycle")),
    }


def _sales_keys(by: SalesBy | None) -> list[str]:
    return ["period_start", *([q.SALES_KEY[by]] if by else []), "currency"]


async def sales(
    conn: AsyncConnection, principal: Principal, period: Period, f: q.Filters, by: SalesBy | None
) -> Report:
    principal.require(Kind.deals, "read")
    await tune_for_reports(conn)
    keys = _sales_keys(by)
    rollup = Rollup(keys, keys[1:], ["won", "lost", "cents", "priced", "estimated"], ["cycle"])
    source = q.sales_outcomes(conn.dialect.name, principal, period, f, by)
    return await _grouped_sales(conn, period, by, rollup, source, _sales_figures)


def _forecast_figures(row: Row | None) -> Row:
    return {
        "open_count": _num(row, "open_count"),
        "unpriced_count": _num(row, "unpriced_count"),
        "pipeline_amount": money(_num(row, "pipeline")),
        "weighted_amount": money(_num(row, "weighted")),
    }


async def forecast(
    conn: AsyncConnection, principal: Principal, period: Period, f: q.Filters, by: SalesBy | None
) -> Report:
    principal.require(Kind.deals, "read")
    await tune_for_reports(conn)
    keys = _sales_keys(by)
    rollup = Rollup(keys, keys[1:], ["open_count", "unpriced_count", "pipeline", "weighted"])
    source = q.forecast_deals(conn.dialect.name, principal, period, f, by)
    return await _grouped_sales(conn, period, by, rollup, source, _forecast_figures)


# ------------------------------------------------------------------ channels


async def _merged(
    conn: AsyncConnection, keys: Sequence[str], parts: Sequence[tuple[Sequence[str], Any]]
) -> dict[Key, Row]:
    """Several rollups over the same keys, merged into one row per key (and per total)."""
    merged: dict[Key, Row] = defaultdict(dict)
    for sums, source in parts:
        rows, totals = await Rollup(keys, keys[1:], sums).run(conn, source)
        for key, row in _found(rows, totals, keys).items():
            merged[key].update(row)
    return merged


def _channel_figures(row: Row | None, show_cost: bool) -> Row:
    revenue = money(_num(row, "revenue"))
    cost = money(_num(row, "cost")) if show_cost and _num(row, "costed") else None
    return {
        "leads": _num(row, "leads"),
        "qualified": _num(row, "qualified"),
        "converted": _num(row, "converted"),
        "won": _num(row, "won"),
        "revenue": revenue,
        "cost": cost,
        "roi_pct": ratio_pct(revenue - cost, cost) if cost else None,
    }


async def channels(
    conn: AsyncConnection, principal: Principal, period: Period, f: q.Filters
) -> Report:
    principal.require(Kind.leads, "read")
    principal.require(Kind.deals, "read")
    await tune_for_reports(conn)
    dialect = conn.dialect.name
    keys = ["period_start", "channel", "campaign", "currency"]
    found = await _merged(
        conn,
        keys,
        [
            (["leads", "qualified", "converted"], q.channel_leads(dialect, principal, period, f)),
            (["won", "revenue"], q.channel_wins(dialect, principal, period, f)),
            (["cost", "costed"], q.campaign_costs(dialect, period, f)),
        ],
    )

    # Campaign cost is the company's: set against revenue it means something only to a
    # caller whose report holds every lead (directors, admins, partner keys), unfiltered.
    show_cost = principal.sees_everything and f.owner_id is None and f.team_id is None

    def make(start: date | None, key: Key) -> Row:
        channel, campaign, currency = key
        row = {"channel": channel, "campaign": campaign, "currency": currency}
        figures = _channel_figures(found.get((start, *key)), show_cost)
        return _with_period(start, {**row, **figures})

    rows, totals = _series(period, _channel_keys(found, f), make)
    return _report(period, rows, totals)


def _channel_keys(found: Mapping[Key, Row], f: q.Filters) -> set[Key]:
    """The (channel, campaign, currency) keys found, and every channel asked for at least
    once (without a campaign, in the default currency), so a quiet channel shows zeros."""
    keys = {k[1:] for k in found}
    present = {channel for channel, _, _ in keys}
    wanted = [f.channel] if f.channel is not None else list(LeadSource)
    return keys | {(c, None, DEFAULT_CURRENCY) for c in wanted if c not in present}


# ------------------------------------------------------------------ customer mix

MIX_VALUES: dict[str, tuple[str | None, ...]] = {
    "tier": tuple(CustomerTier),
    "grade": (*CustomerGrade, None),
}


def _mix_by_dimension(found: Mapping[Key, Row]) -> dict[Key, Row]:
    """(bucket, tier, grade, currency) sums projected to (bucket, dimension, value, currency)."""
    out: dict[Key, Row] = defaultdict(lambda: {"revenue": 0, "activities": 0})
    for (start, tier, grade, currency), row in found.items():
        for dimension, value in (("tier", tier), ("grade", grade)):
            target = out[(start, dimension, value, currency)]
            target["revenue"] += _num(row, "revenue")
            target["activities"] += _num(row, "activities")
    return out


async def customer_mix(
    conn: AsyncConnection, principal: Principal, period: Period, f: q.Filters
) -> Report:
    principal.require(Kind.deals, "read")
    principal.require(Kind.activities, "read")
    await tune_for_reports(conn)
    dialect = conn.dialect.name
    keys = ["period_start", "tier", "grade", "currency"]
    found = await _merged(
        conn,
        keys,
        [
            (["revenue"], q.mix_revenue(dialect, principal, period, f)),
            (["activities"], q.mix_activities(dialect, principal, period, f)),
        ],
    )
    mix = _mix_by_dimension(found)
    # Revenue shares are of the bucket's revenue in the row's currency (amounts in two
    # currencies do not add up); activity shares are of all the bucket's activities.
    revenue: dict[Key, int] = defaultdict(int)
    activities: dict[date | None, int] = defaultdict(int)
    for (start, dimension, _value, currency), row in mix.items():
        if dimension == "tier":
            revenue[(start, currency)] += row["revenue"]
            activities[start] += row["activities"]
    currencies = {k[3] for k in mix} or {DEFAULT_CURRENCY}
    values = {(d, v) for d, options in MIX_VALUES.items() for v in options}
    values |= {(k[1], k[2]) for k in mix}

    def make(start: date | None, key: Key) -> Row:
        dimension, value, currency = key
        row = mix.get((start, *key))
        return _with_period(
            start,
            {
                "dimension": dimension,
                "value": value,
                "currency": currency,
                "revenue": money(_num(row, "revenue")),
                "revenue_share_pct": ratio_pct(
                    _num(row, "revenue"), revenue.get((start, currency), 0)
                ),
                "activities": _num(row, "activities"),
                "activity_share_pct": ratio_pct(_num(row, "activities"), activities.get(start, 0)),
            },
        )

    keys_present = {(d, v, c) for d, v in values for c in currencies}
    rows, totals = _series(period, keys_present, make)
    return _report(period, rows, totals)


# ------------------------------------------------------------------ service

SERVICE_SUMS = [
    "tickets",
    "response_met",
    "response_breached",
    "resolution_met",
    "resolution_breached",
]


def _service_figures(row: Row | None) -> Row:
    tickets = _num(row, "tickets")
    figures: Row = {"tickets": tickets}
    for clock in ("response", "resolution"):
        met, breached = _num(row, f"{clock}_met"), _num(row, f"{clock}_breached")
        figures |= {
            f"{clock}_met": met,
            f"{clock}_breached": breached,
            f"{clock}_pending": tickets - met - breached,
            f"{clock}_attainment_pct": ratio_pct(met, met + breached),
        }
    figures["breaches"] = figures["response_breached"] + figures["resolution_breached"]
    return figures


def _service_key(by: ServiceBy | None, key: Key) -> Row:
    row: Row = {"type": None, "agent_id": None, "agent_name": None}
    if by is ServiceBy.type:
        row["type"] = key[0]
    elif by is ServiceBy.agent:
        row["agent_id"] = key[0]
    return row


async def _name_agents(conn: AsyncConnection, rows: list[Row]) -> None:
    agents = await q.user_names(conn, {r["agent_id"] for r in rows if r["agent_id"]})
    for row in rows:
        agent = agents.get(row["agent_id"])
        row["agent_name"] = agent["name"] if agent else None


async def service(
    conn: AsyncConnection,
    principal: Principal,
    period: Period,
    f: q.Filters,
    *,
    by: ServiceBy | None,
    agent_id: uuid.UUID | None,
    now: datetime,
) -> Report:
    principal.require(Kind.tickets, "read")
    await tune_for_reports(conn)
    keys = ["period_start", *(key.name for key in tq.service_key(by))]
    where = tq.ticket_filters(principal, f, agent_id)
    source = tq.service_tickets(conn.dialect.name, period, where, by, now)
    rows, totals = await Rollup(keys, keys[1:], SERVICE_SUMS).run(conn, source)
    found = _found(rows, totals, keys)
    present = {k[1:] for k in found}
    if by is ServiceBy.type:
        present |= {(t,) for t in TicketType}
    elif by is None:
        present = {()}

    def make(start: date | None, key: Key) -> Row:
        figures = _service_figures(found.get((start, *key)))
        return _with_period(start, {**_service_key(by, key), **figures})

    out_rows, out_totals = _series(period, present, make)
    await _name_agents(conn, out_rows + out_totals)
    return _report(period, out_rows, out_totals)


async def open_tickets(
    conn: AsyncConnection,
    principal: Principal,
    f: q.Filters,
    *,
    by: ServiceBy | None,
    agent_id: uuid.UUID | None,
    now: datetime,
) -> Report:
    principal.require(Kind.tickets, "read")
    await tune_for_reports(conn)
    statement = tq.open_tickets(tq.ticket_filters(principal, f, agent_id), by, now)
    counts = ("open", "on_track", "at_risk", "breached")
    rows = []
    for found in (await conn.execute(statement)).mappings():
        key = tuple(found[k] for k in found if k not in counts)
        rows.append({**_service_key(by, key), **{c: int(found[c] or 0) for c in counts}})
    rows = [r for r in rows if r["open"]]
    rows.sort(key=lambda r: _sort_key((r["type"], r["agent_id"])))
    total = {**_service_key(None, ()), **{c: sum(r[c] for r in rows) for c in counts}}
    await _name_agents(conn, rows)
    return {"as_of": now, "rows": rows, "totals": [total]}

"""EXPLAIN the SQL the service really sends, and refuse sequential scans of big tables.

The statements come from `InProcessService` (captured at the driver, with their bound
parameters), so the plans are those of the service's own queries for the same principal
and the same request as the load test, not of a hand-copied approximation.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from bench.inprocess import Statement

# A table this big must never be read whole to answer one request.
LARGE_TABLE_ROWS = 5_000
EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@dataclass(frozen=True)
class ScanFinding:
    table: str
    rows: int
    statement: str


@dataclass
class PlanReport:
    statement: Statement
    plan: dict[str, Any]
    text: str
    # The service's statements are prepared: after five runs PostgreSQL may switch to
    # one generic plan for all parameter values, so that plan must be good too.
    generic_text: str
    generic_differs: bool = False
    seq_scans: list[ScanFinding] = field(default_factory=list)


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def shape(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The plan's operators and the indexes they use, without costs or values."""
    return [
        (n.get("Node Type", ""), n.get("Relation Name", ""), n.get("Index Name", ""))
        for n in plan_nodes(plan)
    ]


def seq_scans(plan: dict[str, Any], table_rows: dict[str, int], threshold: int) -> list[str]:
    """Tables at least `threshold` rows big that the plan reads with a sequential scan."""
    found = []
    for node in plan_nodes(plan):
        if node.get("Node Type") == "Seq Scan":
            table = node.get("Relation Name", "?")
            if table_rows.get(table, 0) >= threshold:
                found.append(table)
    return found


async def table_sizes(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT relname, reltuples::bigint AS n FROM pg_class "
        "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
    )
    return {r["relname"]: max(0, r["n"]) for r in rows}


async def explain(
    conn: asyncpg.Connection,
    statements: list[Statement],
    sizes: dict[str, int],
    threshold: int = LARGE_TABLE_ROWS,
) -> list[PlanReport]:
    reports = []
    for statement in statements:
        if not statement.sql.lstrip().upper().startswith(EXPLAINABLE):
            continue
        plan, text = await _plan(conn, statement, generic=False)
        generic, generic_text = await _plan(conn, statement, generic=True)
        report = PlanReport(statement, plan, text, generic_text, shape(plan) != shape(generic))
        found = set(seq_scans(plan, sizes, threshold)) | set(seq_scans(generic, sizes, threshold))
        report.seq_scans += [ScanFinding(t, sizes[t], statement.sql) for t in sorted(found)]
        reports.append(report)
    return reports


async def _plan(
    conn: asyncpg.Connection, statement: Statement, *, generic: bool
) -> tuple[dict[str, Any], str]:
    async with conn.transaction():
        mode = "force_generic_plan" if generic else "force_custom_plan"
        await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
        raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + statement.sql, *statement.parameters)
        rows = await conn.fetch("EXPLAIN " + statement.sql, *statement.parameters)
    plan = (orjson.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return plan, "\n".join(r[0] for r in rows)

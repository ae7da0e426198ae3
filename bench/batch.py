"""Batch jobs at scale: `salesflow recompute-tiers` and two SLA sweeps.

    python -m bench batch            # 100,000 customers, 1,000,000 deals, 1,000,000 tickets

The data is made server-side with `generate_series` (deterministic: ids are md5 of the row
number), in about three minutes here: 40% of deals won over two years, 1% of the
tickets open and past their first-response due time, the rest closed. The first sweep
records those breaches; the second, right after it, is the steady state, with nothing
newly due. Reports wall time, the Python process's peak RSS, and the EXPLAIN of the
sweep's claim query (which must use an index), into bench/results/batch-<timestamp>.json
and docs/performance.md.
"""

import asyncio
import json
import resource
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from bench.config import database_url, dsn

DATABASE = "salesflow_bench_batch"
ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS, DEALS, TICKETS = 100_000, 1_000_000, 1_000_000

FILL = [
    """INSERT INTO users (id, email, name, role, seniority, is_active, created_at, updated_at,
        version) VALUES (md5('rep')::uuid, 'rep@bench.example', 'Bench Rep', 'rep', 'standard',
        true, now(), now(), 1)""",
    f"""INSERT INTO customers (id, name, currency, tags, owner_id, tier, lifecycle_stage,
        created_at, updated_at, version)
        SELECT md5('c' || i)::uuid, 'Customer ' || i, 'CNY', '[]', md5('rep')::uuid,
               'potential', 'prospect', now() - (i % 700) * interval '1 day', now(), 1
        FROM generate_series(1, {CUSTOMERS}) AS i""",
    f"""INSERT INTO deals (id, name, customer_id, owner_id, stage, amount, currency,
        closed_at, stage_changed_at, created_at, updated_at, version)
        SELECT md5('d' || i)::uuid, 'Deal ' || i, md5('c' || (i % {CUSTOMERS} + 1))::uuid,
               md5('rep')::uuid,
               CASE WHEN i % 10 < 4 THEN 'won' WHEN i % 10 = 4 THEN 'lost' ELSE 'proposal' END,
               (i::bigint * 104729 % 900000 + 1000)::numeric(18, 2), 'CNY',
               CASE WHEN i % 10 < 5 THEN now() - (i::bigint * 7919 % 730) * interval '1 day' END,
               now(), now() - (i % 900) * interval '1 day', now(), 1
        FROM generate_series(1, {DEALS}) AS i""",
    f"""INSERT INTO tickets (id, subject, type, priority, status, customer_id, reported_at,
        sla_status, first_response_due_at, resolution_due_at, next_due_at, sla_at_risk_at,
        sla_next_action_at, escalation_level, created_at, updated_at, version)
        SELECT md5('t' || i)::uuid, 'Ticket ' || i, 'usage_question', 'normal',
               CASE WHEN i % 100 = 0 THEN 'new' ELSE 'closed' END,
               md5('c' || (i % {CUSTOMERS} + 1))::uuid, r, 'on_track',
               r + interval '1 hour', r + interval '48 hours',
               CASE WHEN i % 100 = 0 THEN r + interval '1 hour' END,
               CASE WHEN i % 100 = 0 THEN r + interval '45 minutes' END,
               CASE WHEN i % 100 = 0 THEN r + interval '45 minutes' END, 0, r, r, 1
        FROM generate_series(1, {TICKETS}) AS i,
             LATERAL (SELECT CASE WHEN i % 100 = 0 THEN now() - interval '2 hours'
                                  ELSE now() - (i % 700) * interval '1 day' END AS r) AS t""",
    """INSERT INTO ticket_sla_events (id, ticket_id, seq, kind, at, policy_version,
        calendar_version, payload, recorded_at)
        SELECT md5('e' || t.id::text)::uuid, t.id, 1, 'started', t.reported_at, 'default-v1',
               '24x7-v1', '{}', t.reported_at
        FROM tickets AS t""",
    "ANALYZE",
]


@dataclass
class Measure:
    name: str
    seconds: float
    peak_rss_mb: float
    detail: dict[str, Any]


async def _recreate_and_fill() -> float:
    from alembic import command
    from app.ops.migrations import alembic_config

    admin = await asyncpg.connect(dsn("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    config = alembic_config(database_url(DATABASE))
    config.attributes["configure_logging"] = False
    await asyncio.to_thread(command.upgrade, config, "head")
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn(DATABASE))
    try:
        for statement in FILL:
            await conn.execute(statement)
    finally:
        await conn.close()
    return time.perf_counter() - started


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _recompute() -> Measure:
    from app.core.config import Settings
    from app.core.db import Database, create_engine
    from app.customers.tiering import recompute_all
    from app.rules.customers import DEFAULT_CUSTOMER_POLICY

    db = Database(create_engine(Settings(database_url=database_url(DATABASE))))
    try:
        started = time.perf_counter()
        async with db.transaction() as conn:
            await conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            updated = await recompute_all(conn, datetime.now(UTC), DEFAULT_CUSTOMER_POLICY)
        seconds = time.perf_counter() - started
        async with db.transaction() as conn:
            tiers = dict(
                (await conn.execute(sa.text("SELECT tier, count(*) FROM customers GROUP BY 1")))
                .tuples()
                .all()
            )
    finally:
        await db.dispose()
    return Measure("recompute-tiers", seconds, _peak_rss_mb(), {"updated": updated, "tiers": tiers})


async def _sweeps() -> list[Measure]:
    """The sweep that records the backlog, then the steady-state one right after it."""
    from app.core.config import Settings
    from app.core.db import Database, create_engine
    from app.tickets.repository import lock_due_tickets
    from app.tickets.sweeper import sweep

    db = Database(create_engine(Settings(database_url=database_url(DATABASE))))
    measures = []
    try:
        async with db.transaction() as conn:
            captured: list[str] = []
            await _explain_claim(conn, lock_due_tickets, datetime.now(UTC), captured)
        plan = "\n".join(captured)
        for name in ("sla-sweep", "sla-sweep-steady"):
            started = time.perf_counter()
            result = await sweep(db, datetime.now(UTC))
            seconds = time.perf_counter() - started
            detail = {
                "examined": result.examined,
                "breaches": result.breaches,
                "warnings": result.warnings,
            }
            measures.append(Measure(name, seconds, _peak_rss_mb(), detail))
    finally:
        await db.dispose()
    measures[0].detail["claim_plan"] = plan
    measures[0].detail["claim_uses_index"] = "Index" in plan and "Seq Scan on tickets" not in plan
    return measures


async def _explain_claim(conn: Any, lock_due_tickets: Any, now: datetime, out: list[str]) -> None:
    """EXPLAIN the sweeper's own claim statement, captured as it executes."""
    from sqlalchemy import event

    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    sync_engine = conn.sync_engine
    event.listen(sync_engine, "before_cursor_execute", capture)
    try:
        await lock_due_tickets(conn, now, None, 500)
    finally:
        event.remove(sync_engine, "before_cursor_execute", capture)
    statement, parameters = statements[-1]
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    rows = await driver.fetch("EXPLAIN " + statement, *parameters)
    out.extend(row[0] for row in rows)


def _write(fill_seconds: float, measures: list[Measure]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = ROOT / "bench" / "results" / f"batch-{stamp}.json"
    payload = {
        "when": stamp,
        "data": {"customers": CUSTOMERS, "deals": DEALS, "tickets": TICKETS},
        "fill_seconds": round(fill_seconds, 1),
        "measures": [asdict(m) for m in measures],
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    _update_docs(stamp, fill_seconds, measures)
    return path


SECTION_START, SECTION_END = "<!-- bench:batch:start -->", "<!-- bench:batch:end -->"


def _update_docs(stamp: str, fill_seconds: float, measures: list[Measure]) -> None:
    docs = ROOT / "docs" / "performance.md"
    lines = [
        SECTION_START,
        f"`python -m bench batch` ({stamp}): {CUSTOMERS:,} customers, {DEALS:,} deals "
        f"(40% won over two years), {TICKETS:,} tickets (1% open past due); data made "
        f"server-side in {fill_seconds:.0f} s.",
        "",
        "| job | wall time | peak RSS of the Python process | detail |",
        "|---|---|---|---|",
    ]
    for m in measures:
        detail = {k: v for k, v in m.detail.items() if k != "claim_plan"}
        lines.append(f"| {m.name} | {m.seconds:.2f} s | {m.peak_rss_mb:.0f} MB | {detail} |")
    sweep = next((m for m in measures if m.name == "sla-sweep"), None)
    if sweep:
        lines += ["", "The sweep's claim query:", "", "```", sweep.detail["claim_plan"], "```"]
    lines.append(SECTION_END)
    section = "\n".join(lines)
    text = docs.read_text()
    if SECTION_START in text:
        before, rest = text.split(SECTION_START, 1)
        text = before + section + rest.split(SECTION_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Batch jobs\n\n" + section + "\n"
    docs.write_text(text)


def main(_args: Any = None) -> int:
    fill_seconds = asyncio.run(_recreate_and_fill())
    print(f"filled in {fill_seconds:.1f} s")
    measures = [asyncio.run(_recompute()), *asyncio.run(_sweeps())]
    for m in measures:
        print(m.name, f"{m.seconds:.2f} s", f"{m.peak_rss_mb:.0f} MB", m.detail)
    print("wrote", _write(fill_seconds, measures))
    sweep = measures[1].detail
    return 0 if sweep["claim_uses_index"] else 2

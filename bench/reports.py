"""Every report's latency on a generated dataset, for one team over one year.

    python -m bench generate --scale medium     # 200,000 customers, 1,000,000 deals
    python -m bench reports --scale medium

Each report is requested through the real app in-process (routing, auth, visibility, the
SQL, serialization) by the manager of the team with the most deals, for the twelve months
before the dataset's day, grouped by month, and by the director for the same team and
period. One warm-up, then `--repeat` timed requests; median and min-max wall time. Every
statement of the first request is EXPLAINed: the plan's operators and the largest tables
it reads whole are reported beside the time. Results go to bench/results/reports-<ts>.json
and to the "Reports" section of docs/performance.md (`--scale tiny` writes the JSON only).
"""

import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench.config import DOCS_FILE, RESULTS_DIR, SCALES, dsn
from bench.explain import explain, table_sizes
from bench.inprocess import InProcessService
from bench.prepare import token_for

TARGET_SECONDS = 1.0
REPORTS = (
    ("funnel", "/api/v1/reports/funnel"),
    ("sales", "/api/v1/reports/sales?by=owner"),
    ("forecast", "/api/v1/reports/sales/forecast"),
    ("channels", "/api/v1/reports/channels"),
    ("customer-mix", "/api/v1/reports/customer-mix"),
    ("service", "/api/v1/reports/service"),
)
SECTION_START, SECTION_END = "<!-- bench:reports:start -->", "<!-- bench:reports:end -->"


@dataclass
class Timing:
    report: str
    caller: str
    status: int
    median_ms: float
    min_ms: float
    max_ms: float
    statements: int
    seq_scans: list[str] = field(default_factory=list)


async def _people(database: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn(database))
    try:
        team = await conn.fetchrow(
            "SELECT u.team_id, count(*) AS deals FROM deals d JOIN users u ON u.id = d.owner_id "
            "WHERE u.team_id IS NOT NULL GROUP BY u.team_id ORDER BY count(*) DESC LIMIT 1"
        )
        manager = await conn.fetchval(
            "SELECT id FROM users WHERE role = 'manager' AND team_id = $1 ORDER BY id LIMIT 1",
            team["team_id"],
        )
        director = await conn.fetchval(
            "SELECT id FROM users WHERE role = 'director' ORDER BY id LIMIT 1"
        )
        today = await conn.fetchval("SELECT max(created_at)::date FROM deals")
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in ("customers", "deals", "deal_stage_history", "leads", "tickets")
        }
        sizes = await table_sizes(conn)
    finally:
        await conn.close()
    return {
        "team_id": team["team_id"],
        "team_deals": team["deals"],
        "manager": manager,
        "director": director,
        "today": today,
        "counts": counts,
        "sizes": sizes,
    }


async def _measure(database: str, repeat: int) -> tuple[dict[str, Any], list[Timing]]:
    people = await _people(database)
    end: date = people["today"] + timedelta(days=1)
    start = end.replace(year=end.year - 1)
    query = f"from={start}&to={end}&grouping=month&team_id={people['team_id']}"
    service = InProcessService(database)
    plan_conn = await asyncpg.connect(dsn(database))
    timings = []
    try:
        for caller in ("manager", "director"):
            token = token_for(people[caller])
            for name, path in REPORTS:
                url = f"{path}{'&' if '?' in path else '?'}{query}"
                first = await service.send("GET", url, token, capture=True)
                seconds = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    reply = await service.send("GET", url, token)
                    seconds.append((time.perf_counter() - began) * 1000)
                    if reply.status != 200:
                        raise SystemExit(f"{name} as {caller}: {reply.status} {reply.body[:300]!r}")
                plans = await explain(plan_conn, first.statements, people["sizes"])
                timings.append(
                    Timing(
                        name,
                        caller,
                        first.status,
                        round(statistics.median(seconds), 1),
                        round(min(seconds), 1),
                        round(max(seconds), 1),
                        len(first.statements),
                        sorted({s.table for p in plans for s in p.seq_scans}),
                    )
                )
                t = timings[-1]
                print(f"{name:14} {caller:8} {t.median_ms:8.1f} ms  seq: {t.seq_scans}")
    finally:
        await plan_conn.close()
        await service.close()
    return people, timings


def _markdown(scale: str, stamp: str, people: dict[str, Any], timings: list[Timing]) -> str:
    counts = ", ".join(f"{n:,} {t}" for t, n in people["counts"].items())
    lines = [
        SECTION_START,
        f"Scale **{scale}** ({counts}), run {stamp}: `python -m bench reports --scale {scale}`.",
        f"One team ({people['team_deals']:,} deals), twelve months to {people['today']}, "
        "by month; in-process wall time per request (routing, auth, SQL, JSON), "
        f"target < {TARGET_SECONDS:.0f} s.",
        "",
        "| report | caller | median | min-max | statements | tables read whole |",
        "|---|---|---|---|---|---|",
    ]
    for t in timings:
        scans = ", ".join(t.seq_scans) or "none"
        lines.append(
            f"| {t.report} | {t.caller} | {t.median_ms:,.0f} ms | {t.min_ms:,.0f}-{t.max_ms:,.0f}"
            f" ms | {t.statements} | {scans} |"
        )
    lines.append(SECTION_END)
    return "\n".join(lines)


def _update_docs(section: str) -> None:
    text = DOCS_FILE.read_text()
    if SECTION_START in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1]
        DOCS_FILE.write_text(before + section + after)
    else:
        heading = "\n\n## Reports on a year of data\n\n"
        DOCS_FILE.write_text(text.rstrip() + heading + section + "\n")


def main(args: Any) -> int:
    scale = SCALES[args.scale]
    people, timings = asyncio.run(_measure(scale.database, args.repeat))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"reports-{scale.name}-{stamp}.json"
    payload = {
        "when": stamp,
        "scale": scale.name,
        "counts": people["counts"],
        "team_deals": people["team_deals"],
        "timings": [asdict(t) for t in timings],
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    if scale.name != "tiny":
        _update_docs(_markdown(scale.name, stamp, people, timings))
    print("wrote", path)
    slow = [t for t in timings if t.median_ms > TARGET_SECONDS * 1000]
    return 1 if slow else 0

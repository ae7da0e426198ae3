"""`python -m bench run`: explain, probe, then load-test every scenario against every app."""

import asyncio
import json
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import prepare, report
from bench.config import RESULTS_DIR, SCALES, Scale, dsn
from bench.driver import Measurement, run_wrk, wrk_path
from bench.explain import LARGE_TABLE_ROWS, explain, table_sizes
from bench.inprocess import InProcessService
from bench.scenarios import SCENARIOS, Scenario
from bench.servers import APPS, HOST, SERVICE, App, Server, start


@dataclass
class Options:
    scale: Scale
    scenarios: list[str]
    workers: list[int]
    connections: int
    seconds: float
    warmup: float
    repeat: int
    threads: int
    allow_seq_scan: bool
    explain_only: bool
    seq_scan_rows: int
    command: str


@dataclass
class ScenarioRun:
    scenario: Scenario
    requests: prepare.RequestSet | None = None
    data_file: Path | None = None
    skipped: str | None = None
    statements: int = 0
    plans: list[dict[str, Any]] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)
    probes: dict[str, str] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)

    def apps(self) -> tuple[App, ...]:
        return APPS if self.scenario.baseline else (SERVICE,)


def log(message: str) -> None:
    print(message, flush=True)


async def run(options: Options) -> int:
    wrk_path()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = RESULTS_DIR / stamp
    work.mkdir(parents=True, exist_ok=True)
    service = InProcessService(options.scale.database)
    conn = await asyncpg.connect(dsn(options.scale.database))
    try:
        runs = await _prepare(options, service, conn, work)
        failed = _seq_scan_failures(runs)
        if failed and not options.allow_seq_scan:
            log("\nFAILED: sequential scans of large tables (see the plans above):")
            for line in failed:
                log(f"  {line}")
            return 2
        if options.explain_only:
            return 0
        for workers in options.workers:
            await _load_test(options, runs, workers, conn, work)
    finally:
        await conn.close()
        await service.close()
    document = _document(options, runs, stamp)
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(document, indent=2, default=str))
    markdown = report.markdown(document)
    log("\n" + markdown)
    where = path.relative_to(RESULTS_DIR.parent.parent)
    if options.scenarios:  # a partial run does not replace the documented full one
        log(f"results: {where}")
    else:
        report.update_docs(document, markdown)
        log(f"results: {where}; docs/performance.md updated")
    return 1 if failed else 0


async def _prepare(
    options: Options, service: InProcessService, conn: asyncpg.Connection, work: Path
) -> list[ScenarioRun]:
    sizes = await table_sizes(conn)
    runs = []
    for scenario in SCENARIOS:
        if options.scenarios and scenario.name not in options.scenarios:
            continue
        item = ScenarioRun(scenario)
        runs.append(item)
        if not service.serves(scenario.method, scenario.route):
            item.skipped = f"{scenario.method} {scenario.route} is not registered yet"
            log(f"- {scenario.name}: skipped ({item.skipped})")
            continue
        try:
            item.requests = await prepare.build(scenario, conn, service)
        except (LookupError, RuntimeError) as error:
            item.skipped = str(error)
            log(f"- {scenario.name}: skipped ({error})")
            continue
        item.data_file = prepare.write_lua(item.requests, work, options.threads)
        await _explain(item, service, conn, sizes, options.seq_scan_rows)
        if item.skipped:
            log(f"- {scenario.name}: skipped ({item.skipped})")
    return runs


async def _explain(
    item: ScenarioRun,
    service: InProcessService,
    conn: asyncpg.Connection,
    sizes: dict[str, int],
    threshold: int,
) -> None:
    assert item.requests is not None
    scenario = item.scenario
    first = item.requests.requests[-1 if scenario.sequential else 0]
    body = None if first.body is None else first.body.replace("__N__", "explain").encode()
    headers = {"Idempotency-Key": "bench-explain"} if scenario.idempotent else None
    exchange = await service.send(
        scenario.method,
        first.path,
        first.token,
        body,
        capture=True,
        roll_back=True,
        headers=headers,
    )
    item.probes["service"] = f"{exchange.status}"
    item.statements = len(exchange.statements)
    log(f"\n=== {scenario.name}: {scenario.method} {first.path[:100]}")
    for note in item.requests.notes:
        log(f"    {note}")
    log(f"    service answered {exchange.status}; {item.statements} SQL statements")
    if exchange.status >= 400:
        log(f"    body: {exchange.body[:400]!r}")
        item.skipped = f"the service answered {exchange.status} to the probe request"
    for plan in await explain(conn, exchange.statements, sizes, threshold):
        log("    --- " + " ".join(plan.statement.sql.split())[:400])
        log("    " + plan.text.replace("\n", "\n    "))
        if plan.generic_differs:
            log("    generic plan (prepared statement after 5 runs):")
            log("    " + plan.generic_text.replace("\n", "\n    "))
        item.plans.append(
            {
                "sql": plan.statement.sql,
                "plan": plan.text,
                "generic_plan": plan.generic_text if plan.generic_differs else None,
            }
        )
        item.seq_scans += [
            f"{scenario.name}: Seq Scan on {f.table} ({f.rows:,} rows)" for f in plan.seq_scans
        ]


def _seq_scan_failures(runs: list[ScenarioRun]) -> list[str]:
    return [line for item in runs for line in item.seq_scans]


async def _load_test(
    options: Options, runs: list[ScenarioRun], workers: int, conn: asyncpg.Connection, work: Path
) -> None:
    active = [r for r in runs if r.skipped is None]
    if not active:
        return
    apps = {app for r in active for app in r.apps()}
    log(f"\n##### {workers} worker(s): starting {', '.join(a.name for a in apps)}")
    servers = {app.name: start(app, workers, options.scale.database, str(work)) for app in apps}
    try:
        for item in active:
            await _measure(options, item, servers, conn)
    finally:
        for server in servers.values():
            server.stop()


async def _measure(
    options: Options, item: ScenarioRun, servers: dict[str, Server], conn: asyncpg.Connection
) -> None:
    scenario = item.scenario
    assert item.requests is not None and item.data_file is not None
    apps = [servers[a.name] for a in item.apps()]
    if scenario.kind == "write":
        await prepare.snapshot(scenario, conn, item.requests)
    try:
        log(f"\n--- {scenario.name} ({apps[0].workers} worker(s))")
        since = time.time()
        _probe(item, apps)
        for server in apps:  # warm-up: imports, prepared statements, pools, caches
            run_wrk(
                server,
                item.data_file,
                seconds=options.warmup,
                connections=options.connections,
                threads=options.threads,
            )
            await _undo(item, conn, since)
        for round_ in range(options.repeat):
            for server in apps:  # interleaved A B C A B C, so drift hits every app alike
                since = time.time()
                m = run_wrk(
                    server,
                    item.data_file,
                    seconds=options.seconds,
                    connections=options.connections,
                    threads=options.threads,
                )
                await _undo(item, conn, since)
                item.measurements.append(m)
                _check_pool(item, m)
                log(
                    f"    {round_ + 1}/{options.repeat} {server.app.name:9} {m.rps:8.1f} rps  "
                    f"p50 {m.p50_ms:6.1f} ms  p99 {m.p99_ms:6.1f} ms  errors {m.errors}  "
                    f"cpu {m.cpu_us_per_request:6.0f} us/req  rss {m.peak_rss_mb:.0f} MB"
                )
    finally:
        if scenario.kind == "write":
            await prepare.drop_snapshots(scenario, conn)


def _check_pool(item: ScenarioRun, m: Measurement) -> None:
    """A one-way action (no alternate body) uses each pooled record once per run."""
    assert item.requests is not None
    pool = len(item.requests.requests)
    if item.scenario.sequential and item.scenario.alternate_body is None and m.requests > pool:
        note = (
            f"{m.app} sent {m.requests:,} requests but the dataset has {pool:,} records to "
            "act on: requests past the pool fail (lengthen the pool or shorten --duration)"
        )
        item.requests.notes.append(note)
        log(f"    NOTE: {note}")


async def _undo(item: ScenarioRun, conn: asyncpg.Connection, since: float) -> None:
    if item.scenario.kind == "write":
        await prepare.undo(item.scenario, conn, since, item.requests)


def _probe(item: ScenarioRun, servers: list[Server]) -> None:
    """Send one request to every app: it must succeed, and the JSON must match the service's.

    Sequential (state-changing) scenarios give each app its own record from the end of
    the pool; the run's undo puts them back.
    """
    assert item.requests is not None
    scenario = item.scenario
    bodies: dict[str, Any] = {}
    for n, server in enumerate(servers, start=1):
        request = item.requests.requests[-n if scenario.sequential else 0]
        headers = {"Authorization": request.token}
        content = None
        if request.body is not None:
            content = request.body.replace("__N__", f"probe{server.app.name}{time.time_ns()}")
            headers["Content-Type"] = "application/json"
        if scenario.idempotent:
            headers["Idempotency-Key"] = f"probe-{server.app.name}-{time.time_ns()}"
        url = f"http://{HOST}:{server.app.port}{request.path}"
        response = httpx.request(scenario.method, url, headers=headers, content=content)
        item.probes[server.app.name] = str(response.status_code)
        if response.status_code >= 400:
            log(f"    probe {server.app.name}: {response.status_code} {response.text[:300]}")
            continue
        bodies[server.app.name] = response.json()
    exact = scenario.kind == "read"
    for name, body in bodies.items():
        verdict = report.compare_json(bodies.get("service"), body, exact=exact)
        if name != "service" and "service" in bodies and verdict:
            item.probes[name] += f" (JSON differs: {verdict})"
            log(f"    probe {name}: JSON differs from the service: {verdict}")


def _machine() -> dict[str, Any]:
    import os

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "cpu_model": model,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def _document(options: Options, runs: list[ScenarioRun], stamp: str) -> dict[str, Any]:
    return {
        "timestamp": stamp,
        "scale": options.scale.name,
        "command": options.command,
        "machine": _machine(),
        "settings": {
            "connections": options.connections,
            "seconds": options.seconds,
            "warmup": options.warmup,
            "repeat": options.repeat,
            "workers": options.workers,
            "wrk_threads": options.threads,
            "seq_scan_rows": options.seq_scan_rows,
        },
        "scenarios": [
            {
                "name": r.scenario.name,
                "title": r.scenario.title,
                "kind": r.scenario.kind,
                "skipped": r.skipped,
                "notes": r.requests.notes if r.requests else [],
                "statements_per_request": r.statements,
                "seq_scans": r.seq_scans,
                "probes": r.probes,
                "plans": r.plans,
                "measurements": [m.as_dict() for m in r.measurements],
            }
            for r in runs
        ],
    }


def main(args: Any) -> int:
    options = Options(
        scale=SCALES[args.scale],
        scenarios=args.scenario or [],
        workers=args.workers,
        connections=args.connections,
        seconds=args.duration,
        warmup=args.warmup,
        repeat=args.repeat,
        threads=args.threads,
        allow_seq_scan=args.allow_seq_scan,
        explain_only=args.explain_only,
        seq_scan_rows=args.seq_scan_rows or LARGE_TABLE_ROWS,
        command="python -m bench " + shlex.join(sys.argv[1:]),
    )
    return asyncio.run(run(options))

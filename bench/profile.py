"""`python -m bench profile`: where one scenario's request spends its CPU, in-process.

Calls the ASGI app directly (no HTTP client, no server) for the scenario's requests, one
after another, first without and then with cProfile: it prints CPU µs per request for
the whole app and the functions that cost the most. Use it to find what to optimise,
then confirm with `run`.
"""

import asyncio
import cProfile
import io
import pstats
import resource
import time
import urllib.parse
from typing import Any

import asyncpg

from bench import prepare
from bench.config import SCALES, dsn
from bench.inprocess import InProcessService
from bench.scenarios import BY_NAME


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def call(app: Any, method: str, url: str, token: str, body: bytes | None) -> int:
    """One request straight through the ASGI app; returns the status."""
    parts = urllib.parse.urlsplit(url)
    headers = [(b"host", b"bench"), (b"authorization", token.encode())]
    if body is not None:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]  # fmt: skip
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": parts.path, "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(), "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "root_path": "", "state": {},
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body or b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def profile(scale: str, name: str, count: int, top: int) -> None:
    scenario = BY_NAME[name]
    database = SCALES[scale].database
    service = InProcessService(database)
    conn = await asyncpg.connect(dsn(database))
    try:
        request_set = await prepare.build(scenario, conn, service)
        requests = request_set.requests
        if scenario.kind == "write":
            await prepare.snapshot(scenario, conn, request_set)
        since = time.time()

        async def batch(n: int) -> dict[int, int]:
            statuses: dict[int, int] = {}
            for i in range(n):
                r = requests[i % len(requests)]
                body = None if r.body is None else r.body.replace("__N__", f"p{i}").encode()
                status = await call(service.app, scenario.method, r.path, r.token, body)
                statuses[status] = statuses.get(status, 0) + 1
            return statuses

        await batch(min(200, count))  # warm caches and the pool
        if scenario.kind == "write":
            await prepare.undo(scenario, conn, since, request_set)
        started, wall = _cpu(), time.perf_counter()
        statuses = await batch(count)
        cpu, elapsed = _cpu() - started, time.perf_counter() - wall
        per_request = cpu / count * 1e6
        print(f"{name}: {count} requests {statuses}; CPU {per_request:.0f} µs/request "
              f"(driver included), wall {elapsed / count * 1e3:.2f} ms")  # fmt: skip
        if scenario.kind == "write":
            await prepare.undo(scenario, conn, since, request_set)
        # CPU time, not wall time: a suspended coroutine must not look expensive.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        await batch(count)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        print(out.getvalue())
        if scenario.kind == "write":
            await prepare.undo(scenario, conn, since, request_set)
            await prepare.drop_snapshots(scenario, conn)
    finally:
        await conn.close()
        await service.close()


def main(args: Any) -> int:
    import uvloop

    uvloop.install()
    asyncio.run(profile(args.scale, args.scenario, args.requests, args.top))
    return 0

"""Drive one server with wrk and measure what serving cost it."""

import json
import shutil
import subprocess
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.config import BENCH_DIR
from bench.servers import HOST, Server

LUA_SCRIPT = BENCH_DIR / "wrk" / "requests.lua"


@dataclass(frozen=True)
class Measurement:
    app: str
    workers: int
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx: int
    cpu_us_per_request: float  # summed over the workers
    cpu_share: float  # worker CPU seconds per wall second (2.0 = two cores busy)
    peak_rss_mb: float  # the largest worker's high-water mark

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: run `bash bench/setup.sh` (apt-get install wrk)")
    return found


def run_wrk(
    server: Server, data_file: Path, *, seconds: float, connections: int, threads: int
) -> Measurement:
    before = server.usage()
    command = [
        wrk_path(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        f"http://{HOST}:{server.app.port}",
        "--",
        str(data_file),
        uuid.uuid4().hex[:8],
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    after = server.usage()
    result = _parse(done.stdout, done.stderr)
    elapsed = result["duration_us"] / 1e6
    cpu = sum(a.cpu_seconds - b.cpu_seconds for a, b in zip(after, before, strict=True))
    count = max(1, result["requests"])
    errors = sum(result[k] for k in ("errors_connect", "errors_read", "errors_write"))
    return Measurement(
        app=server.app.name,
        workers=server.workers,
        connections=connections,
        seconds=round(elapsed, 2),
        requests=result["requests"],
        rps=round(result["requests"] / elapsed, 1),
        p50_ms=result["p50_us"] / 1000,
        p90_ms=result["p90_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        errors=errors + result["errors_timeout"] + result["errors_status"],
        non_2xx=result["errors_status"],
        cpu_us_per_request=round(cpu / count * 1e6, 1),
        cpu_share=round(cpu / elapsed, 2),
        peak_rss_mb=round(max(u.peak_rss_mb for u in after), 1),
    )


def _parse(stdout: str, stderr: str) -> dict[str, int]:
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))  # type: ignore[no-any-return]
    raise RuntimeError(f"wrk printed no result.\nstdout:\n{stdout}\nstderr:\n{stderr}")

"""Start and stop the servers under test, each on its own loopback port."""

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field

from bench.config import JWT_SECRET, ROOT, VENV_BIN, database_url, dsn
from bench.procs import Usage, usage, worker_pids

HOST = "127.0.0.1"


@dataclass(frozen=True)
class App:
    """One implementation under test."""

    name: str
    label: str
    port: int

    def command(self, workers: int) -> list[str]:
        if self.name == "service":
            # Exactly how production starts it.
            return [
                str(VENV_BIN / "salesflow"),
                "serve",
                "--no-migrate",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ]
        module = {"fastapi": "fastapi_app", "starlette": "starlette_app"}[self.name]
        return [
            str(VENV_BIN / "uvicorn"),
            f"bench.baseline.{module}:app",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]


SERVICE = App("service", "Salesflow (FastAPI + SQLAlchemy Core)", 18_001)
FASTAPI = App("fastapi", "Baseline: FastAPI + raw asyncpg", 18_002)
STARLETTE = App("starlette", "Ceiling: Starlette + raw asyncpg", 18_003)
APPS = (SERVICE, FASTAPI, STARLETTE)


def environment(database: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SALESFLOW_DATABASE_URL=database_url(database),
        SALESFLOW_LOG_LEVEL="WARNING",
        SALESFLOW_ENVIRONMENT="production",
        SALESFLOW_JWT_SECRET=JWT_SECRET,
        # Nothing writes behind the measured requests: no SLA sweeps, no re-tiering rounds.
        SALESFLOW_SLA_SWEEP_INTERVAL_SECONDS="0",
        SALESFLOW_TRIGGERS_INTERVAL_SECONDS="0",
        BENCH_DSN=dsn(database),
        PYTHONPATH=str(ROOT),
    )
    return env


@dataclass
class Server:
    app: App
    workers: int
    process: subprocess.Popen[bytes]
    pids: list[int] = field(default_factory=list)

    def usage(self) -> list[Usage]:
        return [usage(pid) for pid in self.pids]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(app: App, workers: int, database: str, log_dir: str) -> Server:
    log = open(os.path.join(log_dir, f"{app.name}-{workers}w.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        app.command(workers),
        cwd=ROOT,
        env=environment(database),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop() reaches the workers
    )
    server = Server(app, workers, process)
    _wait_until_serving(server)
    return server


def _wait_until_serving(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.app.name} exited with {server.process.returncode}")
        pids = worker_pids(server.process.pid, server.workers)
        if len(pids) == server.workers and _answers(server.app.port):
            server.pids = pids
            time.sleep(1.0)  # let the other workers finish importing too
            return
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{server.app.name} did not start serving within {timeout}s")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False

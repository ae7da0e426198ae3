"""The service stops within SALESFLOW_SHUTDOWN_TIMEOUT_SECONDS, even when a background job
will not stop when asked."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app import main
from app.main import create_app
from tests.conftest import RolledBackDatabase

SHUTDOWN_SECONDS = 0.2


class DisposalRecorded(RolledBackDatabase):
    disposed = False

    async def dispose(self) -> None:
        self.disposed = True


@pytest.fixture
def service_log(caplog):  # type: ignore[no-untyped-def]
    """The service's loggers do not propagate to the root, where caplog listens."""
    logger = logging.getLogger("salesflow")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


@pytest.fixture
def in_process_app(engine, conn, settings):  # type: ignore[no-untyped-def]
    quick = settings.model_copy(
        update={"jobs": "in_process", "shutdown_timeout_seconds": SHUTDOWN_SECONDS}
    )
    return create_app(quick, DisposalRecorded(engine, conn))


def job_loop(
    running: list[asyncio.Task[Any]], release: asyncio.Event | None = None
) -> Callable[[Any], Awaitable[None]]:
    """A stand-in for the in-process job loop; given `release`, it carries on when
    cancelled until `release` is set."""

    async def run(app_state: Any) -> None:
        running.append(asyncio.current_task())  # type: ignore[arg-type]
        while True:
            try:
                await (release or asyncio.Event()).wait()
                return
            except asyncio.CancelledError:
                if release is None:
                    raise

    return run


async def seconds_to_shut_down(app) -> float:  # type: ignore[no-untyped-def]
    """Start the app's lifespan, then time its shutdown (failing past 3 s, not hanging)."""
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    await asyncio.sleep(0)  # the job loop starts
    started = time.monotonic()
    shutdown = asyncio.ensure_future(lifespan.__aexit__(None, None, None))
    done, _ = await asyncio.wait({shutdown}, timeout=3)
    assert done, "the shutdown was still waiting after 3 s"
    shutdown.result()
    return time.monotonic() - started


async def test_a_job_that_ignores_its_cancellation_does_not_hold_the_shutdown(
    in_process_app, monkeypatch, service_log
):
    running: list[asyncio.Task[Any]] = []
    release = asyncio.Event()
    monkeypatch.setattr(main, "run_jobs_in_process", job_loop(running, release))
    try:
        elapsed = await seconds_to_shut_down(in_process_app)
        [job] = running
        assert not job.done()
    finally:
        release.set()
        if running:
            await asyncio.wait(running, timeout=1)
    # The job had the whole allowance, and the shutdown ended soon after it ran out.
    assert SHUTDOWN_SECONDS * 0.95 <= elapsed < SHUTDOWN_SECONDS + 1
    assert any("did not finish within 0.2 s" in r.getMessage() for r in service_log.records)


async def test_jobs_that_stop_are_waited_for_then_the_pool_is_closed(in_process_app, monkeypatch):
    running: list[asyncio.Task[Any]] = []
    monkeypatch.setattr(main, "run_jobs_in_process", job_loop(running))
    await seconds_to_shut_down(in_process_app)
    [job] = running
    assert job.cancelled()
    assert in_process_app.state.db.disposed

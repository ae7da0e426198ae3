"""On the SQLite default the API process runs the background tasks itself, each at its
period, until it stops; a failing run never ends the loop."""

import asyncio

import pytest

from app.jobs import inprocess, tasks


def _recording(monkeypatch, *names: str, fail: str | None = None):  # type: ignore[no-untyped-def]
    runs: dict[str, int] = {name: 0 for name in names}
    seen = asyncio.Event()

    def fake(name: str):  # type: ignore[no-untyped-def]
        async def run(ctx, *args):  # type: ignore[no-untyped-def]
            runs[name] += 1
            if all(count >= 2 for count in runs.values()):
                seen.set()
            if name == fail:
                raise RuntimeError("database restarting")

        return run

    for name in names:
        monkeypatch.setattr(tasks, name, fake(name))
    return runs, seen


async def _run_until(app, seen: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.create_task(inprocess.run_forever(app.state))
    await asyncio.wait_for(seen.wait(), timeout=10)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop


async def test_each_task_runs_at_its_period_until_cancelled(app, monkeypatch):
    runs, seen = _recording(monkeypatch, "sla_sweep", "scheduled_round", "dispatch_webhooks")
    app.state.settings = app.state.settings.model_copy(
        update={
            "sla_sweep_interval_seconds": 0.01,
            "triggers_interval_seconds": 0.02,
            "jobs_dispatch_interval_seconds": 0.01,
        }
    )
    await _run_until(app, seen)
    assert min(runs.values()) >= 2


async def test_a_period_of_zero_disables_a_task_and_all_zero_returns_at_once(app, monkeypatch):
    runs, _ = _recording(monkeypatch, "sla_sweep", "scheduled_round", "dispatch_webhooks")
    app.state.settings = app.state.settings.model_copy(
        update={
            "sla_sweep_interval_seconds": 0,
            "triggers_interval_seconds": 0,
            "jobs_dispatch_interval_seconds": 0,
        }
    )
    await asyncio.wait_for(inprocess.run_forever(app.state), timeout=1)
    assert runs == {"sla_sweep": 0, "scheduled_round": 0, "dispatch_webhooks": 0}


async def test_a_failing_task_is_tried_again_and_the_others_keep_running(app, monkeypatch):
    runs, seen = _recording(monkeypatch, "sla_sweep", "scheduled_round", fail="sla_sweep")
    app.state.settings = app.state.settings.model_copy(
        update={
            "sla_sweep_interval_seconds": 0.01,
            "triggers_interval_seconds": 0.01,
            "jobs_dispatch_interval_seconds": 60,
        }
    )
    monkeypatch.setattr(tasks, "dispatch_webhooks", lambda ctx: asyncio.sleep(0))
    await _run_until(app, seen)
    assert runs["sla_sweep"] >= 2 and runs["scheduled_round"] >= 2

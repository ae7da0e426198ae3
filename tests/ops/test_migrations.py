"""Every migration goes down as well as up, on each backend, from an empty database; the
migrations log as the service does."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from alembic import command
from app.cli import cli
from app.core.config import Settings, get_settings
from app.core.db import create_engine
from app.models import metadata
from app.ops.migrations import alembic_config
from tests.conftest import execute_autocommit, logging_restored
from tests.conftest import test_settings as settings_for


@pytest.fixture
async def empty_database(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own, so going down to base leaves the suite's schema alone."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    url = engine.url
    name = f"{url.database}_mig_{uuid.uuid4().hex[:8]}"
    admin = url.render_as_string(hide_password=False)
    await execute_autocommit(admin, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        await execute_autocommit(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _tables(url: str) -> set[str]:
    engine = create_engine(settings_for(url), url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


# The job engine's own tables (revision 0011, PostgreSQL only).
PROCRASTINATE_TABLES = {
    "procrastinate_events",
    "procrastinate_jobs",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
}


async def test_upgrade_downgrade_upgrade_round_trips(empty_database: str):
    config = alembic_config(empty_database)
    config.attributes["configure_logging"] = False
    every_table = set(metadata.tables)
    if not empty_database.startswith("sqlite"):
        every_table |= PROCRASTINATE_TABLES

    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _tables(empty_database) == every_table | {"alembic_version"}

    await asyncio.to_thread(command.downgrade, config, "base")
    assert await _tables(empty_database) == {"alembic_version"}

    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _tables(empty_database) == every_table | {"alembic_version"}
    await asyncio.to_thread(command.check, config)


@pytest.fixture
def environment_of(monkeypatch):  # type: ignore[no-untyped-def]
    """The process environment of a command run against the test database."""

    def set_up(settings: Settings, *, log_json: bool) -> None:
        monkeypatch.setenv("SALESFLOW_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("SALESFLOW_LOG_JSON", str(log_json).lower())
        get_settings.cache_clear()

    yield set_up
    get_settings.cache_clear()


async def test_salesflow_migrate_logs_json_lines_when_asked(settings, environment_of):
    environment_of(settings, log_json=True)
    with logging_restored():
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["migrate"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(
        record["logger"] == "alembic.runtime.migration" and record["message"].startswith("Context")
        for record in records
    ), result.stderr


@pytest.mark.parametrize("log_json", [True, False])
async def test_the_alembic_command_logs_json_when_asked_and_alembic_ini_text_otherwise(
    settings, environment_of, capsys, log_json
):
    environment_of(settings, log_json=log_json)
    with logging_restored():
        await asyncio.to_thread(command.current, alembic_config(settings.database_url))
    written = capsys.readouterr().err.splitlines()
    if log_json:
        records = [json.loads(line) for line in written]
        assert any(record["message"].startswith("Context impl") for record in records), written
    else:
        assert any(
            line.startswith("INFO  [alembic.runtime.migration] Context impl") for line in written
        ), written

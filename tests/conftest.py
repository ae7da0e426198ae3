"""Test harness: the schema comes from `alembic upgrade head`; every test is rolled back.

The API suite runs once per backend: the embedded SQLite default always, and PostgreSQL
when SALESFLOW_TEST_DATABASE_URL names a database. With SALESFLOW_REQUIRE_POSTGRES=1 a
missing or unreachable PostgreSQL fails the run instead of shrinking it.
"""

import asyncio
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alembic import command
from app.core.config import Settings
from app.core.db import Database, create_engine
from app.main import create_app
from app.ops.migrations import alembic_config

POSTGRES_URL = os.environ.get("SALESFLOW_TEST_DATABASE_URL")
REQUIRE_POSTGRES = os.environ.get("SALESFLOW_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_POSTGRES and not POSTGRES_URL:
        raise pytest.UsageError(
            "SALESFLOW_REQUIRE_POSTGRES=1 but SALESFLOW_TEST_DATABASE_URL is not set"
        )


TEST_JWT_SECRET = "salesflow-test-suite-signing-secret-0123456789"


def test_settings(url: str) -> Settings:
    # A fixed secret: the suite's apps do not run their start-up, which would generate one.
    return Settings(
        environment="test", database_url=url, log_level="WARNING", jwt_secret=TEST_JWT_SECRET
    )


async def execute_autocommit(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    engine = create_engine(test_settings(url), url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def worker_database(url: str) -> AsyncIterator[str]:
    """The database this test process uses: `url` itself, or under pytest-xdist a fresh
    database of the worker's own beside it (`<name>_gw0`, ...), dropped afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield url
        return
    name = f"{make_url(url).database}_{worker}"
    await execute_autocommit(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await execute_autocommit(url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        await execute_autocommit(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _reset_postgres(url: str) -> None:
    engine = create_engine(test_settings(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def _migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


@pytest.fixture(scope="session", params=BACKENDS)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """A migrated database for the whole session, one per backend."""
    if request.param == "postgres":
        assert POSTGRES_URL
        async with worker_database(POSTGRES_URL) as url:
            await _reset_postgres(url)
            async with _migrated(url) as engine:
                yield engine
    else:
        with tempfile.TemporaryDirectory() as tmp:
            async with _migrated(f"sqlite+aiosqlite:///{Path(tmp) / 'test.db'}") as engine:
                yield engine


@asynccontextmanager
async def _migrated(url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(_migrate, url)
    engine = create_engine(test_settings(url), url)
    try:
        yield engine
    finally:
        await engine.dispose()


class RolledBackDatabase(Database):
    """Hands every unit of work a SAVEPOINT on the test's one connection."""

    def __init__(self, engine: AsyncEngine, conn: AsyncConnection) -> None:
        super().__init__(engine)
        self.conn = conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.conn.begin_nested():
            yield self.conn

    reading = transaction

    async def dispose(self) -> None:
        """The session's engine outlives each test's app."""


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def backend(engine: AsyncEngine) -> str:
    return engine.dialect.name


@pytest.fixture
def settings(engine: AsyncEngine) -> Settings:
    return test_settings(str(engine.url))


@pytest.fixture
async def app(engine: AsyncEngine, conn: AsyncConnection, settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings, RolledBackDatabase(engine, conn))


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@contextmanager
def logging_restored() -> Iterator[None]:
    """The process's logging as it was before, whatever configuration the block applied
    (`logging.config.dictConfig` replaces the root's handlers, pytest's among them). Used
    inside a test, so pytest's handlers are those of the test's own phase."""
    before = {logger: _logger_state(logger) for logger in _loggers()}
    try:
        yield
    finally:
        for logger in _loggers():
            level, handlers, propagate, disabled = before.get(
                logger, (logging.NOTSET, [], True, False)
            )
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.disabled = disabled


def _loggers() -> list[logging.Logger]:
    named = logging.getLogger().manager.loggerDict.values()
    return [logging.getLogger(), *(each for each in named if isinstance(each, logging.Logger))]


def _logger_state(logger: logging.Logger) -> tuple[int, list[logging.Handler], bool, bool]:
    return logger.level, logger.handlers[:], logger.propagate, logger.disabled


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"

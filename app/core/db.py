"""Engine, connections and the request's unit of work.

The data path is SQLAlchemy Core on one `AsyncConnection` per request: statements are
built once and cached, rows are read as mappings and serialized straight to JSON
(see docs/adr/0001-core-data-path.md). One transaction per request, committed before the
response is sent; a request that only reads runs its statements in autocommit on PostgreSQL.
"""

import asyncio
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from app.core.config import Settings


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so SAVEPOINTs and rollbacks work.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    url = url or settings.database_url
    if url.startswith("sqlite"):
        # SQLite keeps NUMERIC as REAL; 18-digit cents stay exact well past any amount here.
        warnings.filterwarnings("ignore", r"Dialect sqlite\+aiosqlite does \*not\* support Decimal")
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    server_settings = {"application_name": "salesflow"}
    if settings.db_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            # The server's statement_timeout cannot help when the network between us
            # stalls: without a limit of our own a request would wait out the stall.
            "command_timeout": settings.db_client_timeout_seconds,
            "server_settings": server_settings,
        },
    )
    event.listen(engine.sync_engine, "handle_error", _drop_stalled_connection)
    return engine


class StatementTimedOut(sa_exc.SQLAlchemyError):
    """The database did not answer a statement within the client-side limit
    (`Settings.db_client_timeout_seconds`); its connection has been dropped."""


def _drop_stalled_connection(context: ExceptionContext) -> BaseException | None:
    """A statement that timed out or was cancelled on our side leaves its connection
    mid-conversation. SQLAlchemy then discards the connection, but closes it politely,
    waiting for a server that may not be listening; abort it at once instead."""
    error, connection = context.original_exception, context.connection
    if connection is None or connection.invalidated:
        return None
    if not isinstance(error, TimeoutError | asyncio.CancelledError):
        return None
    driver = connection.connection.driver_connection
    if driver is not None:
        driver.terminate()
    context.is_disconnect = True
    if isinstance(error, TimeoutError):
        return StatementTimedOut("the database did not answer within the client-side timeout")
    return None


class Database:
    """Owns the engine; hands out one transaction per unit of work.

    On PostgreSQL every unit of work first takes a place in a first-come, first-served
    queue as long as the pool is big (`pool_size + max_overflow`). The pool's own wait is
    an `asyncio.Queue`, which is not fair: a connection handed back wakes the oldest
    waiter, but a request arriving before that waiter runs takes the connection first and
    the waiter queues again at the back. Under saturation a few requests then wait for
    seconds while the median stays low; behind the fair queue the pool never has to make
    anyone wait. Waiting longer than `pool_timeout` is the pool's TimeoutError (a 503).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._places: asyncio.Semaphore | None = None
        self._wait_seconds = 0.0
        pool = engine.pool
        if engine.dialect.name == "postgresql" and isinstance(pool, QueuePool):
            overflow = max(pool._max_overflow, 0)  # the pool has no public accessor for it
            self._places = asyncio.Semaphore(pool.size() + overflow)
            self._wait_seconds = pool.timeout()

    @asynccontextmanager
    async def _place(self) -> AsyncIterator[None]:
        if self._places is None:
            yield
            return
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._places.acquire()
        except TimeoutError:
            raise sa_exc.TimeoutError(
                f"no database connection free within {self._wait_seconds} s"
            ) from None
        try:
            yield
        finally:
            self._places.release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._place(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A unit of work that only reads.

        On PostgreSQL its statements run in autocommit: no BEGIN and COMMIT round trips.
        Under READ COMMITTED every statement takes a fresh snapshot inside a transaction
        too, so readers see exactly what they would in one. The pool puts the connection
        back to transactional mode when it is returned.
        """
        if self.engine.dialect.name != "postgresql":
            async with self.transaction() as conn:
                yield conn
            return
        async with self._place(), self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_unavailable(error: BaseException) -> bool:
    """True when the database cannot be reached, as opposed to refusing a statement."""
    if isinstance(error, sa_exc.TimeoutError | ConnectionError | OSError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        return (
            bool(error.connection_invalidated)
            or isinstance(error, sa_exc.InterfaceError)
            or _is_connect_failure(error)
        )
    return False


def _is_connect_failure(error: sa_exc.DBAPIError) -> bool:
    orig = getattr(error, "orig", None)
    cause = getattr(orig, "__cause__", None) or orig
    return isinstance(cause, ConnectionError | OSError) or type(cause).__name__ in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "TooManyConnectionsError",
        "AdminShutdownError",
    }


def constraint_name(error: sa_exc.IntegrityError) -> str | None:
    """The violated constraint's name (PostgreSQL), or None where the driver does not say."""
    orig = error.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None


def is_statement_timeout(error: BaseException) -> bool:
    """PostgreSQL cancelled the statement at `statement_timeout` (SQLSTATE 57014), or we
    gave up waiting for its answer a little later."""
    if isinstance(error, StatementTimedOut):
        return True
    return isinstance(error, sa_exc.DBAPIError) and sqlstate(error) == "57014"


def sqlstate(error: sa_exc.DBAPIError) -> str | None:
    """The PostgreSQL SQLSTATE behind a driver error, where there is one."""
    orig = error.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def is_data_exception(error: BaseException) -> bool:
    """SQLSTATE class 22: the value itself was unacceptable (NUL byte, out of range...)."""
    if isinstance(error, sa_exc.DataError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and (sqlstate(error) or "").startswith("22")


async def ping(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("SELECT 1"))


def insert_or_skip(conn: AsyncConnection | str, table: sa.Table, **conflict: Any) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` in the connection's dialect (or the dialect
    named; both spell it alike); `conflict` goes to `on_conflict_do_nothing` (e.g.
    `index_elements=[...]`)."""
    from sqlalchemy.dialects import postgresql, sqlite

    name = conn if isinstance(conn, str) else conn.dialect.name
    dialect = postgresql if name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(**conflict)

"""Fill a benchmark database through the real schema, fast.

The schema comes from `alembic upgrade head`, exactly as in production. The rows go in
with binary COPY, in chunks, while the tables' secondary indexes are dropped (they are
rebuilt afterwards by sorting, which is several times faster than maintaining them row by
row) and foreign-key triggers are off for the session (`session_replication_role =
replica`: the generator only references rows it made). CHECK and NOT NULL constraints and
the primary keys stay on, so every row is still checked against the schema.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

import asyncpg

from bench.config import Scale, database_url, dsn
from bench.dataset import STAGE_HISTORY_SQL, TABLE_COLUMNS, Dataset, Row

CHUNK_ROWS = 50_000
LOADED_TABLES = (*TABLE_COLUMNS, "deal_stage_history", "deal_stage_stays")


@dataclass
class LoadReport:
    database: str
    seed: int
    anchor: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def step(self, name: str, started: float) -> None:
        self.seconds[name] = round(time.perf_counter() - started, 2)
        print(f"  {name}: {self.seconds[name]:.1f}s", flush=True)


def create_database(scale: Scale) -> None:
    """Drop and recreate the scale's database, then migrate it to head."""
    from alembic import command
    from app.ops.migrations import alembic_config

    async def recreate() -> None:
        admin = await asyncpg.connect(dsn("postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{scale.database}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{scale.database}"')
        finally:
            await admin.close()

    asyncio.run(recreate())
    config = alembic_config(database_url(scale.database))
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


def chunks(rows: Iterable[Row], size: int = CHUNK_ROWS) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


Chunk = dict[str, list[Row]]
# Parents before children, so a half-loaded database holds no orphans.
DEAL_TABLES = ("deals", "quotes", "quote_versions", "quote_line_items")


def table_chunks(table: str, rows: Iterable[Row]) -> Iterator[Chunk]:
    for chunk in chunks(rows):
        yield {table: chunk}


def deal_chunks(data: Dataset) -> Iterator[Chunk]:
    """Deals and everything that hangs off them come out of one pass over the deals."""
    for batches in chunks(data.deal_batches(), CHUNK_ROWS // 2):
        chunk: Chunk = {table: [] for table in DEAL_TABLES}
        for batch in batches:
            chunk["deals"].append(batch.deal)
            chunk["quotes"] += batch.quotes
            chunk["quote_versions"] += batch.quote_versions
            chunk["quote_line_items"] += batch.quote_lines
        yield chunk


def ticket_chunks(data: Dataset) -> Iterator[Chunk]:
    """The tickets over two years, then the fresh intake with the first event of each
    one's SLA log."""
    yield from table_chunks("tickets", data.ticket_rows())
    for pairs in chunks(data.intake_rows()):
        yield {"tickets": [t for t, _ in pairs], "ticket_sla_events": [e for _, e in pairs]}


class Loader:
    def __init__(self, conn: asyncpg.Connection, report: LoadReport) -> None:
        self.conn = conn
        self.report = report

    async def copy(self, label: str, source: Iterator[Chunk]) -> None:
        """COPY every chunk, generating the next one in a thread meanwhile.

        The generator and asyncpg's encoder share the GIL, but PostgreSQL ingests the
        previous chunk on the other core while Python makes the next.
        """
        started = time.perf_counter()
        counts: dict[str, int] = {}
        loop = asyncio.get_running_loop()
        pending = loop.run_in_executor(None, next, source, None)
        while (chunk := await pending) is not None:
            pending = loop.run_in_executor(None, next, source, None)
            for table, rows in chunk.items():
                if rows:
                    await self.conn.copy_records_to_table(
                        table, records=rows, columns=list(TABLE_COLUMNS[table])
                    )
                counts[table] = counts.get(table, 0) + len(rows)
        for table, count in counts.items():
            self.report.rows[table] = self.report.rows.get(table, 0) + count
        total = ", ".join(f"{t} {n:,}" for t, n in counts.items())
        self.report.step(f"copy {label} ({total})", started)


async def secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the loaded tables' non-unique indexes."""
    rows = await conn.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY($1::text[]) AND NOT x.indisunique AND NOT x.indisprimary
        ORDER BY t.relname, i.relname
        """,
        list(LOADED_TABLES),
    )
    return [(r["name"], r["definition"]) for r in rows]


async def _session(scale: Scale) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn(scale.database))
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute("SET synchronous_commit = off")
    return conn


async def derive_stage_history(
    conns: list[asyncpg.Connection], report: LoadReport, also: Any = None
) -> None:
    """Two sessions, one per half of the deals; `also` (a coroutine) runs meanwhile."""
    started = time.perf_counter()
    first = conns[0]
    # Its ids arrive in deal order, not time order: build the key afterwards by sorting.
    await first.execute("ALTER TABLE deal_stage_history DROP CONSTRAINT pk_deal_stage_history")
    count = await first.fetchval("SELECT count(*) FROM deals")
    middle = await first.fetchval("SELECT id FROM deals ORDER BY id OFFSET $1 LIMIT 1", count // 2)
    lowest, beyond = uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1)
    bounds = [(lowest, middle), (middle, beyond)] if middle else [(lowest, beyond)]
    results = await asyncio.gather(
        *(c.execute(STAGE_HISTORY_SQL, lo, hi) for c, (lo, hi) in zip(conns, bounds, strict=False)),
        *([also] if also is not None else []),
    )
    # The top id itself is never a deal id (all ones), so `< beyond` loses no row.
    rows = sum(int(status.split()[-1]) for status in results[: len(bounds)])
    await first.execute(
        "ALTER TABLE deal_stage_history ADD CONSTRAINT pk_deal_stage_history PRIMARY KEY (id)"
    )
    report.rows["deal_stage_history"] = rows
    report.step(f"derive deal_stage_history ({rows:,} rows)", started)


async def derive_stage_stays(conn: asyncpg.Connection, report: LoadReport) -> None:
    """Time in stage from the history, by the service's own set-based statement."""
    from sqlalchemy.dialects import postgresql

    from app.deals.stays import rebuild

    started = time.perf_counter()
    sql = str(
        rebuild("postgresql").compile(
            dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    status = await conn.execute(sql)
    report.rows["deal_stage_stays"] = int(status.split()[-1])
    report.step(f"derive deal_stage_stays ({report.rows['deal_stage_stays']:,} rows)", started)


async def create_indexes(conns: list[asyncpg.Connection], definitions: list[str]) -> None:
    """Two builds at a time, one per core (each may use parallel workers as well)."""
    queue = list(definitions)

    async def worker(conn: asyncpg.Connection) -> None:
        while queue:
            await conn.execute(queue.pop())

    await asyncio.gather(*(worker(c) for c in conns))


async def fill(scale: Scale, seed: int, anchor: date | None, vacuum: bool) -> LoadReport:
    data = Dataset(scale, seed, anchor)
    report = LoadReport(scale.database, seed, date.fromtimestamp(data.now).isoformat())
    conn, second, third = [await _session(scale) for _ in range(3)]
    try:
        indexes = await secondary_indexes(conn)
        started = time.perf_counter()
        for name, _ in indexes:
            await conn.execute(f'DROP INDEX "{name}"')
        report.step(f"drop {len(indexes)} secondary indexes", started)
        loader = Loader(conn, report)
        await loader.copy("teams", table_chunks("teams", data.org.teams))
        await loader.copy("users", table_chunks("users", data.org.users))
        await loader.copy("customers", table_chunks("customers", data.customer_rows()))
        await loader.copy("contacts", table_chunks("contacts", data.contact_rows()))
        await loader.copy("leads", table_chunks("leads", data.lead_rows()))
        await loader.copy("deals", deal_chunks(data))
        # PostgreSQL derives the history while Python makes the tickets.
        tickets = loader.copy("tickets", ticket_chunks(data))
        await derive_stage_history([second, third], report, also=tickets)
        await derive_stage_stays(conn, report)
        started = time.perf_counter()
        await create_indexes([conn, second], [definition for _, definition in indexes])
        report.step(f"create {len(indexes)} secondary indexes", started)
        started = time.perf_counter()
        await conn.execute("SET session_replication_role = DEFAULT")
        # ANALYZE samples; VACUUM also sets hint bits and the visibility map by rewriting
        # every page, minutes at the large scale, which the first reads otherwise do lazily.
        await conn.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
        if not vacuum:
            # The funnel reads this table index-only, which needs the visibility map.
            await conn.execute("VACUUM deal_stage_stays")
        report.step("vacuum analyze" if vacuum else "analyze", started)
    finally:
        for c in (conn, second, third):
            await c.close()
    return report


def generate(
    scale: Scale, seed: int, anchor: date | None, log: Callable[[str], Any], vacuum: bool = False
) -> LoadReport:
    started = time.perf_counter()
    log(f"creating {scale.database} and migrating it to head")
    create_database(scale)
    log(f"generating scale '{scale.name}' with seed {seed}")
    report = asyncio.run(fill(scale, seed, anchor, vacuum))
    report.step("total", started)
    return report

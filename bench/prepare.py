"""Turn a scenario and the dataset into concrete requests, and undo what writes did."""

import asyncio
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import asyncpg
import jwt

from bench.config import JWT_SECRET
from bench.inprocess import InProcessService
from bench.scenarios import Scenario

TOKEN_HOURS = 12


def token_for(user_id: uuid.UUID | str, now: float | None = None) -> str:
    """A bearer token the service accepts: the claims `issue_access_token` writes."""
    issued = int(now or time.time())
    claims = {"sub": str(user_id), "iat": issued, "exp": issued + TOKEN_HOURS * 3600}
    claims["typ"] = "access"
    return "Bearer " + jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@dataclass(frozen=True)
class Request:
    path: str
    token: str
    body: str | None
    sample: dict[str, Any]
    alternate_body: str | None = None
    if_match: str | None = None

    def headers(self) -> dict[str, str]:
        """The request's own headers besides the token and the content type."""
        return {} if self.if_match is None else {"If-Match": self.if_match}


@dataclass
class RequestSet:
    scenario: Scenario
    requests: list[Request]
    notes: list[str] = field(default_factory=list)

    def lua(self, threads: int) -> str:
        """The data file the wrk script loads: paths, bodies, and a table of tokens.

        A row is `{path, token index, body or nil}`, with `alt = <alternate body>` and
        `ifm = <If-Match>` where the scenario has them.
        """
        tokens: dict[str, int] = {}
        rows = []
        for r in self.requests:
            index = tokens.setdefault(r.token, len(tokens) + 1)
            fields = [
                lua_string(r.path),
                str(index),
                "nil" if r.body is None else lua_string(r.body),
            ]
            if r.alternate_body is not None:
                fields.append(f"alt = {lua_string(r.alternate_body)}")
            if r.if_match is not None:
                fields.append(f"ifm = {lua_string(r.if_match)}")
            rows.append("{" + ", ".join(fields) + "}")
        s = self.scenario
        return "\n".join(
            [
                f"method = {lua_string(s.method)}",
                f"sequential = {'true' if s.sequential else 'false'}",
                f"idempotent = {'true' if s.idempotent else 'false'}",
                "tokens = {" + ", ".join(lua_string(t) for t in tokens) + "}",
                "requests = {",
                ",\n".join(rows),
                "}",
                f"-- {len(self.requests)} requests, {threads} thread(s)",
            ]
        )


def lua_string(value: str) -> str:
    encoded = json.dumps(value)
    if "\\u" in encoded:
        raise ValueError(f"non-ASCII text cannot go into the Lua data file: {value!r}")
    return encoded


def _fill(template: str, sample: dict[str, Any], quote: bool) -> str:
    values = {
        k: urllib.parse.quote(str(v), safe="") if quote else str(v) for k, v in sample.items()
    }
    return Template(template).substitute(values)


async def build(
    scenario: Scenario, conn: asyncpg.Connection, service: InProcessService
) -> RequestSet:
    rows = [dict(r) for r in await conn.fetch(scenario.samples)]
    if not rows:
        raise LookupError("the dataset has no rows for this scenario's samples")
    now = time.time()
    tokens: dict[Any, str] = {}
    requests = []
    for sample in rows:
        token = tokens.setdefault(sample["as_user"], token_for(sample["as_user"], now))
        path = _fill(scenario.url, sample, quote=True)
        body = None if scenario.body is None else _fill(scenario.body, sample, quote=False)
        alternate = scenario.alternate_body
        alternate = None if alternate is None else _fill(alternate, sample, quote=False)
        if_match = None if scenario.if_match is None else _fill(scenario.if_match, sample, False)
        requests.append(Request(path, token, body, sample, alternate, if_match))
    result = RequestSet(scenario, requests)
    await stage(scenario, conn, result)  # the EXPLAIN gate sees what the runs will
    if scenario.deep_pages:
        result.requests = [await _deep(scenario, requests[0], service, result.notes)]
    return result


async def _deep(
    scenario: Scenario, first: Request, service: InProcessService, notes: list[str]
) -> Request:
    """Follow `next_cursor` through the service and return the request for the deepest page."""
    path, cursor, depth = first.path, None, 0
    while depth < scenario.deep_pages:
        url = path if cursor is None else f"{path}&cursor={urllib.parse.quote(cursor)}"
        reply = await service.send("GET", url, first.token)
        if reply.status != 200:
            raise RuntimeError(f"walking {url} answered {reply.status}: {reply.body[:300]!r}")
        following = reply.json()["next_cursor"]
        if following is None:
            break
        cursor, depth = following, depth + 1
    if depth < scenario.deep_pages:
        notes.append(f"the list has only {depth + 1} pages: measuring page {depth + 1}")
    else:
        notes.append(f"measuring page {depth + 1}")
    deep_url = path if cursor is None else f"{path}&cursor={urllib.parse.quote(cursor)}"
    return Request(deep_url, first.token, None, {**first.sample, "page": depth + 1})


# ---------------------------------------------------------------------------- undo writes


async def snapshot(scenario: Scenario, conn: asyncpg.Connection, requests: RequestSet) -> None:
    """Keep a copy of the rows a write scenario changes, to put back after each run: as
    staged just now, so every run finds them as fresh as the first."""
    await stage(scenario, conn, requests)
    for restore in scenario.restore:
        keys = [r.sample[restore.sample_key] for r in requests.requests]
        name = _snapshot_table(scenario, restore.table)
        await conn.execute(f"DROP TABLE IF EXISTS {name}")
        await conn.execute(
            f"CREATE UNLOGGED TABLE {name} AS SELECT * FROM {restore.table} "
            f"WHERE {restore.column} = ANY($1::uuid[])",
            keys,
        )


async def stage(scenario: Scenario, conn: asyncpg.Connection, requests: RequestSet) -> None:
    """Set the sampled records up for a run (`Scenario.stage`); `undo` puts them back as
    `snapshot` staged them."""
    if scenario.stage is None:
        return
    keys = [r.sample[scenario.stage.sample_key] for r in requests.requests]
    await conn.execute(scenario.stage.sql, keys)


async def wait_until_idle(conn: asyncpg.Connection, patience: float = 30.0) -> None:
    """Requests still in flight when wrk stops must finish before the database is reset.

    A server may still hold requests queued for a pooled connection, invisible to
    PostgreSQL, so the database must stay idle for a few polls in a row.
    """
    deadline = time.monotonic() + patience
    quiet = 0
    while quiet < 5 and time.monotonic() < deadline:
        busy = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.1)


async def undo(
    scenario: Scenario,
    conn: asyncpg.Connection,
    since: float,
    requests: RequestSet | None = None,
) -> None:
    """Delete what a run wrote and put the changed rows back as they were."""
    await wait_until_idle(conn)
    started = time.time()
    async with conn.transaction():
        for purge in scenario.purge:
            if not await _has_table(conn, purge.table):
                continue  # a table a later migration adds
            where = f"{purge.column} >= to_timestamp($1)"
            args: list[Any] = [since - 1]
            if purge.key is not None and requests is not None:
                where += f" AND {purge.key} = ANY($2::uuid[])"
                args.append([r.sample[purge.sample_key] for r in requests.requests])
            await conn.execute(f"DELETE FROM {purge.table} WHERE {where}", *args)
        for restore in scenario.restore:
            columns = await _columns(conn, restore.table)
            name = _snapshot_table(scenario, restore.table)
            assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns if c not in restore.key)
            same_row = " AND ".join(f't."{k}" = s."{k}"' for k in restore.key)
            # Only rows the run changed: rewriting the whole pool would bloat the table.
            await conn.execute(
                f"UPDATE {restore.table} t SET {assignments} FROM {name} s "
                f"WHERE {same_row} AND (t.*) IS DISTINCT FROM (s.*)"
            )
    if time.time() - started > 30:
        print(f"    (undoing {scenario.name} took {time.time() - started:.0f}s)")


async def drop_snapshots(scenario: Scenario, conn: asyncpg.Connection) -> None:
    for restore in scenario.restore:
        await conn.execute(f"DROP TABLE IF EXISTS {_snapshot_table(scenario, restore.table)}")


def _snapshot_table(scenario: Scenario, table: str) -> str:
    return f"bench_snapshot_{scenario.name}_{table}"


async def _has_table(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
        "AND table_schema = 'public' ORDER BY ordinal_position",
        table,
    )
    return [r["column_name"] for r in rows]


def write_lua(requests: RequestSet, directory: Path, threads: int) -> Path:
    path = directory / f"{requests.scenario.name}.lua"
    path.write_text(requests.lua(threads))
    return path

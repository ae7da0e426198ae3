"""The service in this process: to walk cursors, probe responses and capture its SQL.

Requests go through the real app (`app.main.create_app`) over httpx's ASGI transport,
so the SQL captured here is exactly what the routers, services and repositories send,
for the same principal as the load test. Units of work are rolled back, so probing a
write leaves the database as it was.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.main import create_app
from bench.config import JWT_SECRET, database_url


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: tuple[Any, ...]


class CapturingDatabase(Database):
    """Records every statement sent; rolls each unit of work back when asked to."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(create_engine(settings))
        self.statements: list[Statement] = []
        self.capturing = False
        self.roll_back = False
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if self.capturing:
            self.statements.append(Statement(sql, tuple(parameters or ())))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        if not self.roll_back:
            async with super().transaction() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            transaction = await conn.begin()
            try:
                yield conn
            finally:
                await transaction.rollback()


@dataclass
class Exchange:
    status: int
    body: bytes
    statements: list[Statement] = field(default_factory=list)

    def json(self) -> Any:
        import orjson

        return orjson.loads(self.body)


class InProcessService:
    def __init__(self, database: str) -> None:
        settings = Settings(
            database_url=database_url(database), jwt_secret=JWT_SECRET, log_level="WARNING"
        )
        self.db = CapturingDatabase(settings)
        self.app = create_app(settings, self.db)
        # The OpenAPI document lists every registered operation, however routers nest.
        self.routes = {
            (method.upper(), path)
            for path, operations in self.app.openapi()["paths"].items()
            for method in operations
        }
        transport = httpx.ASGITransport(app=self.app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://bench")

    def serves(self, method: str, route: str) -> bool:
        return (method, route) in self.routes

    async def send(
        self,
        method: str,
        url: str,
        token: str,
        body: bytes | None = None,
        *,
        capture: bool = False,
        roll_back: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        self.db.statements = []
        self.db.capturing, self.db.roll_back = capture, roll_back
        try:
            response = await self.http.request(
                method,
                url,
                content=body,
                headers={
                    "Authorization": token,
                    **({"Content-Type": "application/json"} if body is not None else {}),
                    **(headers or {}),
                },
            )
        finally:
            self.db.capturing = self.db.roll_back = False
        return Exchange(response.status_code, response.content, list(self.db.statements))

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()

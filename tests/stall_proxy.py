"""A TCP proxy on 127.0.0.1 in front of PostgreSQL that can be told to stall.

While stalled it still accepts connections and reads what each side sends, but delivers
nothing: to the service it looks like a network that swallows packets (writes succeed,
no answer comes), which the server's own statement_timeout can do nothing about.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy.engine import make_url


class StallProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.resume()
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pump(reader, upstream_writer),
            self._pump(upstream_reader, writer),
            return_exceptions=True,
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            with suppress(ConnectionError):
                writer.close()


@asynccontextmanager
async def stall_proxy(database_url: str) -> AsyncIterator[tuple[StallProxy, str]]:
    """A proxy in front of the database of `database_url`, and the URL that goes through it."""
    url = make_url(database_url)
    proxy = StallProxy(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    try:
        yield proxy, url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        await proxy.close()

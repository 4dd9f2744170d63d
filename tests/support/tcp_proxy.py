"""A TCP forwarder for tests that need a server to go away and come back without stopping it.

`TcpProxy(host, port)` listens on a free local port and forwards every connection to host:port. `cut()`
closes every open connection and stops listening (new connections are refused), `restore()` listens on
the same port again: to a client such as a database driver, exactly what a server restart looks like.
The forwarding runs on an asyncio loop in a thread of its own; the methods are called from any thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

CHUNK = 65_536
CALL_TIMEOUT_S = 10.0
T = TypeVar("T")


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` until cut."""

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()  # (client, target)
        self.accepted = 0  # connections forwarded so far

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def listening(self) -> bool:
        return self._server is not None

    @property
    def open_connections(self) -> int:
        """Client connections being forwarded now."""
        return self._call(self._count())

    def start(self) -> None:
        """Start the loop and listen on a free port (kept for every later `restore`)."""
        self._thread.start()
        self._call(self._listen())

    def cut(self) -> None:
        """Close every open connection and refuse new ones."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept and forward connections again, on the same port."""
        self._call(self._listen())

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT_S)
        self._loop.close()

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(CALL_TIMEOUT_S)

    async def _count(self) -> int:
        return len(self._open)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._forward, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # the listening socket is closed at once: connecting is refused from here on
        for pair in list(self._open):
            _abort(*pair)
        self._open.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._server is None:  # accepted just before a cut
            _abort(writer)
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _abort(writer)
            return
        pair = (writer, target_writer)
        if self._server is None:  # cut while connecting to the target
            _abort(*pair)
            return
        self.accepted += 1
        self._open.add(pair)
        pumps = [
            asyncio.create_task(_pump(reader, target_writer)),
            asyncio.create_task(_pump(target_reader, writer)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            self._open.discard(pair)
            for side in pair:  # one side closed: close the other one as well (a no-op after a cut)
                side.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes one way until either side closes."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass


def _abort(*writers: asyncio.StreamWriter) -> None:
    """Drop connections at once, as a server that goes away does."""
    for writer in writers:
        writer.transport.abort()

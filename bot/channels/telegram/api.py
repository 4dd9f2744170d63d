"""A python-telegram-bot `Bot` used from synchronous code (the outbox thread, request worker threads, the
polling thread). PTB is asynchronous and its HTTP client belongs to one event loop, so the client runs a
private loop in a daemon thread and every Bot API call is submitted to it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from config.errors import SettingsError
from config.settings import TelegramSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
CALL_SLACK_S = 5.0  # beyond the request's own timeouts, before a caller stops waiting
SEND_POOL = 8  # connections for sendMessage / answerCallbackQuery; getUpdates has its own


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is (from getMe): its user id and @username."""

    id: int
    username: str


class BotClient:
    """One Bot, its requests and its loop. `call` blocks the calling thread until the Bot API answered."""

    def __init__(
        self,
        settings: TelegramSettings,
        *,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
    ) -> None:
        if settings.token is None or not settings.token.get_secret_value():
            raise SettingsError("缺少 telegram.token / telegram.token is not set")
        self.timeout_s = settings.timeout_s
        self._requests = (
            request or _httpx(self.timeout_s, SEND_POOL),
            updates_request or request or _httpx(self.timeout_s, 1),
        )
        self.bot = Bot(
            settings.token.get_secret_value(),
            base_url=settings.api_base_url,
            request=self._requests[0],
            get_updates_request=self._requests[1],
        )
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready: asyncio.Future[None] | None = None
        self._identity: BotIdentity | None = None

    def submit(self, call: Callable[[Bot], Coroutine[Any, Any, T]]) -> concurrent.futures.Future[T]:
        """Start `call(bot)` on the client's loop; the future can be waited on or cancelled."""
        return asyncio.run_coroutine_threadsafe(self._run(call), self._running_loop())

    def call(self, call: Callable[[Bot], Coroutine[Any, Any, T]], *, timeout_s: float | None = None) -> T:
        """Run `call(bot)` and return its result; PTB's TelegramError subclasses propagate as they are.
        TimeoutError when the API did not answer in time."""
        future = self.submit(call)
        try:
            return future.result(timeout_s if timeout_s is not None else 3 * self.timeout_s + CALL_SLACK_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("Telegram Bot API 无响应 / the Bot API did not answer in time") from None

    def identity(self) -> BotIdentity:
        """The bot's id and username, from getMe once (then cached)."""
        found = self._identity
        if found is None:
            me = self.call(lambda bot: bot.get_me())
            found = self._identity = BotIdentity(id=me.id, username=me.username or "")
        return found

    def close(self) -> None:
        """Shut the Bot's requests down and end the loop thread."""
        with self._guard:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._ready = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(self.timeout_s + CALL_SLACK_S)
        except Exception as exc:  # closing anyway
            log.warning("Telegram Bot shutdown failed: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_SLACK_S)
        if not thread.is_alive():
            loop.close()

    async def _run(self, call: Callable[[Bot], Coroutine[Any, Any, T]]) -> T:
        if self._ready is None:  # on the loop: no other thread touches it
            self._ready = asyncio.ensure_future(self._initialize())
        try:
            await asyncio.shield(self._ready)
        except Exception:
            self._ready = None  # try again with the next call
            raise
        return await call(self.bot)

    async def _initialize(self) -> None:
        unique = {id(request): request for request in self._requests}
        await asyncio.gather(*(request.initialize() for request in unique.values()))

    async def _shutdown(self) -> None:
        unique = {id(request): request for request in self._requests}
        await asyncio.gather(*(request.shutdown() for request in unique.values()))

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="stdbot-telegram", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


def _httpx(timeout_s: float, pool: int) -> HTTPXRequest:
    return HTTPXRequest(
        connection_pool_size=pool,
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        write_timeout=timeout_s,
        pool_timeout=timeout_s,
    )

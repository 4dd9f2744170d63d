"""One platform access token for every worker process. WeChat and WeCom invalidate the previous token
when a new one is fetched, so workers must not each fetch their own: the token lives in the store, and
fetching happens under a cross-process lock that re-checks the store before calling the platform."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from wechatpy.session import SessionStorage

from bot.store import Store

T = TypeVar("T")


class KeyedLock(Protocol):
    """ConversationLocks: a lock per key that holds across processes."""

    def hold(self, key: str) -> AbstractContextManager[None]: ...


class StoreSessionStorage(SessionStorage):  # type: ignore[misc]
    """wechatpy's session storage kept in the store under `namespace:`; a value given a ttl expires
    `margin_s` early, so no worker uses a token in its last minutes."""

    def __init__(
        self,
        store: Store,
        namespace: str,
        *,
        margin_s: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.namespace = namespace
        self.margin_s = margin_s
        self._clock = clock

    def get(self, key: str, default: Any = None) -> Any:
        value = self.store.channel_state.get(self._key(key), self._clock())
        return default if value is None else value

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        expires = None
        if ttl is not None:
            expires = self._clock() + timedelta(seconds=max(float(ttl) - self.margin_s, 1.0))
        self.store.channel_state.put(self._key(key), str(value), expires)

    def delete(self, key: str) -> None:
        self.store.channel_state.delete(self._key(key))

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"


def fetch_once(locks: KeyedLock, storage: SessionStorage, key: str, fetch: Callable[[], T]) -> T | None:
    """Run `fetch` (which stores a new token under `key`) unless another worker stored one while this one
    waited for the lock; None when it did not need to."""
    with locks.hold(f"access-token:{key}"):
        if storage.get(key):
            return None
        return fetch()

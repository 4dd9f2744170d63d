"""Streamed replies of the WeCom 智能机器人, shared by every worker through the store.

The platform asks for a streamed reply's content again and again ("stream refresh" callbacks) until a
reply says `finish: true`, for at most six minutes after the user's message, and any worker may get
those callbacks. So nothing about a stream lives only in the memory of the worker answering it: each
stream is a record in the store's channel state, `answering` → `done` (the answer is ready) →
`finished` (a reply carried it), or `answering` → `closed` (the window ran out first). Changes happen
under a per-stream lock held across processes; the per-user in-flight slots under a per-user lock.
The two locks are never held together."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from bot.channels._tokens import KeyedLock
from bot.messages import ChatType
from bot.store import Store

Phase = Literal["answering", "done", "finished", "closed"]
OpeningKind = Literal["new", "existing", "busy"]
PREFIX = "wecom_bot"
KEEP_AFTER_WINDOW_S = 600.0  # a finished stream is remembered this long after its window, for retries
CLOSE_MARGIN_S = 15.0  # close an unanswered stream this long before the platform stops asking


@dataclass(frozen=True)
class StreamState:
    """One streamed reply: to which message, since when (epoch seconds), and how far it got."""

    stream_id: str
    msgid: str
    user_id: str
    chat_id: str
    chat_type: ChatType
    started: float
    phase: Phase = "answering"
    text: str | None = None
    delivery_id: int | None = None
    reply_kind: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, value: str) -> StreamState | None:
        try:
            data: dict[str, Any] = json.loads(value)
            return cls(**data)
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Opening:
    """What opening a stream for a message found: a new stream (answer it), one already open for the
    same message (a repeated delivery: do not answer again), or the user's in-flight slots all taken."""

    kind: OpeningKind
    state: StreamState | None


@dataclass(frozen=True)
class Refresh:
    """What to tell the platform about a stream now. `ended_now` is True for the one refresh that moved
    the stream to `finished` or `closed` (its side effects are the caller's to run once)."""

    content: str
    finish: bool
    state: StreamState | None
    ended_now: bool = False


@dataclass(frozen=True)
class StreamTexts:
    """The texts a stream shows while waiting, when its window runs out, and when it is unknown."""

    placeholder: str
    timed_out: str
    unknown: str


class StreamBook:
    """Opens, settles and refreshes streams kept in the store."""

    def __init__(
        self,
        store: Store,
        locks: KeyedLock,
        *,
        window_s: float,
        in_flight_per_user: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.locks = locks
        self.window_s = window_s
        self.in_flight_per_user = in_flight_per_user
        self._clock = clock

    @property
    def close_after_s(self) -> float:
        """How long after the message an unanswered stream is closed with an apology."""
        return self.window_s - min(CLOSE_MARGIN_S, self.window_s / 4)

    def get(self, stream_id: str) -> StreamState | None:
        value = self.store.channel_state.get(_stream_key(stream_id))
        return StreamState.from_json(value) if value is not None else None

    def open(self, stream_id: str, msgid: str, user_id: str, chat_id: str, chat_type: ChatType) -> Opening:
        """Open the stream answering message `msgid`, unless it is open already or the user has all
        their in-flight slots taken."""
        now = self._clock()
        with self.locks.hold(_user_lock(user_id)):
            existing = self.get(stream_id)
            if existing is not None:
                return Opening(kind="existing", state=existing)
            slots = self._slots(user_id, now)
            if len(slots) >= self.in_flight_per_user:
                return Opening(kind="busy", state=None)
            state = StreamState(
                stream_id=stream_id,
                msgid=msgid,
                user_id=user_id,
                chat_id=chat_id,
                chat_type=chat_type,
                started=now,
            )
            self._put(state)
            slots[stream_id] = now
            self._put_slots(user_id, slots, now)
            return Opening(kind="new", state=state)

    def settle(
        self, stream_id: str, text: str, delivery_id: int | None, reply_kind: str | None
    ) -> StreamState | None:
        """The answer is ready. Returns the stream as it now is: `done`, or (too late) `closed` or None."""
        with self.locks.hold(_stream_lock(stream_id)):
            state = self.get(stream_id)
            if state is None or state.phase != "answering":
                return state
            done = replace(state, phase="done", text=text, delivery_id=delivery_id, reply_kind=reply_kind)
            self._put(done)
            return done

    def refresh(
        self, stream_id: str, texts: StreamTexts, on_finish: Callable[[StreamState], None]
    ) -> Refresh:
        """The content to reply to a refresh with; finishes a stream whose answer is ready (after
        `on_finish` ran for it: when that fails the stream stays `done` for the next refresh), and
        closes one whose window is about to run out."""
        with self.locks.hold(_stream_lock(stream_id)):
            state = self.get(stream_id)
            if state is None:
                return Refresh(content=texts.unknown, finish=True, state=None)
            if state.phase == "done":
                finished = replace(state, phase="finished")
                on_finish(finished)
                self._put(finished)
                return Refresh(content=finished.text or "", finish=True, state=finished, ended_now=True)
            if state.phase in ("finished", "closed"):
                return Refresh(content=state.text or "", finish=True, state=state)
            if self._clock() - state.started >= self.close_after_s:
                closed = replace(state, phase="closed", text=texts.timed_out)
                self._put(closed)
                return Refresh(content=texts.timed_out, finish=True, state=closed, ended_now=True)
            return Refresh(content=texts.placeholder, finish=False, state=state)

    def release(self, user_id: str, stream_id: str) -> None:
        """Free the user's in-flight slot of a stream that ended."""
        now = self._clock()
        with self.locks.hold(_user_lock(user_id)):
            slots = self._slots(user_id, now)
            if slots.pop(stream_id, None) is not None:
                self._put_slots(user_id, slots, now)

    def in_flight(self, user_id: str) -> int:
        return len(self._slots(user_id, self._clock()))

    def _slots(self, user_id: str, now: float) -> dict[str, float]:
        """The user's open streams (id → start), those past their window dropped."""
        value = self.store.channel_state.get(_slots_key(user_id))
        try:
            data = json.loads(value) if value else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return {}
        return {
            str(k): float(v)
            for k, v in data.items()
            if isinstance(v, int | float) and now - float(v) < self.window_s
        }

    def _put_slots(self, user_id: str, slots: dict[str, float], now: float) -> None:
        if not slots:
            self.store.channel_state.delete(_slots_key(user_id))
            return
        expires = max(slots.values()) + self.window_s
        self.store.channel_state.put(_slots_key(user_id), json.dumps(slots), _at(expires))

    def _put(self, state: StreamState) -> None:
        expires = state.started + self.window_s + KEEP_AFTER_WINDOW_S
        self.store.channel_state.put(_stream_key(state.stream_id), state.to_json(), _at(expires))


def _at(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _stream_key(stream_id: str) -> str:
    return f"{PREFIX}:stream:{stream_id}"


def _slots_key(user_id: str) -> str:
    return f"{PREFIX}:in-flight:{user_id}"


def _stream_lock(stream_id: str) -> str:
    return f"{PREFIX}:stream-lock:{stream_id}"


def _user_lock(user_id: str) -> str:
    return f"{PREFIX}:user-lock:{user_id}"

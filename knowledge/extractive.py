"""Extractive answers without an LLM: a direct reply of one or two sentences taken from the best passage
(the sentence that says 应当 / 不得 / 由…负责 / 处…罚款 about what was asked), then at most two other
relevant passages as short cited quotes. Passages far less relevant than the best are never shown."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import prompts
from knowledge.asks import ask_of
from knowledge.confidence import coverage, question_terms, term_set
from knowledge.faq_match import parse_faq_text
from knowledge.intent import load_keyword_sections
from knowledge.types import Citation, Hit

ELLIPSIS = "……"
_SENTENCE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”’）)」』]*\n*|\n+|$)")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    """One passage of an extractive answer: the hit, its citation and the excerpt shown."""

    hit: Hit
    citation: Citation
    excerpt: str
    label: str


@dataclass(frozen=True)
class ExtractiveAnswer:
    """The text of an extractive answer and the passages it quotes (empty when nothing was found)."""

    text: str
    passages: tuple[Passage, ...]

    @property
    def citations(self) -> tuple[Citation, ...]:
        return tuple(p.citation for p in self.passages)


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, each keeping its closing punctuation or line break, so that joining them
    gives the text back; blank pieces dropped."""
    return [piece for piece in _SENTENCE.findall(text) if piece.strip()]


def _bigrams(text: str) -> set[str]:
    compact = _SPACE.sub("", text)
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    """Whether two texts share at least `threshold` of their character bigrams (Jaccard)."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return a.strip() == b.strip()
    return len(x & y) / len(x | y) >= threshold


def passage_body(hit: Hit) -> str:
    """The text to quote from a hit: an FAQ's answer, otherwise the chunk text without a leading
    title or heading line and without a leading article id, which the label already names."""
    chunk = hit.chunk
    if chunk.kind == "faq":
        return parse_faq_text(chunk.text, chunk.question).answer or chunk.text
    text = chunk.text.strip()
    first, _, rest = text.partition("\n")
    if rest.strip() and first.strip() in {chunk.source, chunk.chapter}:
        text = rest.strip()
    for clause in chunk.clauses:
        if text.startswith(clause):
            return text[len(clause) :].lstrip(" 　:：.")
    return text


def passage_label(hit: Hit) -> str:
    """How a passage is named to the user: an FAQ by its question and 依据, a document section by its
    heading, anything else by its citation label (《中华人民共和国标准化法》第二十七条)."""
    chunk = hit.chunk
    if chunk.kind == "faq":
        entry = parse_faq_text(chunk.text, chunk.question)
        basis = prompts.render("answer_faq_label_basis", basis=entry.basis) if entry.basis else ""
        return prompts.render("answer_faq_label", question=entry.question, basis=basis)
    label = Citation.from_hit(hit).label
    if chunk.kind == "doc" and chunk.chapter and not chunk.clauses:
        return f"{label} {chunk.chapter}"
    return label


def select_passages(hits: Sequence[Hit], count: int, max_per_source: int | None = None) -> list[Hit]:
    """Up to `count` hits in rank order, skipping near-duplicates of a chosen one and taking at most
    `max_per_source` (default count − 1, at least 1) from one source."""
    cap = max_per_source if max_per_source is not None else max(1, count - 1)
    chosen: list[Hit] = []
    per_source: Counter[str] = Counter()
    for hit in hits:
        if len(chosen) >= count:
            break
        if per_source[hit.chunk.source] >= cap:
            continue
        if any(near_duplicate(passage_body(hit), passage_body(c)) for c in chosen):
            continue
        chosen.append(hit)
        per_source[hit.chunk.source] += 1
    return chosen


def trim_passage(text: str, question: str, max_chars: int) -> str:
    """The run of consecutive sentences of `text` that covers most of the question's terms within
    `max_chars`, with …… where text was left out before or after."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    sentences = split_sentences(text)
    terms = question_terms(question)
    scores = [coverage(terms, term_set(s)) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    start = end = best
    length = len(sentences[best])
    while True:
        options = [i for i in (start - 1, end + 1) if 0 <= i < len(sentences)]
        options = [i for i in options if length + len(sentences[i]) <= max_chars]
        if not options:
            break
        pick = max(options, key=lambda i: (scores[i], i > end))
        length += len(sentences[pick])
        start, end = min(start, pick), max(end, pick)
    excerpt = "".join(sentences[start : end + 1]).strip()
    cut = len(excerpt) > max_chars
    if cut:
        excerpt = excerpt[:max_chars].rstrip()
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if cut or end < len(sentences) - 1 else ""
    return f"{prefix}{excerpt}{suffix}"


def relevant_hits(question: str, hits: Sequence[Hit], *, share: float = 0.5, floor: float = 0.2) -> list[Hit]:
    """The hits worth showing: the top hit, and others whose share of the question's terms is at least
    `floor` and at least `share` of the best share among the hits (a relative cut-off, so a passage that
    shares nothing with the question is never shown beside one that does)."""
    if not hits:
        return []
    terms = question_terms(question)
    scores = [coverage(terms, _hit_terms(hit)) for hit in hits]
    best = max(scores)
    cut = max(floor, share * best)
    return [hits[0], *(hit for hit, score in zip(hits[1:], scores[1:], strict=True) if score >= cut)]


def _hit_terms(hit: Hit) -> frozenset[str]:
    chunk = hit.chunk
    return term_set(" ".join((chunk.text, chunk.source, *chunk.clauses)), expand=True)


def operative_sentence(text: str, question: str, cues: OperativeCues, max_chars: int = 160) -> str:
    """The sentence of `text` that answers `question` most directly: most of the question's terms, then
    the words that answer its kind of ask (罚款 for 怎么罚, 平台 for 在哪), then operative words (应当, 不得);
    a short sentence takes the next one along, and a long one is cut to `max_chars`."""
    sentences = [s.strip() for s in split_sentences(text) if len(s.strip()) > 4] or [text.strip()]
    terms = question_terms(question)
    asked = ask_of(question).kinds

    def score(sentence: str) -> float:
        lowered = sentence.lower()
        found = coverage(terms, term_set(sentence, expand=True))
        cue = any(w in lowered for kind in asked for w in cues.by_kind.get(kind, ()))
        operative = any(w in sentence for w in cues.operative)
        return found + 0.35 * cue + 0.1 * operative

    best = max(range(len(sentences)), key=lambda i: (score(sentences[i]), -i))
    chosen = sentences[best]
    if len(chosen) < 40 and best + 1 < len(sentences) and len(chosen) + len(sentences[best + 1]) <= max_chars:
        chosen += sentences[best + 1]
    chosen = _SPACE.sub(" ", chosen).strip()
    return chosen if len(chosen) <= max_chars else chosen[: max_chars - 1].rstrip() + ELLIPSIS


SENTENCE_ENDS = re.compile(r"[。！？!?]")
CLAUSE_ENDS = re.compile(r"[。！？!?；;]")


def leading_sentences(text: str, max_chars: int, ends: re.Pattern[str] = SENTENCE_ENDS) -> str:
    """The leading sentences of `text` that end (by `ends`) within `max_chars`; the whole text when it
    is short, and cut with …… when the first sentence alone is longer."""
    if len(text) <= max_chars:
        return text
    cuts = [m.end() for m in ends.finditer(text[:max_chars])]
    return text[: cuts[-1]] if cuts else text[: max_chars - 1] + ELLIPSIS


@dataclass(frozen=True)
class OperativeCues:
    """Words that make a sentence operative, and per kind of ask the words that answer it."""

    operative: tuple[str, ...]
    by_kind: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls) -> OperativeCues:
        sections = load_keyword_sections("ask_terms")
        by_kind: dict[str, tuple[str, ...]] = {}
        for item in sections.get("cues", ()):
            name, _, words = item.partition(":")
            by_kind[name.strip()] = tuple(w.strip() for w in words.split("|") if w.strip())
        return cls(sections.get("operative", ()), by_kind)


def build_extractive_answer(
    question: str,
    hits: Sequence[Hit],
    count: int,
    passage_chars: int,
    *,
    max_chars: int = 300,
    cues: OperativeCues | None = None,
) -> ExtractiveAnswer:
    """The extractive answer to `question` from the ranked `hits`: a direct reply taken from the best
    passage, then at most `count - 1` other relevant passages as short quotes, within about `max_chars`."""
    chosen = select_passages(relevant_hits(question, hits), count)
    if not chosen:
        return ExtractiveAnswer(prompts.load("answer_not_found"), ())
    cues = cues or OperativeCues.load()
    top = chosen[0]
    if top.chunk.kind == "faq":  # an FAQ answer already opens with its direct reply
        direct = leading_sentences(_SPACE.sub(" ", passage_body(top)).strip(), min(200, passage_chars))
    else:
        direct = operative_sentence(passage_body(top), question, cues, max_chars=min(160, passage_chars))
    passages = [Passage(top, Citation.from_hit(top), direct, passage_label(top))]
    budget = max_chars - len(direct)
    for hit in chosen[1:]:
        quote_chars = min(passage_chars, 100, max(40, budget // max(1, len(chosen) - 1)) - 20)
        excerpt = trim_passage(passage_body(hit), question, max(30, quote_chars))
        passages.append(Passage(hit, Citation.from_hit(hit), excerpt, passage_label(hit)))
    return ExtractiveAnswer(render_answer(passages), tuple(passages))


def render_answer(passages: Sequence[Passage]) -> str:
    """The direct reply with its source, the supporting quotes, and the short disclaimer."""
    first = passages[0]
    if first.hit.chunk.kind == "faq":
        entry = parse_faq_text(first.hit.chunk.text, first.hit.chunk.question)
        direct = prompts.render("answer_direct_faq", sentence=first.excerpt, question=entry.question)
    else:
        direct = prompts.render("answer_direct", label=first.label, sentence=first.excerpt)
    blocks = [direct]
    if len(passages) > 1:
        items = [prompts.render("answer_support", label=p.label, quote=p.excerpt) for p in passages[1:]]
        blocks.append(prompts.load("answer_support_lead") + "\n" + "\n".join(items))
    blocks.append(prompts.load("answer_disclaimer"))
    return "\n\n".join(blocks)

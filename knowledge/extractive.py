"""Extractive answers: the best few passages, from varied sources and without near-duplicates, each
trimmed to the sentences that share most terms with the question and cited by article or clause."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import prompts
from knowledge.confidence import coverage, question_terms, term_set
from knowledge.faq_match import parse_faq_text
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


def build_extractive_answer(
    question: str, hits: Sequence[Hit], count: int, passage_chars: int
) -> ExtractiveAnswer:
    """The extractive answer to `question` from the ranked `hits`."""
    chosen = select_passages(hits, count)
    if not chosen:
        return ExtractiveAnswer(prompts.load("answer_not_found"), ())
    passages = tuple(
        Passage(
            hit,
            Citation.from_hit(hit),
            trim_passage(passage_body(hit), question, passage_chars),
            passage_label(hit),
        )
        for hit in chosen
    )
    return ExtractiveAnswer(render_passages(passages), passages)


def render_passages(passages: Sequence[Passage]) -> str:
    """Lead line, numbered cited excerpts and the disclaimer, from the prompt files."""
    blocks = [prompts.load("answer_extractive_lead")]
    for number, passage in enumerate(passages, start=1):
        blocks.append(
            prompts.render("answer_passage", n=number, label=passage.label, excerpt=passage.excerpt)
        )
    blocks.append(prompts.load("answer_disclaimer"))
    return "\n\n".join(blocks)

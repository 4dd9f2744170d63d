"""Drafts: answers before the chain's final escalation rules, and the drafts made from an FAQ match, from
the FAQ questions to offer, and the catalogue records an answer speaks of."""

from __future__ import annotations

from dataclasses import dataclass

import prompts
from knowledge.catalogue import CatalogueLookup
from knowledge.faq_match import FaqDecision, FaqMatch, basis_citations
from knowledge.types import Citation


@dataclass(frozen=True)
class Draft:
    """An answer before the chain's final escalation rules."""

    text: str
    mode: str
    confidence: float
    citations: tuple[Citation, ...] = ()
    reasons: tuple[str, ...] = ()
    escalate: bool = False
    relevant: bool = True
    suggestions: tuple[str, ...] = ()


def faq_draft(match: FaqMatch) -> Draft:
    """The FAQ's own answer; its 依据 is cited article by article (channels show 依据 once, from the
    citations), and the FAQ sheet itself last."""
    entry = match.entry
    text = prompts.render("answer_faq", answer=entry.answer).strip()
    citations = (*basis_citations(entry.basis or "", match.similarity), Citation.from_hit(match.hit))
    return Draft(text, "faq", match.similarity, citations, (f"faq_match:{match.similarity:.3f}",))


def suggestion_draft(decision: FaqDecision) -> Draft:
    """The nearest FAQ questions, numbered under 您是不是想问: not an answer and not a failure: its
    confidence is the nearest FAQ's similarity (at or above the suggestion threshold), so it never counts
    as a low-confidence reply."""
    questions = decision.suggestions
    items = "\n".join(f"{n}. {q}" for n, q in enumerate(questions, start=1))
    text = prompts.render("answer_suggestions", items=items).strip()
    best = decision.nearest[0].similarity
    return Draft(text, "faq_suggest", best, (), (f"faq_suggest:{best:.3f}",), suggestions=questions)


def catalogue_citations(lookup: CatalogueLookup) -> tuple[Citation, ...]:
    """The catalogue records an answer about `lookup` speaks of, as catalog citations."""
    records = [lookup.edition, lookup.current, *lookup.successors, *lookup.adopted_by]
    if not any(records):
        records = list(lookup.all_editions)
    unique = {record.number: record for record in records if record is not None}
    source = prompts.load("answer_catalog_source")
    return tuple(
        Citation(r.source or source, "catalog", (), r.number, 1.0, f"{r.number} {r.title}（{r.status}）")
        for r in unique.values()
    )

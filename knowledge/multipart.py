"""A message holding several questions: each part answered on its own, numbered, with its own 依据 and the
disclaimer said once; beyond `MAX_PARTS` parts the user is asked to send them one at a time."""

from __future__ import annotations

from collections.abc import Sequence

import prompts
from knowledge.asks import ask_of
from knowledge.extractive import CLAUSE_ENDS, leading_sentences
from knowledge.types import Answer, Citation

MAX_PARTS = 3
PART_CHARS = 160


def combine_parts(
    question: str, parts: Sequence[str], answers: Sequence[Answer], reasons: tuple[str, ...]
) -> Answer:
    """One answer to `question` from the answers to its `parts`, in order."""
    blocks = [
        prompts.render("answer_part", n=n, question=part, answer=_part_text(answer))
        for n, (part, answer) in enumerate(zip(parts, answers, strict=True), start=1)
    ]
    blocks.append(prompts.load("answer_disclaimer"))
    unique: dict[str, Citation] = {}
    for citation in (c for answer in answers for c in answer.citations):
        unique.setdefault(citation.label, citation)
    modes = {answer.mode for answer in answers}
    return Answer(
        "\n\n".join(blocks),
        tuple(unique.values()),
        min(answer.confidence for answer in answers),
        modes.pop() if len(modes) == 1 else "extractive",
        any(answer.escalate for answer in answers),
        question,
        (*reasons, f"parts:{len(parts)}", *(r for a in answers for r in a.reasons)),
        _only_offer(answers),
    )


def asks_something(part: str) -> bool:
    """Whether a part reads as a question of its own (an ask or a question mark), not an example."""
    return bool(ask_of(part).kinds) or part.rstrip().endswith(("?", "？"))


def _part_text(answer: Answer) -> str:
    """One part's answer without the closing disclaimer (said once for all parts), with its 依据 named
    when the text does not name it already (an FAQ answer's articles)."""
    text = answer.text.removesuffix(prompts.load("answer_disclaimer")).strip()
    text = leading_sentences(text, PART_CHARS, CLAUSE_ENDS)
    labels = [c.label for c in answer.citations if c.kind != "faq" and c.label not in text]
    if labels:
        text = f"{text}\n" + prompts.render("answer_part_basis", basis="；".join(dict.fromkeys(labels[:3])))
    return text


def _only_offer(answers: Sequence[Answer]) -> tuple[str, ...]:
    """The questions offered by the one part that offers any (a reply "2" then picks among them);
    none when several parts offer, since their numbers would clash."""
    offers = [answer.suggestions for answer in answers if answer.suggestions]
    return offers[0] if len(offers) == 1 else ()

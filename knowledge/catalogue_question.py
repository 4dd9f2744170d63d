"""Questions that name standard numbers: whether they ask only about status (现行吗, 什么时候实施), and
what is left of them once the numbers the catalogue answers for are cut out. Words:
prompts/answer_status_words.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.intent import contains_keyword, load_keyword_sections, longest_first, normalise_for_matching
from knowledge.standard_numbers import NumberMatch

_NUMBER_MARK = "§"
_CLAUSE = re.compile(r"[^，,。？?！!；;\n]+[，,。？?！!；;\n]*")
_FILLER = re.compile(r"[\W_\s]+", re.UNICODE)


@dataclass(frozen=True)
class StatusWords:
    """Words that ask about a standard's status, longest first, and words that make a clause a question."""

    status: tuple[str, ...]
    interrogatives: tuple[str, ...]

    @classmethod
    def load(cls, name: str = "answer_status_words") -> StatusWords:
        sections = load_keyword_sections(name)
        words = longest_first(sections.get("words", ()))
        return cls(words, sections.get("interrogatives", ()))


def asks_only_status(question: str, numbers: Sequence[NumberMatch], words: StatusWords) -> bool:
    """Whether every clause that asks something holds little beyond standard numbers and status
    words; clauses that ask nothing and name no number ("我们是做饮料的") are context."""
    text = _replace_numbers(question, numbers, f" {_NUMBER_MARK} ")
    for clause in _CLAUSE.findall(normalise_for_matching(text)):
        names_number = _NUMBER_MARK in clause
        if not names_number and not any(contains_keyword(clause, w) for w in words.interrogatives):
            continue
        rest = clause.replace(_NUMBER_MARK, " ")
        for word in words.status:
            if contains_keyword(rest, word):
                rest = rest.replace(word, " ")
        if len(_FILLER.sub("", rest)) > 2:
            return False
    return True


def _replace_numbers(question: str, numbers: Sequence[NumberMatch], mark: str) -> str:
    for match in sorted(numbers, key=lambda m: m.start, reverse=True):
        question = f"{question[: match.start]}{mark}{question[match.end :]}"
    return question


def without_numbers(question: str, numbers: Sequence[NumberMatch]) -> str:
    """The question with the standard numbers cut out: the catalogue already answers for them, so
    what is left must be found in the passages on its own merits."""
    return _replace_numbers(question, numbers, "").strip() or question

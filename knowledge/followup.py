"""Multi-turn questions: complete short follow-ups ("那团体标准呢？", "要钱吗？") from the conversation's
topic (its last answered question), never from the previous answer. Vocabulary lives in
prompts/followup_terms.md and prompts/ask_terms.md."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from knowledge.asks import AskVocabulary, ask_of, without_ask_words
from knowledge.intent import contains_keyword, load_keyword_sections, longest_first, normalise_for_matching
from knowledge.standard_numbers import find_standard_numbers

ResolutionMethod = Literal["none", "substitute", "topic", "append", "repeat"]

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_TRAILING = re.compile(r"[\s?？。.!！,，、;；:：~～…]+$")
_LEADING = re.compile(r"^[\s,，、。.]+")
_ENDS_WITH_NE = re.compile(r"呢[\s?？。.!！~～…]*$")


@dataclass(frozen=True)
class FollowupVocabulary:
    """Subject terms a follow-up may swap, openers that mark a follow-up (dropped or kept when it is
    completed), anchors that make a short question stand alone, and how long a follow-up may be."""

    subjects: tuple[str, ...]
    openers: tuple[str, ...]
    conditional_openers: tuple[str, ...]
    anchors: tuple[str, ...]
    forms: tuple[tuple[str, str], ...] = ()
    pronouns: tuple[str, ...] = ()
    max_chars: int = 20
    bare_max_chars: int = 8

    @classmethod
    def load(cls, name: str = "followup_terms") -> FollowupVocabulary:
        sections = load_keyword_sections(name)
        return cls(
            longest_first(sections.get("subjects", ())),
            longest_first(sections.get("openers", ())),
            longest_first(sections.get("conditional_openers", ())),
            sections.get("anchors", ()),
            tuple(
                (short.strip(), full.strip())
                for short, _, full in (item.partition(":") for item in sections.get("subject_forms", ()))
            ),
            sections.get("pronouns", ()),
        )


@dataclass(frozen=True)
class Resolution:
    """The question to answer and how it was derived from the previous one."""

    question: str
    method: ResolutionMethod = "none"


def _nfkc(text: str) -> str:
    """NFKC with collapsed white space; case kept for display."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _starts_with(text: str, opener: str) -> bool:
    if not text.lower().startswith(opener):
        return False
    return not opener.isascii() or text[len(opener) : len(opener) + 1] in ("", " ")


def _drop_opener(text: str, vocabulary: FollowupVocabulary) -> str:
    """`text` without a leading 那/那么/还有…; conditional openers (如果…) stay."""
    opener = next((o for o in vocabulary.openers if _starts_with(text, o)), None)
    return _LEADING.sub("", text[len(opener) :]) if opener else text


def _opens_like_followup(text: str, vocabulary: FollowupVocabulary) -> bool:
    return any(_starts_with(text, o) for o in vocabulary.openers + vocabulary.conditional_openers)


def numbers_and_terms(text: str, vocabulary: FollowupVocabulary) -> tuple[list[str], list[str]]:
    """Standard numbers and subject terms named in normalised `text`; terms longest first, a shorter
    term inside a longer one not counted twice."""
    numbers = [text[m.start : m.end] for m in find_standard_numbers(text)]
    rest = text
    for number in numbers:
        rest = rest.replace(number, " ")
    terms = []
    for term in vocabulary.subjects:
        if term in rest:
            terms.append(term)
            rest = rest.replace(term, " ")
    return numbers, terms


def subjects_in(text: str, vocabulary: FollowupVocabulary) -> list[str]:
    """Standard numbers, then subject terms, named in normalised `text`."""
    numbers, terms = numbers_and_terms(text, vocabulary)
    return numbers + terms


def is_followup(question: str, vocabulary: FollowupVocabulary) -> bool:
    """Whether a message looks like a follow-up: short, and opening like one, ending in 呢, or naming
    nothing that would make it stand alone."""
    text = normalise_for_matching(question)
    bare = _PUNCT.sub("", text)
    if not bare or len(bare) > vocabulary.max_chars:
        return False
    if _opens_like_followup(text, vocabulary) or _ENDS_WITH_NE.search(text):
        return True
    if len(bare) > vocabulary.bare_max_chars or subjects_in(text, vocabulary):
        return False
    return not any(contains_keyword(text, anchor) for anchor in vocabulary.anchors)


def resolve_followup(question: str, previous: str | None, vocabulary: FollowupVocabulary) -> Resolution:
    """Complete a follow-up from the previous question of the same conversation.

    A follow-up that only names another subject ("那团体标准呢？") takes the previous question with
    that subject swapped in; one that names a subject and asks something of its own stands alone; one
    that asks something else ("要钱吗？", "编号怎么编") asks it of the previous question's topic (its
    subject, standard numbers and action; else the previous question without its own ask); any other is
    appended to the previous question, and one that asks nothing of its own ("还有呢？") repeats it."""
    if not previous or not is_followup(question, vocabulary):
        return Resolution(question)
    body = _drop_opener(_nfkc(question), vocabulary)
    previous_text = _nfkc(previous)
    if not _PUNCT.sub("", body).removesuffix("呢"):
        return Resolution(previous_text, "repeat")
    new_numbers, new_terms = numbers_and_terms(body, vocabulary)
    if new_numbers or new_terms:
        rest = body
        for subject in new_numbers + new_terms:
            rest = rest.replace(subject, "")
        if _PUNCT.sub("", rest).removesuffix("呢"):
            return Resolution(question)  # names a subject and asks something of its own
        old_numbers, old_terms = numbers_and_terms(previous_text, vocabulary)
        new, old = (new_numbers, old_numbers) if new_numbers else (new_terms, old_terms)
        if old and old[0] != new[0]:
            written = dict(vocabulary.forms).get(new[0], new[0])
            return Resolution(previous_text.replace(old[0], written), "substitute")
    conditional = any(_starts_with(body, o) for o in vocabulary.conditional_openers)
    topic = "" if conditional else topic_words(previous_text, body, vocabulary)
    if topic:
        return Resolution(f"{topic} {body}", "topic")
    if ask_of(body).kinds and not conditional:
        topic = _TRAILING.sub("", without_ask_words(previous_text))
        if topic:
            return Resolution(f"{topic} {body}", "topic")
    return Resolution(f"{_TRAILING.sub('', previous_text)}，{body}", "append")


def topic_words(previous: str, body: str, vocabulary: FollowupVocabulary) -> str:
    """What a follow-up is about, from the previous question: the standard numbers and subject terms it
    names, and the action it is about (自我声明, 备案 …) unless the follow-up names an action of its own
    ("编号怎么编" after "团标是强制的吗" is about 团标, not about 执行). Empty when it names no subject."""
    numbers, terms = numbers_and_terms(normalise_for_matching(previous), vocabulary)
    if not numbers and not terms:
        return ""
    words = [*numbers, *terms]
    asks = AskVocabulary.load()
    if not ask_of(body, asks).actions:
        lowered = normalise_for_matching(previous)
        present = {w for _, ws in asks.actions for w in ws if contains_keyword(lowered, w)}
        found = min(present, key=lambda w: (-len(w), lowered.find(w)), default=None)
        if found is not None and not any(found in word for word in words):
            words.append(found)
    return " ".join(words)


def with_pronoun_resolved(question: str, number: str | None, vocabulary: FollowupVocabulary) -> str | None:
    """ "它代替了哪些标准" with the standard number last named put before it, when the question points
    back with a pronoun and names no number of its own; None otherwise."""
    text = normalise_for_matching(question)
    if number is None or find_standard_numbers(text):
        return None
    if not any(contains_keyword(text, pronoun) for pronoun in vocabulary.pronouns):
        return None
    return f"{number} {question.strip()}"

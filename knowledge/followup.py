"""Multi-turn questions: remember each conversation's last question and complete short follow-ups
("那团体标准呢？", "罚多少？") from it. Vocabulary lives in prompts/followup_terms.md."""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from knowledge.intent import contains_keyword, load_keyword_sections, normalise_for_matching
from knowledge.standard_numbers import find_standard_numbers

ResolutionMethod = Literal["none", "substitute", "append", "repeat"]

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
    max_chars: int = 20
    bare_max_chars: int = 8

    @classmethod
    def load(cls, name: str = "followup_terms") -> FollowupVocabulary:
        sections = load_keyword_sections(name)

        def longest_first(key: str) -> tuple[str, ...]:
            return tuple(sorted(sections.get(key, ()), key=len, reverse=True))

        return cls(
            longest_first("subjects"),
            longest_first("openers"),
            longest_first("conditional_openers"),
            sections.get("anchors", ()),
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
    that subject swapped in; one that names a subject and asks something of its own stands alone; any
    other follow-up ("罚多少？") is appended to the previous question, and one that asks nothing of
    its own ("还有呢？") repeats it."""
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
            return Resolution(previous_text.replace(old[0], new[0]), "substitute")
    return Resolution(f"{_TRAILING.sub('', previous_text)}，{body}", "append")


class ConversationMemory:
    """The last question of each recent conversation: at most `max_conversations`, least recently used
    dropped first, forgotten after `max_age_s` seconds. Thread-safe."""

    def __init__(
        self,
        max_conversations: int = 10_000,
        max_age_s: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_conversations = max_conversations
        self.max_age_s = max_age_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def previous(self, conversation: str) -> str | None:
        """The last question remembered for `conversation`, unless it is too old."""
        with self._lock:
            entry = self._entries.get(conversation)
            if entry is None:
                return None
            question, at = entry
            if self._clock() - at > self.max_age_s:
                del self._entries[conversation]
                return None
            self._entries.move_to_end(conversation)
            return question

    def remember(self, conversation: str, question: str) -> None:
        """Make `question` the last question of `conversation`."""
        with self._lock:
            self._entries[conversation] = (question, self._clock())
            self._entries.move_to_end(conversation)
            while len(self._entries) > self.max_conversations:
                self._entries.popitem(last=False)

    def forget(self, conversation: str) -> None:
        with self._lock:
            self._entries.pop(conversation, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

"""What a message asks for before any retrieval: a person, a topic staff must handle, something outside
standards consulting, a greeting, or an ordinary question. Keyword lists: prompts/intent_keywords.md."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

import prompts

IntentKind = Literal["human", "staff_topic", "out_of_scope", "greeting", "thanks", "question"]

_SECTION = re.compile(r"^##\s+(\S+)\s*$")
_ITEM = re.compile(r"^-\s+(.+?)\s*$")
_ASCII_WORD = re.compile(r"^[a-z0-9 ]+$")
_FILLER = re.compile(r"[\W_]+", re.UNICODE)


def parse_keyword_sections(text: str) -> dict[str, tuple[str, ...]]:
    """`## name` sections of `- item` lines → {name: items}; other lines are comments."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if heading := _SECTION.match(line.strip()):
            current = sections.setdefault(heading.group(1), [])
        elif current is not None and (item := _ITEM.match(line.strip())):
            current.append(unicodedata.normalize("NFKC", item.group(1)).lower())
    return {name: tuple(items) for name, items in sections.items()}


@cache
def load_keyword_sections(name: str) -> dict[str, tuple[str, ...]]:
    """The keyword sections of prompts/<name>.md."""
    return parse_keyword_sections(prompts.load(name))


def normalise_for_matching(text: str) -> str:
    """NFKC (full-width → half-width), lower case, collapsed white space."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def contains_keyword(text: str, keyword: str) -> bool:
    """Substring match for Chinese keywords, whole-word match for ASCII ones; `text` is normalised."""
    if _ASCII_WORD.match(keyword):
        return re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", text) is not None
    return keyword in text


def first_keyword(text: str, keywords: tuple[str, ...]) -> str | None:
    """The first keyword of the list found in `text`, if any."""
    return next((k for k in keywords if contains_keyword(text, k)), None)


@dataclass(frozen=True)
class IntentKeywords:
    """The keyword lists that decide an intent."""

    human: tuple[str, ...]
    human_exact: tuple[str, ...]
    staff_topics: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    in_scope: tuple[str, ...]
    greetings: tuple[str, ...]
    thanks: tuple[str, ...]

    @classmethod
    def load(cls, name: str = "intent_keywords") -> IntentKeywords:
        sections = load_keyword_sections(name)
        return cls(**{field: sections.get(field, ()) for field in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Intent:
    """The intent of one message and the keyword that decided it."""

    kind: IntentKind
    keyword: str | None = None

    @property
    def escalate(self) -> bool:
        """Whether staff should see this message whatever the knowledge base answers."""
        return self.kind in ("human", "staff_topic", "out_of_scope")

    @property
    def answerable(self) -> bool:
        """Whether the knowledge base should still try to answer it."""
        return self.kind in ("staff_topic", "question")


def _is_only(text: str, words: tuple[str, ...]) -> str | None:
    """The first of `words` when the message holds nothing else but punctuation (and at most one char)."""
    found = [w for w in words if contains_keyword(text, w)]
    if not found:
        return None
    rest = text
    for word in sorted(found, key=len, reverse=True):
        rest = rest.replace(word, "")
    return found[0] if len(_FILLER.sub("", rest)) <= 1 else None


def classify_intent(question: str, keywords: IntentKeywords) -> Intent:
    """The intent of `question`: human > out of scope > staff topic > greeting/thanks > question."""
    text = normalise_for_matching(question)
    if keyword := first_keyword(text, keywords.human):
        return Intent("human", keyword)
    bare = _FILLER.sub("", text)
    if bare and bare in keywords.human_exact:
        return Intent("human", bare)
    in_scope = first_keyword(text, keywords.in_scope) is not None
    if not in_scope and (keyword := first_keyword(text, keywords.out_of_scope)):
        return Intent("out_of_scope", keyword)
    if keyword := first_keyword(text, keywords.staff_topics):
        return Intent("staff_topic", keyword)
    if keyword := _is_only(text, keywords.thanks):
        return Intent("thanks", keyword)
    if keyword := _is_only(text, keywords.greetings):
        return Intent("greeting", keyword)
    return Intent("question")

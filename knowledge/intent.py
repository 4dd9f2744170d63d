"""What a message asks for before any retrieval: a person, a topic staff must handle, the hotline itself,
something outside standards consulting, an insult, no words at all, a greeting, or an ordinary question.
Keyword lists: prompts/intent_keywords.md."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

import prompts

IntentKind = Literal[
    "human", "staff_topic", "service", "out_of_scope", "insult", "unclear", "greeting", "thanks", "question"
]

_SECTION = re.compile(r"^##\s+(\S+)\s*$")
_ITEM = re.compile(r"^-\s+(.+?)\s*$")
_ASCII_WORD = re.compile(r"^[a-z0-9 ]+$")
_FILLER = re.compile(r"[\W_]+", re.UNICODE)
_EMOJI_CODE = re.compile(r"\[[^\[\]\s]{1,6}\]")  # WeChat's [微笑] [捂脸] [图片]
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[a-z]+")
_VOWELS = frozenset("aeiouy")


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


def longest_first(words: Iterable[str]) -> tuple[str, ...]:
    """`words` once each, longest first (equal lengths in their given order), so a longer phrase is
    matched before a shorter one inside it."""
    return tuple(sorted(dict.fromkeys(words), key=len, reverse=True))


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
    service: tuple[str, ...]
    staff_topics: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    in_scope: tuple[str, ...]
    insult: tuple[str, ...]
    interjections: tuple[str, ...]
    keyboard_rows: tuple[str, ...]
    latin_words: tuple[str, ...]
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
        return self.kind in ("human", "staff_topic")

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


def _without(text: str, phrases: tuple[str, ...]) -> str:
    """`text` with every phrase of `phrases` found in it cut out (longest first)."""
    for phrase in sorted(phrases, key=len, reverse=True):
        if contains_keyword(text, phrase):
            text = text.replace(phrase, " ")
    return text


def _mashed_latin(word: str, keywords: IntentKeywords) -> bool:
    """A Latin word typed by hitting keys: a keyboard-row run of four, a repeated short unit, or five
    letters without a vowel; known abbreviations (CCC, HACCP) are words."""
    if word in keywords.latin_words or len(word) < 4:
        return False
    for row in keywords.keyboard_rows:
        for start in range(len(row) - 3):
            run = row[start : start + 4]
            if run in word or run[::-1] in word:
                return True
    for size in (1, 2, 3):
        if len(word) >= 2 * size and len(word) % size == 0 and word == word[:size] * (len(word) // size):
            return True
    return len(word) >= 5 and not _VOWELS.intersection(word)


def is_unclear(text: str, keywords: IntentKeywords) -> bool:
    """Whether a normalised message holds no words: emoji, punctuation, emoji codes, repeated or
    interjection characters (啊啊啊, 嗯嗯), key mash (asdfgh), or a digit run with nothing around it."""
    bare = _FILLER.sub("", _EMOJI_CODE.sub(" ", text))
    if not bare:
        return True
    chinese = _CJK.findall(bare)
    if chinese:
        only_sounds = all(char in keywords.interjections for char in chinese)
        repeated = len(chinese) >= 3 and len(set(chinese)) == 1
        if not (only_sounds or repeated) or _CJK.sub("", bare).isdigit():
            return False
        rest = _CJK.sub(" ", text)
    else:
        rest = text
    words = _LATIN_WORD.findall(rest)
    digits = re.findall(r"\d+", rest)
    if any(len(d) < 5 for d in digits) or (digits and words):
        return False  # a year, an article number, a standard number's digits
    return all(_mashed_latin(word, keywords) or len(word) < 3 for word in words) and (
        bool(chinese) or any(len(word) >= 4 for word in words) or bool(digits)
    )


def classify_intent(question: str, keywords: IntentKeywords) -> Intent:
    """The intent of `question`: no words > service > human > out of scope > insult > staff topic >
    greeting/thanks > question. Service phrases (人工服务时间, 怎么转人工) are removed before looking for a
    request for a person, so only asking *for* a person hands over."""
    text = normalise_for_matching(question)
    if is_unclear(text, keywords):
        return Intent("unclear")
    service = first_keyword(text, keywords.service)
    rest = _without(text, keywords.service) if service else text
    if keyword := first_keyword(rest, keywords.human):
        return Intent("human", keyword)
    bare = _FILLER.sub("", rest)
    if bare and bare in keywords.human_exact:
        return Intent("human", bare)
    if service:
        return Intent("service", service)
    in_scope = first_keyword(text, keywords.in_scope) is not None
    if not in_scope and (keyword := first_keyword(text, keywords.out_of_scope)):
        return Intent("out_of_scope", keyword)
    if not in_scope and (keyword := first_keyword(text, keywords.insult)):
        return Intent("insult", keyword)
    if keyword := first_keyword(text, keywords.staff_topics):
        return Intent("staff_topic", keyword)
    if keyword := _is_only(text, keywords.thanks):
        return Intent("thanks", keyword)
    if keyword := _is_only(text, keywords.greetings):
        return Intent("greeting", keyword)
    return Intent("question")

"""What a question asks of its topic: the kind of ask (要不要, 怎么罚, 在哪办, 要钱吗 …) and the action it is
about (备案, 制定, 公开 …). Vocabulary lives in prompts/ask_terms.md.

An FAQ answers a question directly only when it asks the same thing; a follow-up ("要钱吗") keeps the
conversation's topic and brings its own ask."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

from knowledge.intent import contains_keyword, load_keyword_sections, longest_first, normalise_for_matching

_GROUP = re.compile(r"^([^:：]+)[:：]\s*(.+)$")
_CLAUSES = re.compile(r"[，,。？?！!；;\n]+")
GENERIC_KINDS = frozenset({"whether"})
DEFINING_KINDS = frozenset({"what"})


@dataclass(frozen=True)
class AskVocabulary:
    """Named groups of words: kinds of ask, and actions."""

    kinds: tuple[tuple[str, tuple[str, ...]], ...]
    actions: tuple[tuple[str, tuple[str, ...]], ...]
    related: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    @cache
    def load(cls, name: str = "ask_terms") -> AskVocabulary:
        sections = load_keyword_sections(name)
        related = {
            pair
            for kind, others in _groups(sections.get("related", ()))
            for other in others
            for pair in ((kind, other), (other, kind))
        }
        return cls(
            _groups(sections.get("kinds", ())), _groups(sections.get("actions", ())), frozenset(related)
        )

    def widened(self, kinds: frozenset[str]) -> frozenset[str]:
        """`kinds` with the kinds related to them (what ↔ which, where ↔ how)."""
        return kinds | {other for kind, other in self.related if kind in kinds}

    @cached_property
    def kind_words(self) -> tuple[str, ...]:
        """Every word that asks, of every kind, longest first."""
        return longest_first(w for _, words in self.kinds for w in words)


@dataclass(frozen=True)
class Ask:
    """The kinds of ask and the actions a text names."""

    kinds: frozenset[str]
    actions: frozenset[str]
    asked_actions: frozenset[str] = frozenset()

    @property
    def specific_kinds(self) -> frozenset[str]:
        """Kinds other than the generic yes/no ask."""
        return self.kinds - GENERIC_KINDS


def _groups(items: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    groups = []
    for item in items:
        match = _GROUP.match(item)
        if match:
            words = longest_first(w.strip() for w in match[2].split("|") if w.strip())
            groups.append((match[1].strip(), words))
    return tuple(groups)


def _named(text: str, groups: tuple[tuple[str, tuple[str, ...]], ...]) -> frozenset[str]:
    """The groups with a word in `text`; a longer word hides the shorter ones inside it (罚多少钱 is a
    penalty, not a cost; 会怎样 a consequence, not a how)."""
    words = sorted(
        ((w, name) for name, ws in groups for w in ws), key=lambda item: len(item[0]), reverse=True
    )
    named = set()
    for word, name in words:
        if contains_keyword(text, word):
            named.add(name)
            if not word.isascii():
                text = text.replace(word, "\0")
    return frozenset(named)


def _last_named(clause: str, groups: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    """The group whose word ends last in `clause`: in Chinese the verb asked about stands nearest the
    question's end (我们自己定的企业标准需要备案吗 asks about 备案, not 制定)."""
    ends = {
        name: max(clause.rfind(w) + len(w) for w in words if w in clause)
        for name, words in groups
        if any(w in clause for w in words)
    }
    return max(ends, key=lambda name: ends[name]) if ends else None


def ask_of(text: str, vocabulary: AskVocabulary | None = None) -> Ask:
    """What `text` asks: its kinds of ask, every action it names, and the actions it asks about (the
    last action of each clause)."""
    return _ask_of(text, vocabulary or AskVocabulary.load())


@lru_cache(maxsize=4096)
def _ask_of(text: str, vocabulary: AskVocabulary) -> Ask:
    normalised = normalise_for_matching(text)
    clauses = [c for c in _CLAUSES.split(normalised) if c.strip()]
    asking = [c for c in clauses if _named(c, vocabulary.kinds)] or clauses
    asked = (_last_named(clause, vocabulary.actions) for clause in asking)
    return Ask(
        _named(normalised, vocabulary.kinds),
        _named(normalised, vocabulary.actions),
        frozenset(name for name in asked if name),
    )


def same_ask(question: Ask, offered: Ask, vocabulary: AskVocabulary | None = None) -> bool:
    """Whether an answer to `offered` answers `question`: every specific kind of ask of the question (or
    a related kind) is among the offered ones, so a specific ask is not answered by a yes/no one (怎么罚
    is not 必须执行吗) nor by another specific one; a yes/no question is not answered by a where / how
    / what one alone; and, unless the question asks what something is, the action it asks about is one the
    offer names (备案 is not 制定)."""
    vocabulary = vocabulary or AskVocabulary.load()
    asked, answered = question.specific_kinds, offered.specific_kinds
    if asked and not asked <= vocabulary.widened(answered) and (answered or offered.kinds):
        return False
    if question.kinds and not asked and answered and not offered.kinds & GENERIC_KINDS:
        return False  # a yes/no question is not answered by where / how / what alone
    if question.specific_kinds == DEFINING_KINDS:
        return True  # "what is X" asks about a thing; an action named on the way is context
    return not (question.asked_actions and not question.asked_actions & offered.actions)


def without_ask_words(text: str, vocabulary: AskVocabulary | None = None) -> str:
    """`text` (normalised) with the words that ask (要不要, 怎么罚, 吗 …) removed: what is left names the
    topic. Action words stay, since they are part of the topic."""
    vocabulary = vocabulary or AskVocabulary.load()
    text = normalise_for_matching(text)
    for word in vocabulary.kind_words:
        if contains_keyword(text, word):
            text = text.replace(word, " ")
    return " ".join(text.split())

"""English questions over a Chinese knowledge base: recognise them and add the Chinese terms of the
English domain phrases they use, so retrieval, the FAQ and the catalogue see the words the sources use.
Terms: prompts/glossary_en.md."""

from __future__ import annotations

import re
from functools import cache

from knowledge.intent import load_keyword_sections, normalise_for_matching

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z]{2,}")


@cache
def english_glossary() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """(whole-phrase pattern, Chinese terms) pairs, longest English phrase first."""
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for item in load_keyword_sections("glossary_en").get("terms", ()):
        english, sep, chinese = item.partition("=")
        if sep and english.strip() and chinese.split():
            pairs.append((" ".join(english.split()), tuple(chinese.split())))
    pairs.sort(key=lambda pair: len(pair[0]), reverse=True)
    return tuple((_phrase_pattern(english), chinese) for english, chinese in pairs)


def _phrase_pattern(english: str) -> re.Pattern[str]:
    """Whole words, a space or hyphen between them, an optional plural s."""
    words = [re.escape(word) for word in re.split(r"[\s-]+", english)]
    return re.compile(r"(?<![a-z])" + r"[\s-]+".join(words) + r"s?(?![a-z])")


def is_english(text: str) -> bool:
    """Whether `text` is written in English: no Chinese characters and at least two Latin words."""
    normalised = normalise_for_matching(text)
    return not _CJK.search(normalised) and len(_WORD.findall(normalised)) >= 2


def chinese_terms(text: str) -> tuple[str, ...]:
    """The Chinese terms of the glossary phrases in `text`, in order of appearance, each once; a
    phrase inside a longer matched one ("standard" in "enterprise standard") does not count again."""
    normalised = normalise_for_matching(text)
    taken = [False] * len(normalised)
    found: list[tuple[int, tuple[str, ...]]] = []
    for pattern, chinese in english_glossary():
        for match in pattern.finditer(normalised):
            if any(taken[match.start() : match.end()]):
                continue
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
            found.append((match.start(), chinese))
    found.sort(key=lambda item: item[0])
    return tuple(dict.fromkeys(term for _, terms in found for term in terms))


def with_chinese_terms(question: str) -> str:
    """An English question with the Chinese terms of its domain phrases appended; others unchanged."""
    if not is_english(question):
        return question
    terms = chinese_terms(question)
    return f"{question}（{' '.join(terms)}）" if terms else question

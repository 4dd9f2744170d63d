"""Chinese tokenisation for BM25: jieba search-mode words, with standard numbers and article or
clause ids kept as single tokens and colloquial terms expanded to the formal ones."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata

import jieba

from knowledge.lexicon import STOPWORDS, SYNONYMS, USER_WORDS
from knowledge.standard_numbers import find_standard_numbers

_ARTICLE = re.compile(r"第[一二三四五六七八九十百零〇两\d]+[条章节款项]")
_CLAUSE = re.compile(r"(?<![\d.])\d{1,2}(?:\.\d{1,2}){1,3}(?![\d.])")
_WORD = re.compile(r"[\w/.-]+", re.UNICODE)
_PUNCT_ONLY = re.compile(r"^[\W_]+$", re.UNICODE)

TOKENIZER_ID = (
    "jieba-search/1/"
    + hashlib.sha256(repr((jieba.__version__, USER_WORDS, sorted(STOPWORDS))).encode()).hexdigest()[:16]
)
"""Names what `tokenize` does to a document; cached tokens of another tokenizer are not reused."""

_init_lock = threading.Lock()
_initialised = False


def _ensure_jieba() -> None:
    global _initialised
    if _initialised:
        return
    with _init_lock:
        if _initialised:
            return
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        for word in USER_WORDS:
            jieba.add_word(word, freq=20000)
        _initialised = True


def normalise_text(text: str) -> str:
    """NFKC (full-width → half-width), collapsed white space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def standard_tokens(canonical_key: str, canonical: str) -> list[str]:
    """The index tokens of one standard number: with and without its year."""
    key = canonical_key.replace(" ", "").lower()
    full = canonical.replace(" ", "").lower()
    return [key] if key == full else [full, key]


def tokenize(text: str, *, expand: bool = False) -> list[str]:
    """Tokens of `text` for BM25; `expand` adds formal synonyms of colloquial words (for queries)."""
    _ensure_jieba()
    text = normalise_text(text)
    tokens: list[str] = []
    plain_parts: list[str] = []
    cursor = 0
    for match in find_standard_numbers(text):
        plain_parts.append(text[cursor : match.start])
        tokens.extend(standard_tokens(match.number.key, match.number.canonical))
        cursor = match.end
    plain_parts.append(text[cursor:])
    for part in plain_parts:
        for article in _ARTICLE.findall(part):
            tokens.append(article)
        for clause in _CLAUSE.findall(part):
            tokens.append(clause)
        tokens.extend(_words(part))
    if expand:
        lowered = text.lower()
        for phrase, formal in SYNONYMS.items():
            if phrase in lowered:
                for term in formal:
                    tokens.extend(_words(term))
    return tokens


def _words(text: str) -> list[str]:
    words = []
    for word in jieba.cut_for_search(text):
        word = word.strip().lower()
        if word and word not in STOPWORDS and not _PUNCT_ONLY.match(word):
            words.append(word)
    return words

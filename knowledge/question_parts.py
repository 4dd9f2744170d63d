"""Several questions in one message: split "1. … 2. …", "一是…二是…", "另外/还有/再问一下…", several
question marks and separate lines into standalone questions, each carrying the shared subject when it
lacks one ("企业标准要公开吗？要备案吗？" → "企业标准要备案吗？"). Words: prompts/question_parts.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from knowledge.intent import load_keyword_sections, longest_first, normalise_for_matching
from knowledge.standard_numbers import find_standard_numbers

_PAUSES = "。；;，,？?！!：:、"
_SEPARATORS = r"\s" + _PAUSES  # inside a regex character class
_NUMERALS = "一二三四五六七八九十"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
_ENUM = re.compile(
    rf"[(（]\s*(?P<paren>\d{{1,2}}|[{_NUMERALS}])\s*[)）]"
    rf"|(?P<circled>[{_CIRCLED}])"
    rf"|(?<![^{_SEPARATORS}吗呢])(?:"  # bare markers only where a clause starts
    rf"(?P<digit>\d{{1,2}})\s*(?:[.．](?!\d)|[、)）])"
    rf"|(?P<cn>[{_NUMERALS}])\s*(?:[、.．)）]|是)"
    rf"|第(?P<ordinal>[{_NUMERALS}])\s*[，,、：:]"
    r")"
)
# A question ends at question marks, at 吗/呢 before a comma, or at a line break.
_QUESTION_END = re.compile(r"[？?]+|(?<=[吗呢])[，,]|\n+")
_MEANINGFUL = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
_LEADING_JUNK = re.compile(rf"^[{_SEPARATORS}\-—…·]+")
_TRAILING_PAUSE = re.compile(r"[\s。；;，,：:、]+$")
_LEADING_THEN = re.compile(r"^(?:那么|那)\s*")
_LATIN_START = re.compile(r"^[A-Za-z]")
_CONNECTIVE_SPAN = 24  # longer than any connective, so only a clause's head is normalised


@dataclass(frozen=True)
class PartWords:
    """Connectives that open a new question and subject terms a part may inherit (longest first)."""

    connectives: tuple[str, ...]
    subjects: tuple[str, ...]

    @classmethod
    @cache
    def load(cls, name: str = "question_parts") -> PartWords:
        sections = load_keyword_sections(name)
        return cls(
            longest_first(sections.get("connectives", ())), longest_first(sections.get("subjects", ()))
        )


def _value(match: re.Match[str]) -> tuple[str, int]:
    """The marker's style and its number (1 for 1. / 一、 / （1） / 第一 / ①)."""
    for style in ("paren", "digit", "cn", "ordinal", "circled"):
        token = match[style]
        if token is None:
            continue
        if style == "circled":
            return style, _CIRCLED.index(token) + 1
        if token.isdigit():
            return style, int(token)
        return style, _NUMERALS.index(token) + 1
    raise ValueError("not an enumeration marker")


def _enumeration(text: str) -> list[re.Match[str]]:
    """The markers of the first run 1, 2, 3… of one style, when there are at least two."""
    markers = list(_ENUM.finditer(text))
    for first, start in enumerate(markers):
        style, value = _value(start)
        if value != 1:
            continue
        run = [start]
        for marker in markers[first + 1 :]:
            if _value(marker) == (style, len(run) + 1):
                run.append(marker)
        if len(run) >= 2:
            return run
    return []


def _opens_with_connective(text: str, words: PartWords) -> str | None:
    """The connective `text` starts with: short ones (另外, 还有) only before a pause, so 还有效吗 stays."""
    lowered = normalise_for_matching(text[:_CONNECTIVE_SPAN])
    for word in words.connectives:
        if not lowered.startswith(word):
            continue
        after = lowered[len(word) : len(word) + 1]
        if len(word) > 2 or not after or after in ",.:;!? 、" or after.isspace():
            return text[len(word) :] if len(text) >= len(word) else ""
    return None


def _split_connectives(text: str, words: PartWords) -> list[str]:
    """Split before every connective that opens a clause."""
    pieces: list[str] = []
    start = 0
    for index in range(1, len(text)):
        if text[index - 1] not in _PAUSES and not text[index - 1].isspace():
            continue
        if _opens_with_connective(text[index:], words) is not None and index > start:
            pieces.append(text[start:index])
            start = index
    pieces.append(text[start:])
    return pieces


def _split_questions(text: str) -> list[str]:
    """Split after every question end, keeping the question marks with their question."""
    pieces: list[str] = []
    start = 0
    for match in _QUESTION_END.finditer(text):
        keep = match.group() if match.group()[0] in "？?" else ""
        pieces.append(text[start : match.start()] + keep)
        start = match.end()
    pieces.append(text[start:])
    return pieces


def _clean(part: str, words: PartWords) -> str:
    """Leading punctuation and a leading connective removed; white space trimmed."""
    part = _LEADING_JUNK.sub("", part.strip())
    while (rest := _opens_with_connective(part, words)) is not None:
        part = _LEADING_JUNK.sub("", rest.strip())
    return _TRAILING_PAUSE.sub("", part)


def _subject(part: str, words: PartWords) -> str | None:
    """The part's subject: its first standard number, else its longest subject term."""
    numbers = find_standard_numbers(part)
    if numbers:
        return part[numbers[0].start : numbers[0].end]
    lowered = normalise_for_matching(part)
    return next((word for word in words.subjects if word in lowered), None)


def _with_subject(part: str, subject: str) -> str:
    part = _LEADING_THEN.sub("", part)
    joiner = " " if _LATIN_START.match(part) or _LATIN_START.match(subject[-1:]) else ""
    return f"{subject}{joiner}{part}"


def split_parts(question: str, words: PartWords | None = None) -> list[str]:
    """The standalone questions in `question`, in order; the message itself when it holds one question
    (or none that can be told apart), nothing for an empty message. A part without a subject takes
    the latest subject before it (a preamble such as "关于企业标准，想问：" only lends its subject)."""
    words = words or PartWords.load()
    text = question.strip()
    if not text:
        return []
    markers = _enumeration(text)
    preamble = text[: markers[0].start()] if markers else ""
    bounds = [m.start() for m in markers] + [len(text)]
    items = [text[m.end() : end] for m, end in zip(markers, bounds[1:], strict=True)] if markers else [text]
    subject = _subject(preamble, words) if preamble else None
    if preamble and re.search(r"[？?]", preamble):
        items = [preamble, *items]
        subject = None
    parts: list[str] = []
    for item in items:
        for piece in _split_connectives(item, words):
            for raw in _split_questions(piece):
                part = _clean(raw, words)
                if len(_MEANINGFUL.findall(part)) < 2:
                    continue
                own = _subject(part, words)
                if own is None and subject is not None:
                    part = _with_subject(part, subject)
                subject = own or subject
                parts.append(part)
    return parts if len(parts) > 1 else [text]

"""Structure-aware splitting of a SourceDocument into Chunks: one article (第X条) per chunk for laws and
rules, clause numbers (4.1.2, 附录A) for standards, one pair per FAQ chunk, headings and paragraphs
for other documents. Long pieces are cut on sentence ends (。；！？) and keep their article or clause id."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.clauses import SHORT_HEADING, standard_segments
from ingest.documents import Block, SourceDocument
from ingest.numerals import normalise_structure_id, parse_number
from knowledge.standard_numbers import find_standard_numbers
from knowledge.types import Chunk

DEFAULT_CHUNK_CHARS = 600
MIN_CHUNK_CHARS = 40
ARTICLE_KINDS = frozenset({"law", "regulation", "rule", "local"})
_NUM = r"[一二三四五六七八九十百千零〇两\d]+"
_CHAPTER = re.compile(rf"^(第{_NUM}章)\s*([^。，；：]{{0,30}})$")
_SECTION = re.compile(rf"^(第{_NUM}节)\s*([^。，；：]{{0,30}})$")
_ARTICLE = re.compile(rf"^(第{_NUM}条(?:之[一二三四五六七八九十]+)?)(\s*)(.*)$")
_ARTICLE_REF = re.compile(rf"第{_NUM}条(?:之[一二三四五六七八九十]+)?")
_SENTENCE = re.compile(r"[^。；！？;!?]+(?:[。；！？;!?]+[”’」』）)]*)?|[。；！？;!?]+")
_MEANINGFUL = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
MIN_PREAMBLE_CHARS = 8


@dataclass
class Piece:
    """Text that becomes one or more chunks: its clause ids and chapter."""

    lines: list[str] = field(default_factory=list)
    clauses: tuple[str, ...] = ()
    chapter: str | None = None
    prefix: str = ""

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


def split_document(document: SourceDocument, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> list[Chunk]:
    """The chunks of one document, deterministic for the same input."""
    budget = max(chunk_chars, MIN_CHUNK_CHARS)
    if document.faq:
        return _faq_chunks(document)
    standard: str | None = None
    pieces: list[Piece] = []
    if document.kind in ARTICLE_KINDS:
        pieces = article_pieces(document)
    elif document.kind == "standard":
        standard = own_standard_number(document)
        pieces = [
            _clause_piece(clauses, text) for clauses, text in standard_segments(document.blocks, budget)
        ]
    if not any(piece.clauses for piece in pieces):
        pieces = heading_pieces(document.blocks, document.title)
    chunks: list[Chunk] = []
    for piece in pieces:
        for text in _cut(piece, budget):
            chunks.append(_chunk(document, len(chunks), text, piece.clauses, piece.chapter, standard))
    return chunks


def article_pieces(document: SourceDocument) -> list[Piece]:
    """One piece per article, the preamble first; text between headings outside articles kept too."""
    pieces: list[Piece] = []
    preamble = Piece()
    current: Piece | None = None
    chapter = section = None
    started = False
    last_number = 0
    for block in document.blocks:
        text = " ".join(block.text.split())
        if chapter_match := _CHAPTER.match(text):
            chapter = _heading(normalise_structure_id(chapter_match.group(1)), chapter_match.group(2))
            section, current, started = None, None, True
            continue
        if section_match := _SECTION.match(text):
            section = _heading(normalise_structure_id(section_match.group(1)), section_match.group(2))
            current, started = None, True
            continue
        article = _ARTICLE.match(text)
        if article and _is_article_start(article, last_number):
            article_id = normalise_structure_id(article.group(1))
            last_number = _article_number(article_id)
            chapter_label = f"{chapter} / {section}" if chapter and section else chapter or section
            current = Piece([f"{article_id} {article.group(3)}".strip()], (article_id,), chapter_label)
            pieces.append(current)
            started = True
        elif not started:
            preamble.lines.append(text)
        elif block.level > 0:
            current = Piece([text], (), chapter or text, prefix=text)
            pieces.append(current)
        elif current is None:
            current = Piece([text], (), chapter)
            pieces.append(current)
        else:
            current.lines.append(text)
    if _meaningful(preamble.text, document.title):
        pieces.insert(0, preamble)
    return pieces


def heading_pieces(blocks: Iterable[Block], title: str) -> list[Piece]:
    """One piece per heading with the paragraphs under it; each cut keeps the heading as its prefix."""
    pieces: list[Piece] = []
    current = Piece()
    for block in blocks:
        text = block.text.strip()
        if block.level > 0:
            if current.lines:
                pieces.append(current)
            is_title = text == title
            current = Piece([text], (), None if is_title else text, prefix="" if is_title else text)
        else:
            current.lines.append(text)
    if current.lines:
        pieces.append(current)
    return [piece for piece in pieces if _meaningful(piece.text, piece.prefix, minimum=1)]


def own_standard_number(document: SourceDocument) -> str | None:
    """The canonical number of the standard itself, from its title or first lines."""
    for text in (document.title, *(block.text for block in document.blocks[:5])):
        matches = find_standard_numbers(text)
        if matches:
            return matches[0].number.canonical
    return None


def pack(text: str, budget: int) -> list[str]:
    """Text cut into parts of at most `budget` characters, on paragraph ends where possible, else on
    sentence ends (。；！？), and as a last resort inside a sentence; parts are of similar size."""
    text = text.strip()
    if len(text) <= budget:
        return [text] if text else []
    units: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        pieces = [paragraph] if len(paragraph) <= budget else _sentences(paragraph, budget)
        units.extend(pieces[:-1])
        units.append(pieces[-1] + "\n")
    target = -(-len(text) // -(-len(text) // budget))
    parts: list[str] = []
    current = ""
    for unit in units:
        if current and (
            len(current.strip()) + len(unit.strip()) + 1 > budget or len(current.strip()) >= target
        ):
            parts.append(current.strip())
            current = ""
        current += unit
    if current.strip():
        parts.append(current.strip())
    return parts


def _sentences(paragraph: str, budget: int) -> list[str]:
    sentences: list[str] = []
    for sentence in _SENTENCE.findall(paragraph):
        while len(sentence) > budget:
            cut = sentence.rfind("，", 0, budget) + 1 or budget
            sentences.append(sentence[:cut])
            sentence = sentence[cut:]
        if sentence:
            sentences.append(sentence)
    return sentences


def _cut(piece: Piece, budget: int) -> list[str]:
    """The piece's text in parts of the budget; every part after the first starts with its id or heading."""
    text = piece.text
    lead = piece.prefix or (piece.clauses[0] if piece.clauses else "")
    if len(text) <= budget or not lead:
        return pack(text, budget)
    body = text[len(lead) :].strip() if text.startswith(lead) else text
    room = max(budget - len(lead) - 1, budget // 2)
    joiner = " " if piece.clauses and lead == piece.clauses[0] else "\n"
    return [f"{lead}{joiner}{part}" for part in pack(body, room)]


def _clause_piece(clauses: tuple[str, ...], text: str) -> Piece:
    """A standard's clause; its first line (the clause heading) leads every cut when it is short."""
    first = text.split("\n", 1)[0]
    prefix = first if clauses and len(first) <= SHORT_HEADING else (clauses[0] if clauses else "")
    return Piece([text], clauses, prefix=prefix)


def _faq_chunks(document: SourceDocument) -> list[Chunk]:
    chunks: list[Chunk] = []
    for pair in document.faq:
        text = f"问：{pair.question}\n答：{pair.answer}"
        clauses: tuple[str, ...] = ()
        if pair.basis:
            text += f"\n依据：{pair.basis}"
            found = (normalise_structure_id(ref) for ref in _ARTICLE_REF.findall(pair.basis))
            clauses = tuple(dict.fromkeys(found))
        chunks.append(_chunk(document, len(chunks), text, clauses, pair.category, None, pair.question))
    return chunks


def _chunk(
    document: SourceDocument,
    index: int,
    text: str,
    clauses: tuple[str, ...],
    chapter: str | None,
    standard: str | None,
    question: str | None = None,
) -> Chunk:
    return Chunk(
        id=chunk_id(document.path, document.kind, clauses, index),
        text=text,
        source=document.title,
        kind=document.kind,
        path=document.path,
        chapter=chapter,
        clauses=clauses,
        standards=mentioned_standards(text),
        standard=standard,
        date=document.date,
        status=document.status,
        question=question,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def chunk_id(path: str, kind: str, clauses: tuple[str, ...], index: int) -> str:
    """A short, stable id from where the chunk comes from and its place in the document."""
    key = "\x1f".join((path, kind, "|".join(clauses), str(index)))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def mentioned_standards(text: str) -> tuple[str, ...]:
    """Canonical numbers of the standards a text mentions, in order, each once."""
    return tuple(dict.fromkeys(match.number.canonical for match in find_standard_numbers(text)))


def _is_article_start(match: re.Match[str], last_number: int) -> bool:
    """An article line has white space after its id, or is numbered right after the previous article."""
    if match.group(2) or not match.group(3):
        return True
    return _article_number(normalise_structure_id(match.group(1))) == last_number + 1


def _article_number(article_id: str) -> int:
    core = article_id[1:].split("条", 1)[0]
    return parse_number(core) or 0


def _heading(structure_id: str, name: str) -> str:
    name = "".join(name.split())
    return f"{structure_id} {name}" if name else structure_id


def _meaningful(text: str, title: str, minimum: int = MIN_PREAMBLE_CHARS) -> bool:
    """True when the text holds at least `minimum` letters or digits besides its title."""
    rest = text.replace(title, "", 1) if title else text
    return len(_MEANINGFUL.findall(rest)) >= minimum

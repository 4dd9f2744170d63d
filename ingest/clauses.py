"""Clause structure of a standard's text: `1 范围`, `4.1.2 …`, `附录A`, `A.1` at line start.

A number counts as a clause only when it follows the previous clause (its first child, or the next
sibling at some level), so quantities such as `10 mm` at a line start are not taken for clauses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.documents import Block

_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,5})(?:\s+|$|(?=[\u4e00-\u9fff]))(.*)$")
_ANNEX = re.compile(r"^附\s*录\s*([A-Z])(?![A-Za-z])\s*(.*)$")
_ANNEX_CLAUSE = re.compile(r"^([A-Z])\.(\d{1,2}(?:\.\d{1,2}){0,4})(?:\s+|$|(?=[\u4e00-\u9fff]))(.*)$")
_SPECIAL = re.compile(r"^(前\s*言|引\s*言|参考文献|索\s*引)$")
SHORT_HEADING = 40
MAX_JUMP = 2

Key = tuple[str | int, ...]
Piece = tuple[tuple[str, ...], str]


@dataclass
class Segment:
    """One clause with the lines under it; key is None for text outside the numbering."""

    clause: str | None
    key: Key | None
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def standard_segments(blocks: Iterable[Block], budget: int) -> list[Piece]:
    """(clause ids, text) pieces of a standard; short parents are merged with their children."""
    return _merge(_segments(blocks), budget)


def _segments(blocks: Iterable[Block]) -> list[Segment]:
    segments = [Segment(None, None)]
    last: Key | None = None
    for block in blocks:
        line = " ".join(block.text.split())
        special = _SPECIAL.match(line)
        found = None if special else _clause(line)
        if special:
            segments.append(Segment("".join(special.group(1).split()), None, [line]))
        elif found and found[1] == ("", 1) and last is not None and not _follows(last, found[1]):
            _drop_table_of_contents(segments)
            segments.append(Segment(found[0], found[1], [line]))
            last = found[1]
        elif found and _follows(last, found[1]):
            segments.append(Segment(found[0], found[1], [line]))
            last = found[1]
        else:
            segments[-1].lines.append(line)
    return [segment for segment in segments if segment.lines]


def _clause(line: str) -> tuple[str, Key] | None:
    if match := _NUMBERED.match(line):
        number = match.group(1)
        return number, ("", *(int(part) for part in number.split(".")))
    if match := _ANNEX.match(line):
        return f"附录{match.group(1)}", (match.group(1),)
    if match := _ANNEX_CLAUSE.match(line):
        number = match.group(2)
        return f"{match.group(1)}.{number}", (match.group(1), *(int(part) for part in number.split(".")))
    return None


def _follows(previous: Key | None, key: Key) -> bool:
    """True when `key` can come right after `previous`: first child, next sibling, or a parent's sibling."""
    if previous is None:
        return key in (("", 0), ("", 1))
    if key[0] != previous[0]:
        return len(key) == 1 and isinstance(key[0], str) and _next_letter(str(previous[0])) == key[0]
    before, after = previous[1:], key[1:]
    if after == (*before, 1):
        return True
    for depth in range(len(before)):
        if len(after) == depth + 1 and after[:depth] == before[:depth]:
            step = int(after[depth]) - int(before[depth])
            if 1 <= step <= MAX_JUMP:
                return True
    return False


def _next_letter(letter: str) -> str:
    return "A" if not letter else chr(ord(letter) + 1)


def _drop_table_of_contents(segments: list[Segment]) -> None:
    """Numbering starts again at `1`: the numbered lines seen so far were a table of contents, whose
    lines all come again as the clause headings, so they are dropped."""
    segments[:] = [segment for segment in segments if segment.key is None]


def _descends(parent: str, child: str) -> bool:
    stem = parent[2:] if parent.startswith("附录") else parent
    return child.startswith(f"{stem}.")


def _merge(segments: list[Segment], budget: int) -> list[Piece]:
    """Each clause with all its sub-clauses when they fit the budget; else the clause, then each
    child subtree in turn (a short heading-only clause goes along with its first child)."""
    merged: list[Piece] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        if segment.key is None or not segment.clause:
            merged.append(((segment.clause,) if segment.clause else (), segment.text))
            index += 1
            continue
        end = _subtree_end(segments, index, len(segments))
        _emit(segments, index, end, budget, merged, None)
        index = end
    return merged


def _emit(
    segments: list[Segment], start: int, end: int, budget: int, out: list[Piece], carry: Piece | None
) -> None:
    group = segments[start:end]
    pieces = [carry] if carry else []
    pieces += [((segment.clause or "",), segment.text) for segment in group]
    if sum(len(text) + 1 for _, text in pieces) - 1 <= budget or end - start == 1:
        out.append(_join(pieces))
        return
    head = _join([*pieces[: 1 + bool(carry)]])
    next_carry: Piece | None = None
    if len(head[1]) < SHORT_HEADING:
        next_carry = head
    else:
        out.append(head)
    child = start + 1
    while child < end:
        child_end = _subtree_end(segments, child, end)
        _emit(segments, child, child_end, budget, out, next_carry)
        next_carry = None
        child = child_end


def _subtree_end(segments: list[Segment], start: int, end: int) -> int:
    parent = segments[start].clause or ""
    index = start + 1
    while index < end:
        segment = segments[index]
        if segment.key is None or not segment.clause or not _descends(parent, segment.clause):
            break
        index += 1
    return index


def _join(pieces: list[Piece]) -> Piece:
    return tuple(c for clauses, _ in pieces for c in clauses), "\n".join(text for _, text in pieces)

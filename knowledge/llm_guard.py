"""Checks on what passes between the knowledge base and an LLM: passages fenced as data, instructions
planted inside a passage recognised, a reply that obeys them caught, and a reply shaped so that its
direct answer comes first."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.intent import contains_keyword, load_keyword_sections, normalise_for_matching
from knowledge.types import Hit

MIN_PAYLOAD_CHARS = 4
LEAD_SHORT_CHARS = 20
LONG_PARAGRAPH_CHARS = 100
_FENCE = re.compile(r"</?\s*资料", re.IGNORECASE)
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+(?:\[\d+\])*[”’）)」』]*|\n+|$)")
_PAYLOAD_END = re.compile(r"[。！？!?\n]|(?<![0-9])\.(?![0-9])")
_QUOTES = "\"'“”‘’「」『』《》"
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_SOURCE_HEADER = re.compile(r"^\s*(?:依据|出处|参考资料|参考|来源|sources?|references?)\s*[:：]?\s*$", re.I)
_SOURCE_ITEM = re.compile(r"^\s*(?:[-*•·]|\[\d+\]|\d+[.、)]|《)")


def fence(text: str) -> str:
    """Passage text that cannot close or open the <资料> fence around it."""
    return _FENCE.sub(lambda m: m.group(0).replace("<", "‹"), text)


@dataclass(frozen=True)
class PlantedInstruction:
    """An instruction found inside a retrieved passage: the passage (1-based) and what it tells the
    model to say, when it names something ("" when it only gives orders)."""

    passage: int
    trigger: str
    payload: str


def planted_instructions(hits: Sequence[Hit]) -> tuple[PlantedInstruction, ...]:
    """Every passage that carries instructions to the model (phrases in prompts/llm_injection.md)."""
    sections = load_keyword_sections("llm_injection")
    triggers, says = sections.get("triggers", ()), sections.get("says", ())
    found: list[PlantedInstruction] = []
    for number, hit in enumerate(hits, start=1):
        text = normalise_for_matching(hit.chunk.text)
        at = _first_position(text, triggers)
        if at is None:
            continue
        start, trigger = at
        found.append(PlantedInstruction(number, trigger, _payload(text[start + len(trigger) :], says)))
    return tuple(found)


def obeyed_instruction(
    reply: str, question: str, planted: Sequence[PlantedInstruction]
) -> PlantedInstruction | None:
    """The planted instruction the reply carries out: it repeats the text the passage told the model to
    say, and the question did not ask for that text."""
    said, asked = _compact(reply), _compact(question)
    for instruction in planted:
        payload = _compact(instruction.payload)
        if len(payload) >= MIN_PAYLOAD_CHARS and payload in said and payload not in asked:
            return instruction
    return None


def lead_first(text: str) -> str:
    """The reply with its direct answer (its first sentence, or two when the first is a bare "需要。")
    standing as a paragraph of its own when the first paragraph is long, and a source list the model
    appended removed (the answer adds its own)."""
    text = _without_source_list(text).strip()
    first, _, rest = text.partition("\n")
    sentences = [s for s in _SENTENCE.findall(first) if s.strip()]
    if len(sentences) <= 1 or len(first) <= LONG_PARAGRAPH_CHARS:
        return text
    short = len(sentences[0]) < LEAD_SHORT_CHARS and len(sentences[0] + sentences[1]) <= LONG_PARAGRAPH_CHARS
    take = 2 if short and len(sentences) > 2 else 1
    lead = "".join(sentences[:take]).strip()
    body = "".join(sentences[take:]).strip()
    rest = rest.strip()
    return "\n\n".join(part for part in (lead, body, rest) if part)


def _without_source_list(text: str) -> str:
    lines = text.rstrip().splitlines()
    for index in range(len(lines) - 1, 0, -1):
        if _SOURCE_HEADER.match(lines[index]):
            tail = [line for line in lines[index + 1 :] if line.strip()]
            if all(_SOURCE_ITEM.match(line) for line in tail):
                return "\n".join(lines[:index])
            break
    return text


def _first_position(text: str, keywords: Sequence[str]) -> tuple[int, str] | None:
    """Where the earliest of `keywords` occurs in `text` (ASCII keywords as whole words)."""
    positions = []
    for keyword in keywords:
        if not contains_keyword(text, keyword):
            continue
        if keyword.isascii():
            match = re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", text)
            positions.append((match.start() if match else text.find(keyword), keyword))
        else:
            positions.append((text.find(keyword), keyword))
    return min(positions) if positions else None


def _payload(after: str, says: Sequence[str]) -> str:
    """What follows the first "say"-word after the trigger, up to the end of its sentence."""
    at = _first_position(after, says)
    if at is None:
        return ""
    start, word = at
    rest = after[start + len(word) :].lstrip(" :：,，\"'“‘「『")
    rest = re.sub(r"^(?:that|with|this|：|:)\s*", "", rest)
    end = _PAYLOAD_END.search(rest)
    return (rest[: end.start()] if end else rest).strip().strip(_QUOTES).strip()


def _compact(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())

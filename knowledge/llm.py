"""LLM answers through any OpenAI-compatible endpoint: numbered context passages in, fenced as data; an
answer with [n] markers out. Markers are checked against the passages and only real ones become
citations; a reply that carries out instructions planted in a passage is caught (knowledge/llm_guard)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

import prompts
from config.errors import LLMError
from config.settings import LLMSettings
from knowledge.extractive import passage_body, passage_label
from knowledge.faq_match import parse_faq_text
from knowledge.intent import first_keyword, load_keyword_sections, normalise_for_matching
from knowledge.llm_guard import (
    PlantedInstruction,
    fence,
    lead_first,
    obeyed_instruction,
    planted_instructions,
)
from knowledge.types import Citation, Hit

log = logging.getLogger(__name__)

_MARKER = re.compile(r"[\[【［]\s*(\d+(?:\s*[,，、\-–~]\s*\d+)*)\s*[\]】］]")
_MARKER_PARTS = re.compile(r"\d+(?:\s*[\-–~]\s*\d+)?")
_MAX_RANGE = 20
SHORT_REPLY = 60


def build_chat_model(settings: LLMSettings) -> BaseChatModel:
    """A LangChain chat model for the configured endpoint."""
    if not settings.enabled:
        raise LLMError("未配置大模型地址 / llm.base_url is not set")
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        base_url=settings.base_url,
        api_key=SecretStr(settings.api_key),
        model=settings.model,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
    )


def format_context(hits: Sequence[Hit], passage_chars: int = 800) -> str:
    """Context passages numbered [1]…[n], each headed by its citation label."""
    blocks = []
    for number, hit in enumerate(hits, start=1):
        body = passage_body(hit)
        if len(body) > passage_chars:
            body = body[:passage_chars] + "……"
        label = fence(source_label(hit)).replace("\n", " ")
        blocks.append(prompts.render("llm_passage", n=number, label=label, text=fence(body)))
    return "\n\n".join(blocks)


def build_messages(question: str, hits: Sequence[Hit]) -> list[BaseMessage]:
    """System and user messages for one question over its numbered passages."""
    return [
        SystemMessage(prompts.load("llm_system")),
        HumanMessage(prompts.render("llm_user", context=format_context(hits), question=question)),
    ]


def marker_numbers(marker_body: str) -> list[int]:
    """The numbers inside one marker body: "1", "1,3", "1-3" (ranges of at most 20)."""
    numbers: list[int] = []
    for part in _MARKER_PARTS.findall(marker_body):
        bounds = [int(x) for x in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= _MAX_RANGE:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return numbers


def cited_numbers(text: str) -> list[int]:
    """Every passage number the text cites, in order of first mention, each once."""
    found = (n for m in _MARKER.finditer(text) for n in marker_numbers(m.group(1)))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class LLMReply:
    """A model's reply checked against the passages it was given.

    `text` has its markers renumbered to match `cited` ([1] is cited[0]) and markers that
    name no passage removed; `invalid` lists those invented numbers; `unknown` is True when the
    model said the context does not answer the question (an unknown-phrase in a reply that cites
    nothing, or in a short reply of at most SHORT_REPLY characters); `obeyed` is the instruction
    planted in a passage that the reply carries out, if any; `planted` lists the passages (1-based)
    that carry instructions and `numbers` the passages the reply cites (as the prompt numbered them)."""

    text: str
    cited: tuple[Hit, ...]
    invalid: tuple[int, ...]
    unknown: bool
    obeyed: PlantedInstruction | None = None
    planted: tuple[int, ...] = ()
    numbers: tuple[int, ...] = ()

    @property
    def injected(self) -> bool:
        """Whether the reply carries out a planted instruction, or rests only on passages carrying one."""
        return self.obeyed is not None or (bool(self.numbers) and set(self.numbers) <= set(self.planted))

    @property
    def citations(self) -> tuple[Citation, ...]:
        return tuple(Citation.from_hit(hit) for hit in self.cited)

    @property
    def usable(self) -> bool:
        return bool(self.citations) and not self.unknown and not self.injected

    @property
    def sources(self) -> str:
        """The numbered source list shown under the answer: [1] 《…》第…条, one a line."""
        return "\n".join(f"[{n}] {source_label(hit)}" for n, hit in enumerate(self.cited, start=1))


def source_label(hit: Hit) -> str:
    """A cited passage as the source list names it; an FAQ by its question and the articles it rests on."""
    if hit.chunk.kind != "faq":
        return passage_label(hit)
    entry = parse_faq_text(hit.chunk.text, hit.chunk.question)
    basis = prompts.render("llm_source_faq_basis", basis=entry.basis) if entry.basis else ""
    return prompts.render("llm_source_faq", question=entry.question, basis=basis)


def says_unknown(text: str) -> bool:
    """Whether the reply says the knowledge base lacks the answer (phrases in prompts/llm_unknown.md)."""
    phrases = load_keyword_sections("llm_unknown").get("phrases", ())
    return first_keyword(normalise_for_matching(text), phrases) is not None


def interpret_reply(reply: str, hits: Sequence[Hit], question: str = "") -> LLMReply:
    """Map the reply's [n] markers to the passages, drop invented ones, put the direct answer first,
    and check the reply against instructions planted in the passages."""
    numbers = cited_numbers(reply)
    valid = [n for n in numbers if 1 <= n <= len(hits)]
    invalid = tuple(n for n in numbers if n not in valid)
    renumber = {old: new for new, old in enumerate(valid, start=1)}

    def rewrite(match: re.Match[str]) -> str:
        kept = [renumber[n] for n in dict.fromkeys(marker_numbers(match.group(1))) if n in renumber]
        return "".join(f"[{n}]" for n in kept)

    text = lead_first(_MARKER.sub(rewrite, reply))
    cited = tuple(hits[n - 1] for n in valid)
    unknown = says_unknown(reply) and (not valid or len(_MARKER.sub("", reply).strip()) <= SHORT_REPLY)
    planted = planted_instructions(hits)
    obeyed = obeyed_instruction(_MARKER.sub("", reply), question, planted)
    return LLMReply(text, cited, invalid, unknown, obeyed, tuple(p.passage for p in planted), tuple(valid))


def generate(chat_model: BaseChatModel, question: str, hits: Sequence[Hit]) -> str:
    """The model's reply text; LLMError for any failure of the endpoint or an empty reply."""
    try:
        message = chat_model.invoke(build_messages(question, hits))
    except Exception as exc:  # the endpoint is outside our control: timeouts, 5xx, bad JSON, refusals
        raise LLMError(f"大模型调用失败 / LLM call failed: {type(exc).__name__}: {exc}") from exc
    content = message.content
    if isinstance(content, list):
        content = "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)
    if not isinstance(content, str) or not content.strip():
        raise LLMError("大模型返回了空回答 / LLM returned an empty reply")
    return content

"""The answer chain: validate → intent → follow-up → catalogue | FAQ | LLM | extractive → confidence.

Each step is a small function over a `Turn` composed as LangChain runnables; `Answerer.ask` is the
facade. Without an LLM the chain still answers from the catalogue, the FAQ and cited passages."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

import prompts
from config.settings import Settings
from knowledge.catalogue import CatalogueLookup
from knowledge.catalogue_answer import describe_lookup
from knowledge.confidence import retrieval_confidence
from knowledge.errors import LLMError
from knowledge.extractive import build_extractive_answer, passage_label
from knowledge.faq_match import FaqMatch, FaqMatcher, basis_citations
from knowledge.followup import ConversationMemory, FollowupVocabulary, resolve_followup
from knowledge.intent import (
    Intent,
    IntentKeywords,
    classify_intent,
    contains_keyword,
    load_keyword_sections,
    normalise_for_matching,
)
from knowledge.kb import KnowledgeBase
from knowledge.llm import build_chat_model, generate, interpret_reply
from knowledge.standard_numbers import NumberMatch, find_standard_numbers
from knowledge.types import Answer, Citation, Hit

log = logging.getLogger(__name__)

CATALOG_FOUND_CONFIDENCE = 0.95
CATALOG_MISSING_CONFIDENCE = 0.6
FAQ_CANDIDATES = 5
QUESTION = Intent("question")
_NUMBER_MARK = "§"
_CLAUSE = re.compile(r"[^，,。？?！!；;\n]+[，,。？?！!；;\n]*")
_FILLER = re.compile(r"[\W_\s]+", re.UNICODE)
_TAG = re.compile(r"<[^<>]{0,500}>")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Turn:
    """One question on its way through the chain."""

    original: str
    question: str
    conversation: str | None = None
    intent: Intent = QUESTION
    reasons: tuple[str, ...] = ()
    answer: Answer | None = None

    def noted(self, *reasons: str) -> Turn:
        return replace(self, reasons=self.reasons + reasons)


@dataclass(frozen=True)
class Draft:
    """An answer before the chain's final escalation rules."""

    text: str
    mode: str
    confidence: float
    citations: tuple[Citation, ...] = ()
    reasons: tuple[str, ...] = ()
    escalate: bool = False
    relevant: bool = True


class Answerer:
    """Answers questions from one knowledge-base version."""

    def __init__(
        self,
        kb: KnowledgeBase,
        settings: Settings,
        *,
        chat_model: BaseChatModel | None = None,
        memory: ConversationMemory | None = None,
    ) -> None:
        self.kb = kb
        self.settings = settings
        self.chat_model = chat_model or (build_chat_model(settings.llm) if settings.llm.enabled else None)
        self.memory = memory if memory is not None else ConversationMemory()
        self.keywords = IntentKeywords.load()
        self.vocabulary = FollowupVocabulary.load()
        self.faq_matcher = FaqMatcher(kb.embeddings, self.vocabulary)
        status = load_keyword_sections("answer_status_words")
        self.status_words = tuple(sorted(status.get("words", ()), key=len, reverse=True))
        self.interrogatives = status.get("interrogatives", ())
        self.chain = self._build_chain()

    def ask(self, question: str, *, conversation: str | None = None) -> Answer:
        """The answer to `question`; `conversation` ties follow-ups to earlier questions."""
        turn = self.chain.invoke(
            Turn(original=question or "", question=question or "", conversation=conversation)
        )
        assert turn.answer is not None
        return turn.answer

    def resolve(self, question: str, conversation: str | None) -> str:
        """The question with a follow-up resolved against its conversation, remembered for the next."""
        if conversation is None:
            return question
        resolution = resolve_followup(question, self.memory.previous(conversation), self.vocabulary)
        self.memory.remember(conversation, resolution.question)
        return resolution.question

    def _build_chain(self) -> Runnable[Turn, Turn]:
        answered: Runnable[Turn, Turn] = RunnablePassthrough()
        route: Runnable[Turn, Turn] = RunnableBranch(
            (lambda t: t.answer is not None, answered),
            (lambda t: not t.intent.answerable, RunnableLambda(self._refuse)),
            (lambda t: bool(self._numbers(t.question)), RunnableLambda(self._from_catalogue)),
            RunnableLambda(self._from_knowledge),
        )
        return (
            RunnableLambda(self._validate)
            | RunnableLambda(self._classify)
            | RunnableLambda(self._resolve)
            | route
            | RunnableLambda(self._remember)
        )

    # --- steps -------------------------------------------------------------------------------

    def _validate(self, turn: Turn) -> Turn:
        """Empty questions get a prompt to ask one; over-long ones are cut to max_question_chars."""
        text = turn.original.strip()
        if not _FILLER.sub("", normalise_for_matching(text)):
            answer = Answer(prompts.load("refusal_empty"), (), 0.0, "refusal", False, "", ("empty_question",))
            return replace(turn, question="", answer=answer, reasons=("empty_question",))
        if _only_markup(text):
            answer = Answer(prompts.load("refusal_unclear"), (), 0.0, "refusal", False, "", ("only_markup",))
            return replace(turn, question="", answer=answer, reasons=("only_markup",))
        limit = self.settings.answer.max_question_chars
        if len(text) > limit:
            return replace(turn, original=text[:limit], question=text[:limit]).noted(
                f"question_truncated:{len(text)}"
            )
        return replace(turn, original=text, question=text)

    def _classify(self, turn: Turn) -> Turn:
        if turn.answer is not None:
            return turn
        intent = classify_intent(turn.question, self.keywords)
        turn = replace(turn, intent=intent)
        return turn if intent.kind == "question" else turn.noted(f"intent:{intent.kind}:{intent.keyword}")

    def _resolve(self, turn: Turn) -> Turn:
        if turn.answer is not None or not turn.intent.answerable or turn.conversation is None:
            return turn
        resolution = resolve_followup(turn.question, self.memory.previous(turn.conversation), self.vocabulary)
        if resolution.method == "none":
            return turn
        return replace(turn, question=resolution.question).noted(f"followup:{resolution.method}")

    def _refuse(self, turn: Turn) -> Turn:
        name = {
            "human": "escalate_human",
            "out_of_scope": "refusal_out_of_scope",
            "greeting": "refusal_greeting",
            "thanks": "refusal_thanks",
        }[turn.intent.kind]
        draft = Draft(prompts.load(name), "refusal", 0.0, escalate=turn.intent.escalate)
        return self._finish(turn, draft)

    def _from_catalogue(self, turn: Turn) -> Turn:
        """Catalogue facts for the standard numbers named; passages too when more is asked."""
        numbers = self._numbers(turn.question)
        lookups = [self.kb.catalogue.lookup(match.number) for match in numbers]
        facts = "\n\n".join(describe_lookup(lookup) for lookup in lookups)
        citations = tuple(c for lookup in lookups for c in catalogue_citations(lookup))
        missing = tuple(
            f"catalog_not_found:{match.number.canonical}"
            for match, lookup in zip(numbers, lookups, strict=True)
            if not lookup.found
        )
        confidence = CATALOG_MISSING_CONFIDENCE if missing else CATALOG_FOUND_CONFIDENCE
        if self._asks_only_status(turn.question, numbers):
            draft = Draft(facts, "catalog", confidence, citations, (*missing, "catalog_only"))
            return self._finish(turn, draft)
        rest = self._draft_from_knowledge(_without_numbers(turn.question, numbers))
        if not rest.relevant:
            draft = Draft(
                facts, "catalog", min(confidence, rest.confidence), citations, missing + rest.reasons
            )
            return self._finish(turn, draft)
        text = f"{facts}\n\n{rest.text}"
        reasons = (*missing, f"combined:{rest.mode}", *rest.reasons)
        draft = Draft(text, "catalog", rest.confidence, citations + rest.citations, reasons, rest.escalate)
        return self._finish(turn, draft)

    def _from_knowledge(self, turn: Turn) -> Turn:
        return self._finish(turn, self._draft_from_knowledge(turn.question))

    def _remember(self, turn: Turn) -> Turn:
        if turn.conversation is not None and turn.intent.answerable and turn.question:
            self.memory.remember(turn.conversation, turn.question)
        return turn

    # --- answering from the knowledge base ----------------------------------------------------

    def _draft_from_knowledge(self, question: str) -> Draft:
        """FAQ direct answer, else an LLM answer (when configured), else an extractive answer."""
        settings = self.settings
        faq_hits = self.kb.retriever.search(question, FAQ_CANDIDATES, kinds={"faq"})
        match = self.faq_matcher.best_match(question, faq_hits, settings.answer.faq_threshold)
        if match is not None:
            return faq_draft(match)
        k = max(
            settings.retrieval.top_k, settings.llm.context_passages, settings.answer.extractive_passages * 2
        )
        hits = self.kb.retriever.search(question, k)
        confidence = retrieval_confidence(question, hits)
        relevant = bool(hits) and confidence >= settings.answer.escalate_below
        if self.chat_model is not None and hits:
            draft = self._llm_draft(question, hits[: settings.llm.context_passages], confidence)
        else:
            draft = self._extractive_draft(question, hits, confidence)
        return replace(draft, relevant=relevant)

    def _extractive_draft(
        self, question: str, hits: Sequence[Hit], confidence: float, *reasons: str
    ) -> Draft:
        answer = self.settings.answer
        extractive = build_extractive_answer(question, hits, answer.extractive_passages, answer.passage_chars)
        if not extractive.passages:
            return Draft(extractive.text, "extractive", 0.0, (), (*reasons, "no_passages"), relevant=False)
        return Draft(extractive.text, "extractive", confidence, extractive.citations, reasons)

    def _llm_draft(self, question: str, hits: Sequence[Hit], confidence: float) -> Draft:
        assert self.chat_model is not None
        try:
            reply = interpret_reply(generate(self.chat_model, question, hits), hits)
        except LLMError as exc:
            log.warning("LLM unavailable, answering extractively: %s", exc)
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "empty_reply"
            return self._extractive_draft(question, hits, confidence, f"llm_failed:{cause}")
        dropped = (f"llm_invalid_markers:{','.join(map(str, reply.invalid))}",) if reply.invalid else ()
        if reply.unknown:
            draft = self._extractive_draft(question, hits, confidence, *dropped, "llm_unknown")
            return replace(draft, escalate=True)
        if not reply.citations:
            return self._extractive_draft(question, hits, confidence, *dropped, "llm_uncited")
        sources = "\n".join(f"[{n}] {passage_label(hit)}" for n, hit in enumerate(reply.cited, start=1))
        text = prompts.render(
            "answer_llm", answer=reply.text, sources=sources, disclaimer=prompts.load("answer_disclaimer")
        )
        return Draft(text, "llm", confidence, reply.citations, dropped)

    # --- helpers ------------------------------------------------------------------------------

    def _finish(self, turn: Turn, draft: Draft) -> Turn:
        """The Answer: escalated when the intent asks for staff, the draft does, or confidence is low."""
        reasons = turn.reasons + draft.reasons
        low = draft.mode != "refusal" and draft.confidence < self.settings.answer.escalate_below
        catalogue_only = "catalog_only" in draft.reasons
        escalate = turn.intent.escalate or draft.escalate or (low and not catalogue_only)
        if low and not catalogue_only:
            reasons += ("low_confidence",)
        text, mode, citations = draft.text, draft.mode, draft.citations
        if turn.intent.kind == "staff_topic":
            if draft.relevant and not low:
                text = f"{prompts.load('escalate_staff_topic')}\n\n{text}"
            else:
                text, mode, citations = prompts.load("escalate_staff_topic_only"), "refusal", ()
        answer = Answer(text, citations, round(draft.confidence, 4), mode, escalate, turn.question, reasons)
        return replace(turn, answer=answer, reasons=reasons)

    def _numbers(self, question: str) -> list[NumberMatch]:
        unique: dict[str, NumberMatch] = {}
        for match in find_standard_numbers(question):
            unique.setdefault(match.number.canonical, match)
        return list(unique.values())

    def _asks_only_status(self, question: str, numbers: Sequence[NumberMatch]) -> bool:
        """Whether every clause that asks something holds little beyond standard numbers and status
        words; clauses that ask nothing and name no number ("我们是做饮料的") are context."""
        text = _replace_numbers(question, numbers, f" {_NUMBER_MARK} ")
        for clause in _CLAUSE.findall(normalise_for_matching(text)):
            names_number = _NUMBER_MARK in clause
            if not names_number and not any(contains_keyword(clause, w) for w in self.interrogatives):
                continue
            rest = clause.replace(_NUMBER_MARK, " ")
            for word in self.status_words:
                if contains_keyword(rest, word):
                    rest = rest.replace(word, " ")
            if len(_FILLER.sub("", rest)) > 2:
                return False
        return True


def faq_draft(match: FaqMatch) -> Draft:
    """The FAQ's own answer, with its 依据 cited article by article."""
    entry = match.entry
    basis = prompts.render("answer_faq_basis", basis=entry.basis) if entry.basis else ""
    text = prompts.render("answer_faq", answer=entry.answer, basis=basis).strip()
    citations = (*basis_citations(entry.basis or "", match.similarity), Citation.from_hit(match.hit))
    return Draft(text, "faq", match.similarity, citations, (f"faq_match:{match.similarity:.3f}",))


def catalogue_citations(lookup: CatalogueLookup) -> tuple[Citation, ...]:
    """The catalogue records an answer about `lookup` speaks of, as catalog citations."""
    records = [lookup.edition, lookup.current, *lookup.successors, *lookup.adopted_by]
    if not any(records):
        records = list(lookup.all_editions)
    unique = {record.number: record for record in records if record is not None}
    source = prompts.load("answer_catalog_source")
    return tuple(
        Citation(r.source or source, "catalog", (), r.number, 1.0, f"{r.number} {r.title}（{r.status}）")
        for r in unique.values()
    )


def _replace_numbers(question: str, numbers: Sequence[NumberMatch], mark: str) -> str:
    for match in sorted(numbers, key=lambda m: m.start, reverse=True):
        question = f"{question[: match.start]}{mark}{question[match.end :]}"
    return question


def _without_numbers(question: str, numbers: Sequence[NumberMatch]) -> str:
    """The question with the standard numbers cut out: the catalogue already answers for them, so
    what is left must be found in the passages on its own merits."""
    return _replace_numbers(question, numbers, "").strip() or question


def _only_markup(text: str) -> bool:
    """Web page code with no Chinese words in it (a pasted tag, a probe): there is no question to answer."""
    return bool(_TAG.search(text)) and not _CJK.search(_TAG.sub(" ", text))

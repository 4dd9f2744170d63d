"""The answer chain: validate → pick an offered question → intent → follow-up → catalogue | FAQ | LLM |
extractive → confidence → conclude (never the same reply twice in a row; remember the conversation).

Each step is a small function over a `Turn` composed as LangChain runnables; `Answerer.ask` is the
facade. Without an LLM the chain still answers from the catalogue, the FAQ and cited passages.

Longer than most modules on purpose: the steps of one answer read top to bottom in the order they run;
what each step needs lives in its own module (intent, followup, faq_match, extractive, catalogue_answer…)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

import prompts
from config.errors import LLMError
from config.settings import Settings
from knowledge.catalogue_answer import describe_lookup
from knowledge.catalogue_question import StatusWords, asks_only_status, without_numbers
from knowledge.confidence import retrieval_confidence
from knowledge.conversation import EMPTY, ConversationMemory, ConversationState
from knowledge.drafts import Draft, catalogue_citations, faq_draft, suggestion_draft
from knowledge.edition_followup import resolve_edition, with_edition
from knowledge.extractive import build_extractive_answer
from knowledge.faq_match import FaqDecision, FaqMatcher
from knowledge.followup import FollowupVocabulary, resolve_followup, with_pronoun_resolved
from knowledge.glossary import is_english, with_chinese_terms
from knowledge.intent import (
    Intent,
    IntentKeywords,
    classify_intent,
    normalise_for_matching,
)
from knowledge.kb import KnowledgeBase
from knowledge.llm import build_chat_model, generate, interpret_reply
from knowledge.multipart import MAX_PARTS, asks_something, combine_parts
from knowledge.question_parts import split_parts
from knowledge.service_answers import service_answer
from knowledge.standard_numbers import NumberMatch, find_standard_numbers
from knowledge.types import Answer, Hit

log = logging.getLogger(__name__)

CATALOG_FOUND_CONFIDENCE = 0.95
CATALOG_MISSING_CONFIDENCE = 0.6
# Replies that may stand twice in a row: refusals and prompts, and an offer of questions to pick from.
UNREPEATED_MODES = frozenset({"refusal", "faq_suggest"})
# A standard named by its title, or another edition of one just discussed: the catalogue facts answer.
FACTS_ASKED = "catalog_facts_asked"
FAQ_COMPARED = 8  # FAQ hits the FAQ matcher compares with a question (their vectors are cached)
QUESTION = Intent(kind="question")
_FILLER = re.compile(r"[\W_\s]+", re.UNICODE)
_TAG = re.compile(r"<[^<>]{0,500}>")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PICK = re.compile(r"^\s*(?:第\s*)?([0-9]{1,2}|[一二三四五六七八九十])\s*(?:个|条|项)?\s*[.。、)）]?\s*$")
_CHINESE_DIGITS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Turn:
    """One question on its way through the chain."""

    original: str
    question: str
    conversation: str | None = None
    intent: Intent = QUESTION
    reasons: tuple[str, ...] = ()
    answer: Answer | None = None
    state: ConversationState = EMPTY
    parts: tuple[str, ...] = ()

    def noted(self, *reasons: str) -> Turn:
        return replace(self, reasons=self.reasons + reasons)


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
        self.status_words = StatusWords.load()
        self.chain = self._build_chain()

    def ask(self, question: str, *, conversation: str | None = None) -> Answer:
        """The answer to `question`; `conversation` ties follow-ups to earlier questions."""
        state = self.memory.state(conversation) if conversation is not None else EMPTY
        turn = self.chain.invoke(
            Turn(original=question or "", question=question or "", conversation=conversation, state=state)
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
        self._route: Runnable[Turn, Turn] = RunnableBranch(
            (lambda t: t.answer is not None, answered),
            (lambda t: not t.intent.answerable, RunnableLambda(self._refuse)),
            (lambda t: bool(self._numbers(t.question)), RunnableLambda(self._from_catalogue)),
            RunnableLambda(self._from_knowledge),
        )
        route: Runnable[Turn, Turn] = RunnableBranch(
            (lambda t: t.answer is None and t.intent.answerable and len(t.parts) > 1, self._from_parts),
            self._route,
        )
        return (
            RunnableLambda(self._validate)
            | RunnableLambda(self._pick)
            | RunnableLambda(self._classify)
            | RunnableLambda(self._resolve)
            | RunnableLambda(self._split)
            | route
            | RunnableLambda(self._conclude)
        )

    # --- steps -------------------------------------------------------------------------------

    def _validate(self, turn: Turn) -> Turn:
        """Empty questions get a prompt to ask one; over-long ones are cut to max_question_chars."""
        text = turn.original.strip()
        if not _FILLER.sub("", normalise_for_matching(text)):
            return _refused(turn, "refusal_empty", "empty_question")
        if _only_markup(text):
            return _refused(turn, "refusal_unclear", "only_markup")
        limit = self.settings.answer.max_question_chars
        if len(text) > limit:
            return replace(turn, original=text[:limit], question=text[:limit]).noted(
                f"question_truncated:{len(text)}"
            )
        return replace(turn, original=text, question=text)

    def _pick(self, turn: Turn) -> Turn:
        """A bare number ("2", "第二个") picks one of the questions the last answer offered; with none
        offered, or out of range, the user is asked for a question or a number in range."""
        match = _PICK.match(normalise_for_matching(turn.question)) if turn.answer is None else None
        if match is None:
            return turn
        digit = match[1]
        number = int(digit) if digit.isdigit() else _CHINESE_DIGITS.index(digit) + 1
        offered = turn.state.suggestions
        if 1 <= number <= len(offered):
            picked = offered[number - 1]
            return replace(turn, question=picked).noted(f"suggestion_pick:{number}")
        if offered:
            text = prompts.render("suggestion_out_of_range", count=len(offered))
            reason = "suggestion_out_of_range"
        else:
            text, reason = prompts.load("suggestion_none"), "no_suggestions"
        answer = Answer(
            text=text,
            citations=(),
            confidence=0.0,
            mode="refusal",
            escalate=False,
            question=turn.question,
            reasons=(reason,),
            suggestions=offered,
        )
        return replace(turn, answer=answer, reasons=(reason,))

    def _classify(self, turn: Turn) -> Turn:
        if turn.answer is not None:
            return turn
        intent = classify_intent(turn.question, self.keywords)
        turn = replace(turn, intent=intent)
        if intent.answerable:  # English domain terms get their Chinese terms for retrieval
            turn = replace(turn, question=with_chinese_terms(turn.question))
        return turn if intent.kind == "question" else turn.noted(f"intent:{intent.kind}:{intent.keyword}")

    def _resolve(self, turn: Turn) -> Turn:
        if turn.answer is not None or not turn.intent.answerable or turn.conversation is None:
            return turn
        if any(reason.startswith("suggestion_pick:") for reason in turn.reasons):
            return turn
        edition = resolve_edition(turn.original, turn.state.numbers, self.kb.catalogue)
        if edition is not None:
            question = with_edition(turn.state.topic, edition)
            return replace(turn, question=question).noted(f"followup:edition:{edition}", FACTS_ASKED)
        numbers = turn.state.numbers
        pointed = with_pronoun_resolved(turn.question, numbers[0] if numbers else None, self.vocabulary)
        if pointed is not None:
            return replace(turn, question=pointed).noted("followup:pronoun")
        resolution = resolve_followup(turn.question, turn.state.topic or None, self.vocabulary)
        if resolution.method == "none":
            return turn
        return replace(turn, question=resolution.question).noted(f"followup:{resolution.method}")

    def _split(self, turn: Turn) -> Turn:
        """The standalone questions a message holds ("1. … 2. …", "…？还有…？")."""
        if turn.answer is not None or not turn.intent.answerable:
            return turn
        if is_english(turn.original):
            return turn
        parts = split_parts(turn.question)
        if not all(asks_something(part) for part in parts):
            return turn  # "…？比如 GB/T 1.1-2020": an example, not a second question
        return replace(turn, parts=tuple(parts))

    def _from_parts(self, turn: Turn) -> Turn:
        """Each part answered on its own with its own 依据, numbered; beyond `MAX_PARTS` the user is asked
        to send them one at a time."""
        if len(turn.parts) > MAX_PARTS:
            draft = Draft(
                text=prompts.render("answer_too_many_parts", count=len(turn.parts)),
                mode="refusal",
                confidence=0.0,
            )
            return self._finish(turn.noted(f"parts:{len(turn.parts)}"), draft)
        answers = []
        for part in turn.parts:
            answered = self._route.invoke(replace(turn, question=part, parts=(), reasons=()))
            assert answered.answer is not None
            answers.append(answered.answer)
        answer = combine_parts(turn.question, turn.parts, answers, turn.reasons)
        return replace(turn, answer=answer, reasons=answer.reasons)

    def _refuse(self, turn: Turn) -> Turn:
        if turn.intent.kind == "service":
            # The hotline's own FAQ about its service, when it has one, says it best.
            match = self._faq_decision(turn.question).match
            if match is not None:
                return self._finish(turn, faq_draft(match))
            draft = Draft(text=service_answer(self.settings.handoff), mode="refusal", confidence=0.0)
            return self._finish(turn, draft)
        name = {
            "human": "escalate_human",
            "out_of_scope": "refusal_out_of_scope",
            "insult": "refusal_insult",
            "unclear": "refusal_unclear",
            "greeting": "refusal_greeting",
            "thanks": "refusal_thanks",
        }[turn.intent.kind]
        draft = Draft(text=prompts.load(name), mode="refusal", confidence=0.0, escalate=turn.intent.escalate)
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
        # An unknown number, or English around a number: passages would not be about the standard.
        if (
            missing
            or is_english(turn.original)
            or FACTS_ASKED in turn.reasons
            or asks_only_status(turn.question, numbers, self.status_words)
        ):
            draft = Draft(
                text=facts,
                mode="catalog",
                confidence=confidence,
                citations=citations,
                reasons=(*missing, "catalog_only"),
            )
            return self._finish(turn, draft)
        rest = self._draft_from_knowledge(without_numbers(turn.question, numbers))
        if not rest.relevant:
            draft = Draft(
                text=facts,
                mode="catalog",
                confidence=min(confidence, rest.confidence),
                citations=citations,
                reasons=missing + rest.reasons,
            )
            return self._finish(turn, draft)
        text = f"{facts}\n\n{rest.text}"
        reasons = (*missing, f"combined:{rest.mode}", *rest.reasons)
        draft = Draft(
            text=text,
            mode="catalog",
            confidence=rest.confidence,
            citations=citations + rest.citations,
            reasons=reasons,
            escalate=rest.escalate,
        )
        return self._finish(turn, draft)

    def _from_knowledge(self, turn: Turn) -> Turn:
        number = self._standard_named_by_title(turn.question)
        if number is not None:  # "生活饮用水卫生标准现在是哪一版": the catalogue answers
            titled = replace(turn, question=f"{number} {turn.question}").noted(FACTS_ASKED)
            return self._from_catalogue(titled)
        return self._finish(turn, self._draft_from_knowledge(turn.question))

    def _standard_named_by_title(self, question: str) -> str | None:
        """The current edition of the standard whose full title the question names, when the best hit
        is that standard's catalogue record."""
        hits = self.kb.retriever.search(question, 1, kinds={"catalog"})
        if not hits or not hits[0].chunk.standard:
            return None
        lookup = self.kb.catalogue.lookup(hits[0].chunk.standard)
        record = lookup.current or lookup.edition
        if record is None or len(record.title) < 4:
            return None
        compact = normalise_for_matching(question).replace(" ", "")
        return record.number if record.title.replace(" ", "").lower() in compact else None

    def _conclude(self, turn: Turn) -> Turn:
        """Never the same reply twice in a row (a repeat becomes a short pointer to the reply above and the
        offer of a person); then remember the conversation's topic, numbers, reply and offered questions."""
        assert turn.answer is not None
        answer = turn.answer
        if answer.mode == "faq_suggest" and _same_text(answer.text, turn.state.last_reply):
            # the same questions offered again: point to them, still on offer
            answer = replace(answer, text=prompts.load("answer_repeat_suggestions"))
            turn = replace(turn, answer=answer)
        elif answer.mode not in UNREPEATED_MODES and _same_text(answer.text, turn.state.last_reply):
            answer = replace(
                answer,
                text=prompts.load("answer_repeat"),
                citations=(),
                mode="refusal",
                escalate=False,
                suggestions=(),
                reasons=(*answer.reasons, "repeat"),
            )
            turn = replace(turn, answer=answer)
        if turn.conversation is None:
            return turn
        state = turn.state
        if turn.intent.answerable and turn.question and answer.mode != "refusal":
            state = replace(state, topic=turn.question)
        named = [match.number.canonical for match in find_standard_numbers(turn.question)]
        answered = [c.standard for c in answer.citations if c.kind == "catalog" and c.standard]
        numbers = tuple(dict.fromkeys([*named, *answered]))
        state = replace(state.with_numbers(numbers), last_reply=answer.text, suggestions=answer.suggestions)
        self.memory.save(turn.conversation, state)
        return turn

    # --- answering from the knowledge base ----------------------------------------------------

    def _draft_from_knowledge(self, question: str) -> Draft:
        """FAQ direct answer; else, when FAQ questions come close and no passage answers well, the
        nearest FAQ questions to pick from; else an LLM answer (when configured) or an extractive one."""
        settings = self.settings
        faq = self._faq_decision(question)
        if faq.match is not None:
            return faq_draft(faq.match)
        k = max(
            settings.retrieval.top_k, settings.llm.context_passages, settings.answer.extractive_passages * 2
        )
        hits = self.kb.retriever.search(question, k)
        confidence = retrieval_confidence(
            question, hits, similarity_range=self.kb.embeddings.similarity_range
        )
        passage_answers = bool(hits) and hits[0].chunk.kind != "faq"
        offer = not (passage_answers and confidence >= settings.answer.passage_over_suggestions)
        # With an LLM the close FAQ answers are among the passages it answers from.
        if faq.nearest and offer and self.chat_model is None:
            return suggestion_draft(faq)
        relevant = bool(hits) and confidence >= settings.answer.escalate_below
        if self.chat_model is not None and hits:
            draft = self._llm_draft(question, hits[: settings.llm.context_passages], confidence)
        else:
            draft = self._extractive_draft(question, hits, confidence)
        return replace(draft, relevant=relevant)

    def _faq_decision(self, question: str) -> FaqDecision:
        """The FAQ that answers `question` directly, else the nearest FAQ questions to offer."""
        answer = self.settings.answer
        hits = self.kb.retriever.search(question, FAQ_COMPARED, kinds={"faq"})
        return self.faq_matcher.decide(question, hits, answer.faq_threshold, answer.faq_suggest_threshold)

    def _extractive_draft(
        self, question: str, hits: Sequence[Hit], confidence: float, *reasons: str
    ) -> Draft:
        answer = self.settings.answer
        extractive = build_extractive_answer(question, hits, answer.extractive_passages, answer.passage_chars)
        if not extractive.passages:
            return Draft(
                text=extractive.text,
                mode="extractive",
                confidence=0.0,
                citations=(),
                reasons=(*reasons, "no_passages"),
                relevant=False,
            )
        return Draft(
            text=extractive.text,
            mode="extractive",
            confidence=confidence,
            citations=extractive.citations,
            reasons=reasons,
        )

    def _llm_draft(self, question: str, hits: Sequence[Hit], confidence: float) -> Draft:
        assert self.chat_model is not None
        try:
            reply = interpret_reply(generate(self.chat_model, question, hits), hits, question)
        except LLMError as exc:
            log.warning("LLM unavailable, answering extractively: %s", exc)
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "empty_reply"
            return self._extractive_draft(question, hits, confidence, f"llm_failed:{cause}")
        dropped = (f"llm_invalid_markers:{','.join(map(str, reply.invalid))}",) if reply.invalid else ()
        # Passages that carry instructions to the model are not quoted in a fallback answer either.
        safe = [hit for n, hit in enumerate(hits, start=1) if n not in reply.planted] or list(hits)
        if reply.injected:
            log.warning("LLM reply follows or rests on instructions planted in passages %s", reply.planted)
            return self._extractive_draft(question, safe, confidence, *dropped, "llm_injection")
        if reply.unknown:
            draft = self._extractive_draft(question, safe, confidence, *dropped, "llm_unknown")
            return replace(draft, escalate=True)
        if not reply.citations:
            return self._extractive_draft(question, safe, confidence, *dropped, "llm_uncited")
        disclaimer = prompts.load("answer_disclaimer")
        text = prompts.render("answer_llm", answer=reply.text, sources=reply.sources, disclaimer=disclaimer)
        return Draft(text=text, mode="llm", confidence=confidence, citations=reply.citations, reasons=dropped)

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
        if low and mode == "extractive" and citations:
            text = f"{prompts.load('answer_low_confidence')}\n\n{text}"
        if turn.intent.kind == "staff_topic":
            if draft.relevant and not low:
                text = f"{prompts.load('escalate_staff_topic')}\n\n{text}"
            else:
                text, mode, citations = prompts.load("escalate_staff_topic_only"), "refusal", ()
        answer = Answer(
            text=text,
            citations=citations,
            confidence=round(draft.confidence, 4),
            mode=mode,
            escalate=escalate,
            question=turn.question,
            reasons=reasons,
            suggestions=draft.suggestions,
        )
        return replace(turn, answer=answer, reasons=reasons)

    def _numbers(self, question: str) -> list[NumberMatch]:
        unique: dict[str, NumberMatch] = {}
        for match in find_standard_numbers(question):
            unique.setdefault(match.number.canonical, match)
        return list(unique.values())


def _only_markup(text: str) -> bool:
    """Web page code with no Chinese words in it (a pasted tag, a probe): there is no question to answer."""
    return bool(_TAG.search(text)) and not _CJK.search(_TAG.sub(" ", text))


def _same_text(a: str, b: str) -> bool:
    """Whether two replies say the same thing, ignoring white space and punctuation."""
    return bool(a) and _FILLER.sub("", a) == _FILLER.sub("", b)


def _refused(turn: Turn, prompt: str, reason: str) -> Turn:
    """The turn answered with a request to ask again (an empty question, only markup)."""
    answer = Answer(
        text=prompts.load(prompt),
        citations=(),
        confidence=0.0,
        mode="refusal",
        escalate=False,
        question="",
        reasons=(reason,),
    )
    return replace(turn, question="", answer=answer, reasons=(reason,))

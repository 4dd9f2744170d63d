"""When a conversation goes to staff, and what the user is told: pure rules over the message, the answer
and the conversation, with staff hours in the hotline's time zone. Texts: prompts/handoff_*.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import prompts
from bot.messages import IncomingMessage
from config.settings import HandoffSettings
from knowledge.intent import first_keyword, load_keyword_sections, normalise_for_matching
from knowledge.service_answers import describe_weekdays
from knowledge.types import Answer

REASONS = (
    "user_request",
    "button",
    "escalate_flag",
    "low_confidence",
    "thumbs_down",
    "staff_topic",
    "error",
    "recovered",
)
# Replies that neither answer nor fail (a refusal, the nearest FAQ questions offered): the low-confidence
# streak stays as it was.
NEUTRAL_MODES = ("refusal", "faq_suggest")
_ANNOUNCING_INTENTS = ("intent:human:", "intent:staff_topic:", "intent:out_of_scope:")
_FEEDBACK = re.compile(r"^\s*([+-]?1)\s*:\s*(\d+)\s*$")
_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


class ConversationState(Protocol):
    """What the rules read of a conversation (a ConversationRecord has it)."""

    @property
    def state(self) -> str: ...

    @property
    def low_confidence_streak(self) -> int: ...


@dataclass(frozen=True)
class HandoffDecision:
    """Whether this turn hands the conversation to staff, why, what the user is told, and the new
    count of low-confidence answers in a row."""

    escalate: bool
    reason: str | None
    notice: str | None
    new_streak: int


@dataclass(frozen=True)
class Feedback:
    """A 👍 (+1) or 👎 (-1) on one of the bot's messages (its store id)."""

    value: int
    message_id: int


def parse_feedback(payload: str | None) -> Feedback | None:
    """`"-1:<message_id>"` or `"1:<message_id>"` → Feedback; anything else → None."""
    match = _FEEDBACK.match(payload or "")
    return Feedback(value=int(match[1]), message_id=int(match[2])) if match else None


@dataclass(frozen=True)
class StaffHours:
    """When staff answer: a daily window on working days, in one time zone."""

    zone: ZoneInfo
    start: time
    end: time | None  # None: until midnight
    weekdays: frozenset[int]
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def from_settings(cls, settings: HandoffSettings) -> StaffHours:
        match = _HOURS.fullmatch(settings.hours)
        assert match is not None, "validated by HandoffSettings"
        start = time(int(match[1]), int(match[2]))
        end = None if (int(match[3]), int(match[4])) == (24, 0) else time(int(match[3]), int(match[4]))
        return cls(
            ZoneInfo(settings.timezone),
            start,
            end,
            frozenset(settings.weekdays),
            frozenset(settings.holidays),
            frozenset(settings.workdays),
        )

    def working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.isoweekday() in self.weekdays

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        within = clock >= self.start and (self.end is None or clock < self.end)
        return within and self.working_day(local.date())

    def next_open(self, now: datetime) -> datetime | None:
        """`now` if staff are in, else when they next start (local time); None if never within a year."""
        if self.is_open(now):
            return now.astimezone(self.zone)
        local = now.astimezone(self.zone)
        for offset in range(367):
            day = local.date() + timedelta(days=offset)
            opens = datetime.combine(day, self.start, tzinfo=self.zone)
            if self.working_day(day) and opens > local:
                return opens
        return None

    def describe(self) -> str:
        """E.g. 周一至周五 09:00-17:30."""
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{describe_weekdays(self.weekdays)} {self.start.strftime('%H:%M')}-{end}"

    def describe_when(self, moment: datetime) -> str:
        """E.g. 6月2日（周二）09:00."""
        days = load_keyword_sections("handoff_weekdays").get("names", ())
        return prompts.render(
            "handoff_when",
            month=moment.month,
            day=moment.day,
            weekday=days[moment.isoweekday() - 1],
            time=moment.strftime("%H:%M"),
        )


class HandoffPolicy:
    """Decides, for one message and the bot's answer to it, whether staff should take over."""

    def __init__(self, settings: HandoffSettings) -> None:
        self.settings = settings
        self.hours = StaffHours.from_settings(settings)
        self.keywords = tuple(normalise_for_matching(k) for k in settings.keywords if k.strip())
        self.topics = tuple(normalise_for_matching(t) for t in settings.topics if t.strip())

    def decide(
        self,
        message: IncomingMessage,
        answer: Answer | None,
        conversation: ConversationState,
        now: datetime,
    ) -> HandoffDecision:
        """`answer` is None when the bot did not answer: a button, feedback, an event, or a failure
        while answering (a text message without an answer means answering failed)."""
        reason, streak = self._reason(message, answer, conversation.low_confidence_streak)
        if reason is None:
            return HandoffDecision(escalate=False, reason=None, notice=None, new_streak=streak)
        return HandoffDecision(
            escalate=True, reason=reason, notice=self.notice(reason, answer, now), new_streak=0
        )

    def notice(self, reason: str, answer: Answer | None, now: datetime) -> str | None:
        """What the user is told about the handoff; None when the answer already said it, in hours."""
        apology = prompts.load("handoff_error") if reason == "error" else None
        if not self.hours.is_open(now):
            text = self.after_hours_notice(now)
        elif answer is not None and answer.escalate and _announces_handoff(answer):
            text = None
        else:
            text = prompts.load("handoff_queued")
        return "\n\n".join(part for part in (apology, text) if part) or None

    def waiting_notice(self, now: datetime) -> str:
        """The notice for a message queued while the conversation waits for staff."""
        return prompts.load("handoff_waiting") if self.hours.is_open(now) else self.after_hours_notice(now)

    def after_hours_notice(self, now: datetime) -> str:
        opens = self.hours.next_open(now)
        when = self.hours.describe_when(opens) if opens is not None else "—"
        return prompts.render("handoff_after_hours", hours=self.hours.describe(), when=when)

    def bot_answers_while_waiting(self, now: datetime) -> bool:
        """Whether the bot still answers a conversation waiting (unclaimed) for staff: off hours only."""
        return self.settings.answer_off_hours and not self.hours.is_open(now)

    def _reason(self, message: IncomingMessage, answer: Answer | None, streak: int) -> tuple[str | None, int]:
        if message.kind == "handoff_request":
            return "button", streak
        if message.kind == "feedback":
            feedback = parse_feedback(message.payload)
            down = feedback is not None and feedback.value < 0 and self.settings.thumbs_down
            return ("thumbs_down" if down else None), streak
        if message.kind != "text":
            return None, streak
        if answer is None:
            return "error", streak
        text = normalise_for_matching(message.text)
        reasons = answer.reasons
        if _has(reasons, "intent:human:") or first_keyword(text, self.keywords):
            return "user_request", streak
        if _has(reasons, "intent:staff_topic:") or first_keyword(text, self.topics):
            return "staff_topic", streak
        low = "low_confidence" in reasons
        only_low = low and not (_has(reasons, "intent:") or "llm_unknown" in reasons)
        if answer.escalate and not only_low:
            return "escalate_flag", streak
        if low:
            streak += 1
            return ("low_confidence" if streak >= self.settings.low_confidence_turns else None), streak
        return None, (streak if answer.mode in NEUTRAL_MODES else 0)


def _has(reasons: tuple[str, ...], prefix: str) -> bool:
    return any(r.startswith(prefix) for r in reasons)


def _announces_handoff(answer: Answer) -> bool:
    """Whether the answer's own text already tells the user staff will follow up (intent refusals)."""
    return any(r.startswith(_ANNOUNCING_INTENTS) for r in answer.reasons)


def reason_label(reason: str) -> str:
    """How staff notifications name a reason (prompts/handoff_reasons.md)."""
    for item in load_keyword_sections("handoff_reasons").get("reasons", ()):
        key, _, label = item.partition(":")
        if key.strip() == reason:
            return label.strip()
    return reason

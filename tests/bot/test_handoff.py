"""Handoff rules as pure decisions over a message, the bot's answer and the conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

import prompts
from bot.messages import IncomingKind, IncomingMessage
from bot.service.handoff import REASONS, HandoffPolicy, StaffHours, parse_feedback, reason_label
from config.settings import HandoffSettings
from knowledge.types import Answer

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)  # 2026-06-01 is a Monday
SATURDAY_10 = datetime(2026, 6, 6, 10, 0, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Conversation:
    state: str = "bot"
    low_confidence_streak: int = 0


def message(
    text: str = "企业标准要公开吗", kind: IncomingKind = "text", payload: str | None = None
) -> IncomingMessage:
    return IncomingMessage("webchat", "c1", "u1", "m1", text, kind=kind, payload=payload)


def answer(
    *reasons: str, confidence: float = 0.8, escalate: bool = False, mode: str = "extractive", text: str = "答"
) -> Answer:
    return Answer(text, (), confidence, mode, escalate, "q", reasons)


def low_answer() -> Answer:
    """What the Answerer returns for a weak retrieval: escalate set, reason low_confidence."""
    return answer("low_confidence", confidence=0.05, escalate=True)


@pytest.fixture
def policy() -> HandoffPolicy:
    return HandoffPolicy(HandoffSettings())


def test_a_confident_answer_stays_with_the_bot(policy: HandoffPolicy) -> None:
    decision = policy.decide(message(), answer(), Conversation(), MONDAY_10)
    assert (decision.escalate, decision.reason, decision.notice, decision.new_streak) == (
        False,
        None,
        None,
        0,
    )


def test_the_button_hands_over_and_tells_the_user(policy: HandoffPolicy) -> None:
    decision = policy.decide(message("", kind="handoff_request"), None, Conversation(), MONDAY_10)
    assert decision.escalate and decision.reason == "button"
    assert decision.notice == prompts.load("handoff_queued")


def test_asking_for_a_person_uses_the_answers_own_announcement_in_hours(policy: HandoffPolicy) -> None:
    human = answer("intent:human:转人工", confidence=0.0, escalate=True, mode="refusal")
    decision = policy.decide(message("转人工"), human, Conversation(), MONDAY_10)
    assert decision.reason == "user_request"
    assert decision.notice is None  # the refusal text already says a person will reply


def test_configured_keywords_ask_for_a_person() -> None:
    policy = HandoffPolicy(HandoffSettings(keywords=["找专家"]))
    decision = policy.decide(message("帮我找专家看看"), answer(), Conversation(), MONDAY_10)
    assert decision.reason == "user_request"
    assert decision.notice == prompts.load("handoff_queued")
    assert (
        not HandoffPolicy(HandoffSettings())
        .decide(message("帮我找专家看看"), answer(), Conversation(), MONDAY_10)
        .escalate
    )


def test_configured_topics_go_to_staff_even_when_the_answer_is_good() -> None:
    policy = HandoffPolicy(HandoffSettings(topics=["年费"]))
    decision = policy.decide(
        message("团体标准平台的年费是多少"), answer(confidence=0.9), Conversation(), MONDAY_10
    )
    assert decision.reason == "staff_topic"
    assert decision.notice == prompts.load("handoff_queued")


def test_a_staff_topic_found_by_the_answerer_goes_to_staff(policy: HandoffPolicy) -> None:
    topic = answer("intent:staff_topic:投诉", escalate=True)
    decision = policy.decide(message("我要投诉"), topic, Conversation(), MONDAY_10)
    assert decision.reason == "staff_topic" and decision.notice is None


def test_the_answers_escalate_flag_hands_over(policy: HandoffPolicy) -> None:
    unknown = answer("llm_unknown", escalate=True)
    decision = policy.decide(message(), unknown, Conversation(), MONDAY_10)
    assert decision.reason == "escalate_flag"
    assert decision.notice == prompts.load("handoff_queued")


def test_low_confidence_hands_over_only_the_second_time_in_a_row(policy: HandoffPolicy) -> None:
    first = policy.decide(message(), low_answer(), Conversation(), MONDAY_10)
    assert not first.escalate and first.new_streak == 1
    second = policy.decide(message(), low_answer(), Conversation(low_confidence_streak=1), MONDAY_10)
    assert second.escalate and second.reason == "low_confidence" and second.new_streak == 0


def test_a_good_answer_resets_the_streak_and_a_greeting_keeps_it(policy: HandoffPolicy) -> None:
    assert (
        policy.decide(message(), answer(), Conversation(low_confidence_streak=1), MONDAY_10).new_streak == 0
    )
    greeting = answer("intent:greeting:你好", confidence=0.0, mode="refusal")
    kept = policy.decide(message("你好"), greeting, Conversation(low_confidence_streak=1), MONDAY_10)
    assert not kept.escalate and kept.new_streak == 1


def test_low_confidence_turns_is_configurable() -> None:
    policy = HandoffPolicy(HandoffSettings(low_confidence_turns=1))
    assert policy.decide(message(), low_answer(), Conversation(), MONDAY_10).reason == "low_confidence"
    patient = HandoffPolicy(HandoffSettings(low_confidence_turns=3))
    assert not patient.decide(
        message(), low_answer(), Conversation(low_confidence_streak=1), MONDAY_10
    ).escalate


def test_thumbs_down_hands_over_and_thumbs_up_does_not(policy: HandoffPolicy) -> None:
    down = policy.decide(message("", "feedback", "-1:42"), None, Conversation(), MONDAY_10)
    assert down.escalate and down.reason == "thumbs_down"
    up = policy.decide(message("", "feedback", "1:42"), None, Conversation(), MONDAY_10)
    assert not up.escalate
    garbage = policy.decide(message("", "feedback", "-1:abc"), None, Conversation(), MONDAY_10)
    assert not garbage.escalate
    off = HandoffPolicy(HandoffSettings(thumbs_down=False))
    assert not off.decide(message("", "feedback", "-1:42"), None, Conversation(), MONDAY_10).escalate


def test_a_failed_answer_apologises_and_hands_over(policy: HandoffPolicy) -> None:
    decision = policy.decide(message(), None, Conversation(), MONDAY_10)
    assert decision.reason == "error"
    assert decision.notice is not None
    assert decision.notice.startswith(prompts.load("handoff_error"))
    assert prompts.load("handoff_queued") in decision.notice


def test_events_never_hand_over(policy: HandoffPolicy) -> None:
    assert not policy.decide(message("", kind="event"), None, Conversation(), MONDAY_10).escalate


def test_outside_staff_hours_the_user_learns_when_a_person_follows_up(policy: HandoffPolicy) -> None:
    human = answer("intent:human:转人工", confidence=0.0, escalate=True, mode="refusal")
    decision = policy.decide(message("转人工"), human, Conversation(), SATURDAY_10)
    assert decision.notice is not None
    assert "周一至周五 09:00-17:30" in decision.notice
    assert "6月8日（周一）09:00" in decision.notice
    assert policy.bot_answers_while_waiting(SATURDAY_10)
    assert not policy.bot_answers_while_waiting(MONDAY_10)
    assert policy.waiting_notice(MONDAY_10) == prompts.load("handoff_waiting")
    assert "6月8日" in policy.waiting_notice(SATURDAY_10)


def test_answering_off_hours_can_be_turned_off() -> None:
    policy = HandoffPolicy(HandoffSettings(answer_off_hours=False))
    assert not policy.bot_answers_while_waiting(SATURDAY_10)


def hours(**values: object) -> StaffHours:
    return StaffHours.from_settings(HandoffSettings.model_validate(values))


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_staff_hours_edges_weekends_and_time_zones() -> None:
    staff = hours()
    assert staff.is_open(at(1, 9, 0)) and staff.is_open(at(1, 17, 29))
    assert not staff.is_open(at(1, 8, 59)) and not staff.is_open(at(1, 17, 30))
    assert not staff.is_open(at(6, 10))  # Saturday
    assert staff.is_open(datetime(2026, 6, 1, 1, 30, tzinfo=UTC))  # 09:30 in Shanghai
    assert not staff.is_open(datetime(2026, 6, 1, 10, 0, tzinfo=UTC))  # 18:00 in Shanghai


def test_next_opening() -> None:
    staff = hours()
    assert staff.next_open(at(5, 18)) == at(8, 9)  # Friday evening → Monday morning
    assert staff.next_open(at(2, 7)) == at(2, 9)  # early Tuesday → the same morning
    assert staff.next_open(at(2, 10)) == at(2, 10)  # open now
    assert hours(weekdays=[]).next_open(at(2, 10)) is None


def test_holidays_and_makeup_workdays() -> None:
    staff = hours(holidays=[date(2026, 10, 1), date(2026, 10, 2)], workdays=[date(2026, 9, 27)])
    assert not staff.is_open(at(1, 10, month=10))  # a Thursday, but a holiday
    assert staff.is_open(at(27, 10, month=9))  # a Sunday, but a working day
    assert staff.next_open(at(30, 18, month=9)) == at(5, 9, month=10)  # skips the holidays and weekend


def test_round_the_clock_hours() -> None:
    staff = hours(hours="00:00-24:00", weekdays=[1, 2, 3, 4, 5, 6, 7])
    assert staff.is_open(at(6, 23, 59)) and staff.is_open(at(7, 0, 0))
    assert staff.describe() == "周一至周日 00:00-24:00"


def test_described_hours() -> None:
    assert hours().describe() == "周一至周五 09:00-17:30"
    assert hours(weekdays=[1, 3], hours="8:30-12:00").describe() == "周一、周三 08:30-12:00"
    assert hours(weekdays=[6, 7]).describe() == "周六、周日 09:00-17:30"


@pytest.mark.parametrize(
    "values",
    [{"timezone": "Mars/Olympus"}, {"hours": "17:30-09:00"}, {"hours": "9 to 5"}, {"weekdays": [0, 8]}],
)
def test_bad_handoff_settings_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        HandoffSettings.model_validate(values)


def test_feedback_payloads() -> None:
    assert parse_feedback("-1:17") == parse_feedback(" -1 : 17 ")
    feedback = parse_feedback("-1:17")
    assert feedback is not None and (feedback.value, feedback.message_id) == (-1, 17)
    assert parse_feedback("+1:3") is not None
    assert parse_feedback("2:3") is None and parse_feedback(None) is None and parse_feedback("") is None


def test_every_reason_has_a_label_for_staff() -> None:
    for reason in REASONS:
        label = reason_label(reason)
        assert label != reason and "/" in label
    assert reason_label("unknown") == "unknown"

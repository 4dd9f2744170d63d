"""Staff notifications against a real local HTTP server playing the WeCom robot and the Telegram Bot API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.recording_server import RecordingServer

from bot.notify import MAX_ATTEMPTS, HandoffAlert, StaffNotifier
from config.settings import NotifySettings, Settings

WECOM_OK = {"errcode": 0, "errmsg": "ok"}
CONSOLE = "https://hotline.example.org"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wecom() -> Iterator[RecordingServer]:
    with RecordingServer(WECOM_OK) as server:
        yield server


def wecom_notifier(
    server: RecordingServer, clock: Clock | None = None, per_minute: int = 20
) -> StaffNotifier:
    settings = NotifySettings.model_validate(
        {
            "wecom_webhook_url": f"{server.base_url}/cgi-bin/webhook/send?key=k1",
            "console_base_url": CONSOLE,
            "per_minute": per_minute,
            "timeout_s": 2,
        }
    )
    return StaffNotifier(settings, clock=clock or Clock())


def alert(
    conversation_id: int = 42, question: str = "我们公司被投诉了，怎么处理？", **more: object
) -> HandoffAlert:
    values: dict[str, object] = {
        "conversation_id": conversation_id,
        "reason": "staff_topic",
        "question": question,
        "attempt": "根据《中华人民共和国标准化法》第二十七条……" + "甲" * 300 + "乙",
        "channel": "webchat",
        "user": "张三",
        "created_at": datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
    }
    values.update(more)
    return HandoffAlert(**values)  # type: ignore[arg-type]


def contents(server: RecordingServer) -> list[str]:
    return [r.body["markdown"]["content"] for r in server.requests]


def test_a_wecom_alert_carries_question_attempt_reason_and_link(wecom: RecordingServer) -> None:
    notifier = wecom_notifier(wecom)
    notifier.notify(alert())
    assert notifier.flush() == 1
    [request] = wecom.requests
    assert request.path == "/cgi-bin/webhook/send?key=k1"
    assert request.body["msgtype"] == "markdown"
    content = request.body["markdown"]["content"]
    assert "我们公司被投诉了，怎么处理？" in content
    assert "第二十七条" in content and "乙" not in content  # the attempt is cut to its first 200 characters
    assert "需工作人员处理的事项" in content  # the reason, named for people
    assert f"{CONSOLE}/console/conversations/42" in content
    assert "2026-06-01 10:00" in content  # in the hotline's time zone
    assert notifier.pending() == 0


def test_telegram_gets_plain_text_through_send_message() -> None:
    with RecordingServer({"ok": True, "result": {"message_id": 1}}) as telegram:
        settings = NotifySettings.model_validate(
            {
                "telegram_token": "123:abc",
                "telegram_chat_id": "-100200",
                "telegram_api_base_url": telegram.base_url,
                "console_base_url": CONSOLE,
            }
        )
        notifier = StaffNotifier(settings)
        notifier.notify(alert(7, attempt=None))
        assert notifier.flush() == 1
        [request] = telegram.requests
        assert request.path == "/bot123:abc/sendMessage"
        assert request.body["chat_id"] == "-100200"
        assert f"{CONSOLE}/console/conversations/7" in request.body["text"]
        assert "**" not in request.body["text"]
        assert "未作回答" in request.body["text"]


def test_both_targets_get_every_alert(wecom: RecordingServer) -> None:
    with RecordingServer({"ok": True, "result": {}}) as telegram:
        settings = Settings.model_validate(
            {
                "notify": {
                    "wecom_webhook_url": f"{wecom.base_url}/hook",
                    "telegram_token": "1:x",
                    "telegram_chat_id": "5",
                    "telegram_api_base_url": telegram.base_url,
                }
            }
        )
        notifier = StaffNotifier.from_settings(settings)
        assert notifier is not None
        notifier.notify(alert(1))
        assert notifier.flush() == 2
        assert len(wecom.requests) == 1 and len(telegram.requests) == 1


def test_no_targets_no_notifier() -> None:
    assert StaffNotifier.from_settings(Settings()) is None


def test_when_the_budget_is_short_alerts_are_batched(wecom: RecordingServer) -> None:
    notifier = wecom_notifier(wecom, per_minute=3)
    for n in range(1, 11):
        notifier.notify(alert(n))
    sent = notifier.flush()
    assert 1 <= sent <= 3
    joined = "\n".join(contents(wecom))
    assert all(f"/console/conversations/{n})" in joined for n in range(1, 11))
    assert all(len(c.encode("utf-8")) <= 4096 for c in contents(wecom))
    assert notifier.pending() == 0


def test_within_budget_each_alert_is_its_own_message(wecom: RecordingServer) -> None:
    notifier = wecom_notifier(wecom)
    for n in range(1, 4):
        notifier.notify(alert(n))
    assert notifier.flush() == 3
    assert [c.count("/console/conversations/") for c in contents(wecom)] == [1, 1, 1]


def test_a_spent_budget_waits_for_the_next_minute(wecom: RecordingServer) -> None:
    clock = Clock()
    notifier = wecom_notifier(wecom, clock, per_minute=2)
    for n in (1, 2):
        notifier.notify(alert(n))
        assert notifier.flush() == 1
        clock.now += 1
    notifier.notify(alert(3))
    assert notifier.flush() == 0
    assert notifier.pending() == 1 and len(wecom.requests) == 2
    clock.now += 60
    assert notifier.flush() == 1
    assert "/console/conversations/3)" in contents(wecom)[-1]


def test_batches_never_exceed_4096_bytes(wecom: RecordingServer) -> None:
    notifier = wecom_notifier(wecom, per_minute=2)
    for n in range(1, 9):
        notifier.notify(alert(n, question="标准" * 400))  # ~2.4 KB each once rendered
    notifier.notify(alert(99, question="很长的问题" * 2000))
    sent = notifier.flush()
    assert sent == 2
    assert all(len(c.encode("utf-8")) <= 4096 for c in contents(wecom))
    assert notifier.pending() > 0  # the rest waits for the next minute


def test_markdown_in_user_text_cannot_forge_links(wecom: RecordingServer) -> None:
    notifier = wecom_notifier(wecom)
    notifier.notify(alert(question="[点这里](http://evil.example) <font>"))
    notifier.flush()
    [content] = contents(wecom)
    assert "](http://evil.example)" not in content
    assert "点这里" in content and "<font>" not in content


def test_failures_are_logged_retried_and_then_dropped(
    wecom: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = wecom_notifier(wecom)
    wecom.script((500, {"error": "down"}), (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    notifier.notify(alert(5))
    with caplog.at_level(logging.WARNING, logger="bot.notify"):
        assert notifier.flush() == 0
        assert notifier.flush() == 0
    assert "HTTP 500" in caplog.text and "45009" in caplog.text
    assert notifier.pending() == 1
    assert notifier.flush() == 1  # the third try goes through
    assert len(wecom.requests) == 3

    wecom.script(*[(500, {})] * MAX_ATTEMPTS)
    notifier.notify(alert(6))
    for _ in range(MAX_ATTEMPTS):
        notifier.flush()
    assert notifier.pending() == 0
    assert "gave up" in caplog.text


def test_an_unreachable_target_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    with RecordingServer(WECOM_OK) as gone:
        url = gone.base_url
    settings = NotifySettings.model_validate({"wecom_webhook_url": f"{url}/hook", "timeout_s": 1})
    notifier = StaffNotifier(settings)
    notifier.notify(alert())
    with caplog.at_level(logging.WARNING, logger="bot.notify"):
        assert notifier.flush() == 0
    assert "failed" in caplog.text


def test_the_background_thread_sends(wecom: RecordingServer) -> None:
    notifier = wecom_notifier(wecom)
    notifier.start()
    try:
        notifier.notify(alert(11))
        assert len(wecom.wait_for(1)) == 1
    finally:
        notifier.stop()
    assert "/console/conversations/11)" in contents(wecom)[0]


def test_stop_sends_what_is_queued(wecom: RecordingServer) -> None:
    notifier = wecom_notifier(wecom)
    notifier.poll_interval_s = 30
    notifier.start()
    notifier.notify(alert(12))
    notifier.stop()
    assert len(wecom.wait_for(1)) == 1

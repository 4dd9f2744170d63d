"""Staff notifications against a real local HTTP server playing the WeCom robot and the Telegram Bot API,
with the alert queue and each target's budget in a real store (SQLite and PostgreSQL) shared by workers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.races import together
from support.recording_server import RecordingServer

from bot.service.notify import MAX_ATTEMPTS, HandoffAlert, StaffNotifier
from bot.store import Store
from config.settings import NotifySettings, Settings

WECOM_OK = {"errcode": 0, "errmsg": "ok"}
CONSOLE = "https://hotline.example.org"


class Clock:
    """The time every notifier of a test reads; tests move it on."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def wecom() -> Iterator[RecordingServer]:
    with RecordingServer(WECOM_OK) as server:
        yield server


def wecom_notifier(
    server: RecordingServer,
    store: Store,
    clock: Clock | None = None,
    per_minute: int = 20,
    poll_interval_s: float = 1.0,
) -> StaffNotifier:
    settings = NotifySettings.model_validate(
        {
            "wecom_webhook_url": f"{server.base_url}/cgi-bin/webhook/send?key=k1",
            "console_base_url": CONSOLE,
            "per_minute": per_minute,
            "timeout_s": 2,
        }
    )
    return StaffNotifier(settings, store, clock=clock or Clock(), poll_interval_s=poll_interval_s)


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


def test_a_wecom_alert_carries_question_attempt_reason_and_link(wecom: RecordingServer, store: Store) -> None:
    notifier = wecom_notifier(wecom, store)
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


def test_telegram_gets_plain_text_through_send_message(store: Store) -> None:
    with RecordingServer({"ok": True, "result": {"message_id": 1}}) as telegram:
        settings = NotifySettings.model_validate(
            {
                "telegram_token": "123:abc",
                "telegram_chat_id": "-100200",
                "telegram_api_base_url": telegram.base_url,
                "console_base_url": CONSOLE,
            }
        )
        notifier = StaffNotifier(settings, store)
        notifier.notify(alert(7, attempt=None))
        assert notifier.flush() == 1
        [request] = telegram.requests
        assert request.path == "/bot123:abc/sendMessage"
        assert request.body["chat_id"] == "-100200"
        assert f"{CONSOLE}/console/conversations/7" in request.body["text"]
        assert "**" not in request.body["text"]
        assert "未作回答" in request.body["text"]


def test_both_targets_get_every_alert(wecom: RecordingServer, store: Store) -> None:
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
        notifier = StaffNotifier.from_settings(settings, store)
        assert notifier is not None
        notifier.notify(alert(1))
        assert notifier.flush() == 2
        assert len(wecom.requests) == 1 and len(telegram.requests) == 1


def test_no_targets_no_notifier(store: Store) -> None:
    assert StaffNotifier.from_settings(Settings(), store) is None


def test_when_the_budget_is_short_alerts_are_batched(wecom: RecordingServer, store: Store) -> None:
    notifier = wecom_notifier(wecom, store, per_minute=3)
    for n in range(1, 11):
        notifier.notify(alert(n))
    sent = notifier.flush()
    assert 1 <= sent <= 3
    joined = "\n".join(contents(wecom))
    assert all(f"/console/conversations/{n})" in joined for n in range(1, 11))
    assert all(len(c.encode("utf-8")) <= 4096 for c in contents(wecom))
    assert notifier.pending() == 0


def test_within_budget_each_alert_is_its_own_message(wecom: RecordingServer, store: Store) -> None:
    notifier = wecom_notifier(wecom, store)
    for n in range(1, 4):
        notifier.notify(alert(n))
    assert notifier.flush() == 3
    assert [c.count("/console/conversations/") for c in contents(wecom)] == [1, 1, 1]


def test_a_spent_budget_waits_for_the_next_minute(wecom: RecordingServer, store: Store) -> None:
    clock = Clock()
    notifier = wecom_notifier(wecom, store, clock, per_minute=2)
    for n in (1, 2):
        notifier.notify(alert(n))
        assert notifier.flush() == 1
        clock.advance(1)
    notifier.notify(alert(3))
    assert notifier.flush() == 0
    assert notifier.pending() == 1 and len(wecom.requests) == 2
    clock.advance(60)
    assert notifier.flush() == 1
    assert "/console/conversations/3)" in contents(wecom)[-1]


def test_batches_never_exceed_4096_bytes(wecom: RecordingServer, store: Store) -> None:
    notifier = wecom_notifier(wecom, store, per_minute=2)
    for n in range(1, 9):
        notifier.notify(alert(n, question="标准" * 400))  # ~2.4 KB each once rendered
    notifier.notify(alert(99, question="很长的问题" * 2000))
    sent = notifier.flush()
    assert sent == 2
    assert all(len(c.encode("utf-8")) <= 4096 for c in contents(wecom))
    assert notifier.pending() > 0  # the rest waits for the next minute


def test_markdown_in_user_text_cannot_forge_links(wecom: RecordingServer, store: Store) -> None:
    notifier = wecom_notifier(wecom, store)
    notifier.notify(alert(question="[点这里](http://evil.example) <font>"))
    notifier.flush()
    [content] = contents(wecom)
    assert "](http://evil.example)" not in content
    assert "点这里" in content and "<font>" not in content


def test_failures_are_logged_retried_and_then_dropped(
    wecom: RecordingServer, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = wecom_notifier(wecom, store)
    wecom.script((500, {"error": "down"}), (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    notifier.notify(alert(5))
    with caplog.at_level(logging.WARNING, logger="bot.service.notify"):
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


def test_an_unreachable_target_never_raises(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    with RecordingServer(WECOM_OK) as gone:
        url = gone.base_url
    settings = NotifySettings.model_validate({"wecom_webhook_url": f"{url}/hook", "timeout_s": 1})
    notifier = StaffNotifier(settings, store)
    notifier.notify(alert())
    with caplog.at_level(logging.WARNING, logger="bot.service.notify"):
        assert notifier.flush() == 0
    assert "failed" in caplog.text


def test_the_background_thread_sends(wecom: RecordingServer, store: Store) -> None:
    notifier = wecom_notifier(wecom, store)
    notifier.start()
    try:
        notifier.notify(alert(11))
        assert len(wecom.wait_for(1)) == 1
    finally:
        notifier.stop()
    assert "/console/conversations/11)" in contents(wecom)[0]


def test_stop_sends_what_is_queued(wecom: RecordingServer, store: Store) -> None:
    notifier = wecom_notifier(wecom, store, poll_interval_s=30)
    notifier.start()
    notifier.notify(alert(12))
    notifier.stop()
    assert len(wecom.wait_for(1)) == 1


def test_two_workers_together_stay_within_the_robots_budget(
    wecom: RecordingServer, store: Store, store_url: str
) -> None:
    """Two notifiers on one database (two workers) get 50 alerts too big to share a message: at most 20
    messages reach the robot in any minute, and every alert arrives exactly once."""
    clock = Clock()
    stores = [Store(store_url) for _ in range(2)]
    workers = [wecom_notifier(wecom, worker_store, clock) for worker_store in stores]
    for n in range(1, 51):
        workers[n % 2].notify(alert(n, question="标准" * 400))
    posts_per_round = []
    try:
        for _ in range(19):  # three minutes, both workers flushing at once every 10 seconds
            before = len(wecom.requests)
            together(2, lambda i: workers[i].flush())
            posts_per_round.append(len(wecom.requests) - before)
            clock.advance(10)
        assert workers[0].pending() == workers[1].pending() == 0
    finally:
        for worker, worker_store in zip(workers, stores, strict=True):
            worker.stop()
            worker_store.close()
    within_a_minute = [sum(posts_per_round[i : i + 6]) for i in range(len(posts_per_round))]
    assert max(within_a_minute) == 20
    posted = "\n".join(contents(wecom))
    assert [posted.count(f"/console/conversations/{n})") for n in range(1, 51)] == [1] * 50
    assert len(wecom.requests) == 50


def test_alerts_a_worker_queued_are_sent_by_another(
    wecom: RecordingServer, store: Store, store_url: str
) -> None:
    clock = Clock()
    first = wecom_notifier(wecom, store, clock, per_minute=1)
    first.notify(alert(1, question="标准" * 400))
    first.notify(alert(2, question="标准" * 400))  # too big to share a message with the first
    assert first.flush() == 1  # the second alert waits in the store for the next minute
    other_store = Store(store_url)
    try:
        second = wecom_notifier(wecom, other_store, clock, per_minute=1)  # the first worker is gone
        assert second.pending() == 1
        assert second.flush() == 0  # the budget is shared: this minute's message went out
        clock.advance(60)
        assert second.flush() == 1
        assert second.pending() == 0
    finally:
        other_store.close()
    first_post, second_post = contents(wecom)
    assert "/console/conversations/1)" in first_post and "/console/conversations/2)" in second_post


def test_a_worker_leaves_a_target_to_the_lease_holder(wecom: RecordingServer, store: Store) -> None:
    clock = Clock()
    notifier = wecom_notifier(wecom, store, clock)
    assert store.staff_alerts.take_lease("wecom", "another-worker", clock(), 30)
    notifier.notify(alert(1))
    assert notifier.flush() == 0 and wecom.requests == [] and notifier.pending() == 1
    clock.advance(31)  # the holder's lease ran out without it sending (its worker died)
    assert notifier.flush() == 1 and notifier.pending() == 0

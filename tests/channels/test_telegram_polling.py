"""Polling mode: getUpdates with the offset kept in the store (a restart answers nothing twice), one
polling worker at a time through a lease in the store, and the whole app answering in polling mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.telegram_fixtures import offline_telegram, telegram_settings
from fastapi.testclient import TestClient
from support.telegram_platform import ALICE, TOKEN, BotApi, OfflineBotRequest, Updates
from support.waiting import eventually
from telegram import Update

from bot.channels.telegram.api import BotClient
from bot.channels.telegram.polling import LEASE_KEY, OFFSET_KEY, Poller, PollingLease
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.locks import ConversationLocks
from bot.store import Store
from bot.web.app import create_app
from config.settings import TelegramSettings

SETTINGS = TelegramSettings(token=TOKEN, mode="polling")


class Worker:
    """One worker process's poller, recording the updates it handled."""

    def __init__(self, api: BotApi, store: Store, store_url: str, name: str) -> None:
        self.client = BotClient(SETTINGS, request=OfflineBotRequest(api))
        self.locks = ConversationLocks(store_url)
        self.handled: list[int] = []
        lease = PollingLease(store, self.locks, 90.0, holder=name)
        self.poller = Poller(
            self.client, store, lease, lambda u: self.handled.append(u.update_id), poll_timeout_s=0
        )

    def close(self) -> None:
        self.poller.stop()
        self.poller.lease.release()
        self.client.close()
        self.locks.close()


@pytest.fixture
def workers(store: Store, store_url: str) -> Iterator[tuple[BotApi, list[Worker]]]:
    api = BotApi()
    made: list[Worker] = []
    yield api, made
    for worker in made:
        worker.close()


def test_offset_is_stored_and_a_restart_continues_after_it(
    store: Store, store_url: str, workers: tuple[BotApi, list[Worker]]
) -> None:
    api, made = workers
    updates = Updates()
    first, second = updates.private("问题一"), updates.private("问题二")
    api.push(first, second)
    worker = Worker(api, store, store_url, "worker-a")
    made.append(worker)
    assert worker.poller.poll_once() == 2
    assert worker.handled == [first["update_id"], second["update_id"]]
    assert store.channel_state.get(OFFSET_KEY) == str(second["update_id"] + 1)
    assert [c.method for c in api.calls] == ["deleteWebhook", "getUpdates"]
    assert "offset" not in api.calls[1].params  # nothing stored yet: from the first update Telegram has
    worker.close()
    # restarted before Telegram saw the offset confirmed: it still holds both updates
    restarted = Worker(api, store, store_url, "worker-a-restarted")
    made.append(restarted)
    api.calls.clear()
    assert restarted.poller.poll_once() == 0
    assert restarted.handled == []
    [fetch] = api.called("getUpdates")
    assert fetch.params["offset"] == second["update_id"] + 1 and fetch.params["allowed_updates"] == [
        "message",
        "callback_query",
    ]
    third = updates.private("问题三")
    api.push(third)
    assert restarted.poller.poll_once() == 1 and restarted.handled == [third["update_id"]]


def test_one_worker_polls_at_a_time_and_another_takes_over(
    store: Store, store_url: str, workers: tuple[BotApi, list[Worker]]
) -> None:
    api, made = workers
    a, b = Worker(api, store, store_url, "worker-a"), Worker(api, store, store_url, "worker-b")
    made.extend([a, b])
    api.push(Updates().private("问题"))
    assert a.poller.poll_once() == 1
    assert b.poller.poll_once() == 0  # the lease is a's
    assert len(api.called("getUpdates")) == 1 and store.channel_state.get(LEASE_KEY) == "worker-a"
    a.poller.lease.release()
    api.push(Updates(first_update_id=810000001).private("下一个问题"))
    assert b.poller.poll_once() == 1 and b.handled == [810000001]
    assert store.channel_state.get(LEASE_KEY) == "worker-b"


def test_a_handler_failure_skips_the_update_but_a_store_outage_does_not(
    store: Store, store_url: str, workers: tuple[BotApi, list[Worker]]
) -> None:
    from config.errors import StoreUnavailable

    api, made = workers
    worker = Worker(api, store, store_url, "worker-a")
    made.append(worker)
    updates = Updates()
    bad, good = updates.private("坏的"), updates.private("好的")
    api.push(bad, good)
    outcomes: list[Exception | None] = [StoreUnavailable("database away")]

    def handle(update: Update) -> None:
        if outcomes:
            failure = outcomes.pop(0)
            if failure is not None:
                raise failure
        worker.handled.append(update.update_id)

    worker.poller.handle = handle
    with pytest.raises(StoreUnavailable):
        worker.poller.poll_once()
    assert store.channel_state.get(OFFSET_KEY) is None  # fetched again next round
    outcomes.append(ValueError("a bug"))
    assert worker.poller.poll_once() == 2
    assert worker.handled == [good["update_id"]]  # the first failed and was skipped, not retried forever
    assert store.channel_state.get(OFFSET_KEY) == str(good["update_id"] + 1)


def test_the_app_answers_in_polling_mode_and_not_again_after_a_restart(
    kb_dir: Path, holder: KnowledgeBaseHolder, tmp_path: Path
) -> None:
    api = BotApi()
    settings = telegram_settings(kb_dir, tmp_path / "stdbot.db", mode="polling", secret_token=None)
    question = Updates().private("企业标准需要自我声明公开吗")
    api.push(question)
    telegram_only = (offline_telegram(api, []),)
    app = create_app(settings, holder=holder, platform_factories=telegram_only)
    with TestClient(app) as client:
        assert client.post("/telegram/webhook", json=question).status_code == 404  # no webhook in this mode
        [answer] = api.wait_sent(1, ALICE["id"])
        assert "依据" in answer.params["text"]
    store = Store(settings.database.url)
    assert store.channel_state.get(OFFSET_KEY) == str(question["update_id"] + 1)  # written before stopping
    api.push(question)  # as if Telegram never saw the offset confirmed before the restart
    api.calls.clear()
    restarted = create_app(settings, holder=holder, platform_factories=telegram_only)
    with TestClient(restarted):
        first_fetch = eventually(lambda: api.called("getUpdates"), 15)
    assert first_fetch[0].params["offset"] == question["update_id"] + 1
    assert api.sent() == []  # nothing answered again
    conversation = store.conversations.find("telegram", str(ALICE["id"]), str(ALICE["id"]))
    assert conversation is not None and len(store.conversations.transcript(conversation.id)) == 2
    store.close()

"""The staff alert queue in the store (SQLite and PostgreSQL): alerts per target, the lease that lets one
worker at a time send to a target, and the posts that make up a target's per-minute budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.races import together

from bot.store import HandoffAlert, Store
from config.errors import StoreError

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
MINUTE_AGO = NOW - timedelta(minutes=1)


def alert(
    conversation_id: int = 42, attempt: str | None = "根据《中华人民共和国标准化法》……"
) -> HandoffAlert:
    return HandoffAlert(
        conversation_id=conversation_id,
        reason="staff_topic",
        question="我们公司被投诉了，怎么处理？\x00",
        attempt=attempt,
        channel="webchat",
        user="张三",
        created_at=datetime(2026, 6, 1, 10, 0, tzinfo=UTC) + timedelta(hours=-8),
    )


def test_an_alert_is_queued_once_per_target_and_read_back_whole(store: Store) -> None:
    ids = store.staff_alerts.add(alert(), ["wecom", "telegram"], NOW)
    store.staff_alerts.add(alert(43, attempt=None), ["wecom"], NOW)
    assert len(ids) == 2
    wecom = store.staff_alerts.pending("wecom")
    assert [item.alert.conversation_id for item in wecom] == [42, 43]
    first = wecom[0]
    assert first.target == "wecom" and first.attempts == 0 and first.state == "pending"
    assert first.alert == HandoffAlert(
        42,
        "staff_topic",
        "我们公司被投诉了，怎么处理？",
        alert().attempt,
        "webchat",
        "张三",
        alert().created_at,
    )
    assert first.alert.created_at.tzinfo is not None
    assert wecom[1].alert.attempt is None
    assert [item.id for item in store.staff_alerts.pending("telegram")] == [ids[1]]
    assert store.staff_alerts.count_pending(["wecom", "telegram"]) == 3
    assert store.staff_alerts.target_status("wecom", MINUTE_AGO).pending == 2


def test_one_of_many_workers_gets_a_target_lease(store: Store, store_url: str) -> None:
    workers = [Store(store_url) for _ in range(6)]
    try:
        taken = together(6, lambda i: workers[i].staff_alerts.take_lease("wecom", f"worker-{i}", NOW, 30))
    finally:
        for worker in workers:
            worker.close()
    assert sorted(taken) == [False] * 5 + [True]
    holder = f"worker-{taken.index(True)}"
    assert store.staff_alerts.take_lease(
        "wecom", holder, NOW + timedelta(seconds=10), 30
    )  # the holder renews
    assert not store.staff_alerts.take_lease("wecom", "late", NOW + timedelta(seconds=39), 30)
    assert store.staff_alerts.take_lease("telegram", "late", NOW, 30)  # each target has its own lease
    assert store.staff_alerts.take_lease(
        "wecom", "late", NOW + timedelta(seconds=40), 30
    )  # expired: taken over


def test_a_released_lease_is_free_at_once(store: Store) -> None:
    assert store.staff_alerts.take_lease("wecom", "a", NOW, 30)
    store.staff_alerts.release_lease("wecom", "b")  # not b's to release
    assert not store.staff_alerts.take_lease("wecom", "b", NOW, 30)
    store.staff_alerts.release_lease("wecom", "a")
    assert store.staff_alerts.take_lease("wecom", "b", NOW, 30)


def test_posts_count_only_for_the_lease_holder_and_only_for_a_minute(store: Store) -> None:
    assert not store.staff_alerts.spend_post("wecom", "a", NOW, 30)  # no lease, no post
    assert store.staff_alerts.take_lease("wecom", "a", NOW, 30)
    for second in (0, 20, 40):
        assert store.staff_alerts.spend_post("wecom", "a", NOW + timedelta(seconds=second), 30)
    assert (
        store.staff_alerts.target_status("wecom", NOW + timedelta(seconds=40) - timedelta(minutes=1)).posts
        == 3
    )
    assert (
        store.staff_alerts.target_status("wecom", NOW + timedelta(seconds=60) - timedelta(minutes=1)).posts
        == 2
    )
    assert store.staff_alerts.target_status("telegram", MINUTE_AGO).posts == 0
    # the lease ran out (40 + 30 s) and another worker took it: the first can no longer post
    assert store.staff_alerts.take_lease("wecom", "b", NOW + timedelta(seconds=71), 30)
    assert not store.staff_alerts.spend_post("wecom", "a", NOW + timedelta(seconds=72), 30)


def test_sent_alerts_leave_the_queue_and_failing_ones_are_given_up_after_max_attempts(store: Store) -> None:
    sent, failing = (store.staff_alerts.add(alert(n), ["wecom"], NOW)[0] for n in (1, 2))
    store.staff_alerts.mark_sent([sent], NOW)
    assert [item.id for item in store.staff_alerts.pending("wecom")] == [failing]
    assert store.staff_alerts.mark_failed([failing], "HTTP 500", 3, NOW) == []
    assert store.staff_alerts.mark_failed([failing], "errcode 45009", 3, NOW) == []
    assert store.staff_alerts.pending("wecom")[0].attempts == 2
    [given_up] = store.staff_alerts.mark_failed([failing], "HTTP 502", 3, NOW)
    assert given_up.id == failing and given_up.state == "failed" and given_up.attempts == 3
    assert store.staff_alerts.pending("wecom") == [] and store.staff_alerts.count_pending(["wecom"]) == 0
    assert store.staff_alerts.mark_failed([sent, failing], "late", 3, NOW) == []  # done ones are left alone


def test_finished_alerts_are_purged(store: Store) -> None:
    done, waiting = (store.staff_alerts.add(alert(n), ["wecom"], NOW)[0] for n in (1, 2))
    store.staff_alerts.mark_sent([done], NOW)
    assert store.staff_alerts.purge(NOW) == 0
    assert store.staff_alerts.purge(NOW + timedelta(days=8)) == 1
    assert [item.id for item in store.staff_alerts.pending("wecom")] == [waiting]


def test_bad_alert_arguments_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="timezone-aware"):
        store.staff_alerts.add(alert(), ["wecom"], NOW.replace(tzinfo=None))
    with pytest.raises(StoreError, match="too long"):
        store.staff_alerts.add(alert(), ["a-target-name-too-long"], NOW)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.staff_alerts.take_lease("wecom", "a", NOW.replace(tzinfo=None), 30)
    assert store.staff_alerts.count_pending(["wecom"]) == 0

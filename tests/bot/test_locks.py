"""Conversation locks serialise work across threads and across processes (SQLite files, PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import threading
import time
import zlib
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from bot.service.locks import LOCK_BUCKETS, ConversationLocks
from config.errors import SettingsError

HOLD_S = 0.5


def _hold_then_signal(url: str, key: str, acquired: Event, result: Path) -> None:
    locks = ConversationLocks(url)
    with locks.hold(key):
        acquired.set()
        time.sleep(HOLD_S)
        result.write_text(repr(time.time()))
    locks.close()


def _wait_then_take(url: str, key: str, other_acquired: Event, result: Path) -> None:
    other_acquired.wait(10)
    locks = ConversationLocks(url)
    with locks.hold(key):
        result.write_text(repr(time.time()))
    locks.close()


def contend(url: str, first_key: str, second_key: str, tmp_path: Path) -> tuple[float, float]:
    """Process A holds `first_key` for HOLD_S; process B asks for `second_key` while A holds it.
    Returns (when A released, when B got its lock)."""
    context = multiprocessing.get_context("fork")
    acquired = context.Event()
    released, taken = tmp_path / "released", tmp_path / "taken"
    a = context.Process(target=_hold_then_signal, args=(url, first_key, acquired, released))
    b = context.Process(target=_wait_then_take, args=(url, second_key, acquired, taken))
    a.start()
    b.start()
    a.join(20)
    b.join(20)
    assert a.exitcode == 0 and b.exitcode == 0
    return float(released.read_text()), float(taken.read_text())


def keys_in_distinct_buckets() -> tuple[str, str]:
    first = "conversation:1"
    bucket = zlib.crc32(first.encode()) % LOCK_BUCKETS
    second = next(
        f"conversation:{n}"
        for n in range(2, 1000)
        if zlib.crc32(f"conversation:{n}".encode()) % LOCK_BUCKETS != bucket
    )
    return first, second


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'stdbot.db'}"


def test_two_processes_take_turns_on_one_conversation(store_url: str, backend: str, tmp_path: Path) -> None:
    """`store_url` is the store tests' fixture: a SQLite file, then a PostgreSQL database."""
    assert ConversationLocks(store_url).kind == {"sqlite": "flock", "postgresql": "postgresql"}[backend]
    released, taken = contend(store_url, "conversation:7", "conversation:7", tmp_path)
    assert taken >= released


def test_different_conversations_do_not_wait_for_each_other(store_url: str, tmp_path: Path) -> None:
    first, second = keys_in_distinct_buckets()
    released, taken = contend(store_url, first, second, tmp_path)
    assert taken < released - HOLD_S / 2


def test_sqlite_lock_files_live_next_to_the_database(sqlite_url: str, tmp_path: Path) -> None:
    locks = ConversationLocks(sqlite_url)
    with locks.hold("conversation:1"):
        pass
    assert len(list((tmp_path / "locks").glob("*.lock"))) == 1


def test_threads_take_turns(sqlite_url: str) -> None:
    locks = ConversationLocks(sqlite_url)
    counter = {"value": 0}

    def bump() -> None:
        for _ in range(5):
            with locks.hold("conversation:1"):
                seen = counter["value"]
                time.sleep(0.001)
                counter["value"] = seen + 1

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter["value"] == 40
    assert len(locks._local) == 0  # nothing left behind once everyone is done


def test_a_failing_block_releases_the_lock(sqlite_url: str) -> None:
    locks = ConversationLocks(sqlite_url)
    with pytest.raises(RuntimeError), locks.hold("k"):
        raise RuntimeError("boom")
    done = threading.Event()

    def take() -> None:
        with locks.hold("k"):
            done.set()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(5)
    assert done.is_set()


def test_an_in_memory_database_needs_only_thread_locks() -> None:
    locks = ConversationLocks("sqlite://")
    assert locks.kind == "thread"
    with locks.hold("k"):
        pass


def test_an_unsupported_database_is_refused() -> None:
    with pytest.raises(SettingsError, match="unsupported"):
        ConversationLocks("mysql://user@localhost/db")


def test_nested_keys_sharing_a_lock_file_do_not_wait_for_their_own_process(tmp_path: Path) -> None:
    locks = ConversationLocks(f"sqlite:///{tmp_path / 'stdbot.db'}")
    first = "conversation:1"
    same_file = next(
        f"conversation:{n}"
        for n in range(2, 100_000)
        if zlib.crc32(f"conversation:{n}".encode()) % LOCK_BUCKETS
        == zlib.crc32(first.encode()) % LOCK_BUCKETS
    )
    done = threading.Event()

    def nested() -> None:
        with locks.hold(first), locks.hold(same_file):
            done.set()

    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    worker.join(5)
    assert done.is_set(), "a nested lock waited for its own process's lock file"

    other_thread_got_in = threading.Event()

    def other_thread() -> None:
        with locks.hold(same_file):
            other_thread_got_in.set()

    with locks.hold(first):
        waiter = threading.Thread(target=other_thread, daemon=True)
        waiter.start()
        waiter.join(0.3)
        assert not other_thread_got_in.is_set(), "another thread shared the bucket while it was held"
    waiter.join(5)
    assert other_thread_got_in.is_set()

"""Starting work at the same moment in several threads or forked processes, for race tests."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

T = TypeVar("T")


def together(count: int, action: Callable[[int], T]) -> list[T]:
    """Run `action(i)` in `count` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def in_processes(count: int, target: Callable[..., None], *args: Any) -> list[Any]:
    """Run `target(*args, barrier, results)` in `count` forked processes that start their work together;
    return what each put on `results`. Processes that hang are killed."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(count, timeout=30), context.Queue()
    processes = [context.Process(target=target, args=(*args, barrier, results)) for _ in range(count)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0] * count
    return outcomes


def wait_until_blocked(postgres_url: str, timeout_s: float = 10.0) -> None:
    """Return once some session of the PostgreSQL database waits for a lock another one holds."""
    engine = create_engine(postgres_url, poolclass=NullPool)
    deadline = time.monotonic() + timeout_s
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(query).scalar_one() > 0:
                    return
            time.sleep(0.02)
        raise AssertionError("nobody waited for the other transaction")
    finally:
        engine.dispose()

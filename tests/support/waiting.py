"""Polling for a condition with a deadline: the one way the tests wait for another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def settled(read: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 10.0) -> T:
    """`read()` once `done` holds for it, or its last value when time is up (for the caller to assert on)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def eventually(probe: Callable[[], T | None], timeout_s: float = 30.0, what: str = "condition") -> T:
    """The first truthy value `probe` returns; fails when there is none within `timeout_s`."""
    value = settled(probe, bool, timeout_s)
    assert value, f"{what} not reached in {timeout_s} s"
    return value


def wait_until(done: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
    """Return once `done()` holds; fails when it does not within `timeout_s`."""
    eventually(lambda: done() or None, timeout_s, what)

"""The background loop: rounds on wake, survival of a failing round, the last round on stop."""

from __future__ import annotations

import threading

from bot.service.worker import LoopWorker

LONG_S = 60.0  # an interval no test waits for: rounds here come from wake() or "more to do"


def test_a_woken_worker_runs_a_round_and_a_failing_round_does_not_end_it() -> None:
    rounds: list[int] = []
    second = threading.Event()

    def round_() -> bool:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the database is away")
        second.set()
        return False

    worker = LoopWorker("test-worker", round_, LONG_S)
    worker.start()
    try:
        worker.wake()
        assert second.wait(10), "the round after a failure never ran"
        assert worker.running
    finally:
        worker.stop()
    assert not worker.running
    assert rounds[:2] == [0, 1]


def test_more_to_do_runs_again_without_waiting_and_stop_runs_the_last_round() -> None:
    left = [3]
    drained = threading.Event()
    last: list[str] = []

    def round_() -> bool:
        if drained.is_set():
            last.append("after stop")
            return False
        left[0] -= 1
        if left[0] == 0:
            drained.set()
        return left[0] > 0

    worker = LoopWorker("test-drain", round_, LONG_S, last_round=True)
    worker.start()
    assert drained.wait(10), "rounds with more to do did not follow each other"
    worker.stop()
    assert left[0] == 0
    assert last == ["after stop"]

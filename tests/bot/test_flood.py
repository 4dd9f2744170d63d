"""The flood guard: a sliding minute per sender, one warning per window, senders apart."""

from __future__ import annotations

from bot.service.flood import Flood, FloodGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_over_the_limit_the_sender_is_told_once_then_refused_quietly() -> None:
    clock = Clock()
    guard = FloodGuard(3, clock=clock)
    assert [guard.check("wechat_mp:u1") for _ in range(3)] == [Flood.OK] * 3
    assert guard.check("wechat_mp:u1") is Flood.FIRST_OVER
    assert guard.check("wechat_mp:u1") is Flood.OVER
    assert guard.check("wechat_mp:u2") is Flood.OK  # another sender is not affected
    assert 0 < guard.retry_after_s("wechat_mp:u1") <= 61


def test_the_window_slides() -> None:
    clock = Clock()
    guard = FloodGuard(2, clock=clock)
    guard.check("s")
    clock.now += 30
    guard.check("s")
    assert guard.check("s") is Flood.FIRST_OVER
    clock.now += 31  # the first message left the window; the refused one still counts
    assert guard.check("s") is Flood.OVER
    clock.now += 61
    assert guard.check("s") is Flood.OK
    assert guard.retry_after_s("s") == 0

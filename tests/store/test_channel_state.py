"""Channel state every worker shares (access tokens, cursors) and the replay guard's nonce ledger, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support.races import together

from bot.store import Store

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def test_a_value_is_shared_replaced_and_expires(store: Store) -> None:
    assert store.channel_state.get("wechat:access_token", NOW) is None
    store.channel_state.put("wechat:access_token", "token-1", NOW + timedelta(seconds=7000))
    assert store.channel_state.get("wechat:access_token", NOW) == "token-1"
    store.channel_state.put("wechat:access_token", "token-2", NOW + timedelta(seconds=7000))
    assert store.channel_state.get("wechat:access_token", NOW) == "token-2"
    assert store.channel_state.get("wechat:access_token", NOW + timedelta(seconds=7001)) is None
    store.channel_state.put("wechat_kf:cursor:wk1", "cursor-abc")
    assert store.channel_state.get("wechat_kf:cursor:wk1", NOW + timedelta(days=999)) == "cursor-abc"
    store.channel_state.delete("wechat_kf:cursor:wk1")
    assert store.channel_state.get("wechat_kf:cursor:wk1", NOW) is None


def test_racing_writers_leave_one_value(store: Store) -> None:
    together(6, lambda i: store.channel_state.put("race", f"value-{i}", None))
    assert store.channel_state.get("race", NOW) in {f"value-{i}" for i in range(6)}


def test_a_nonce_carries_one_body(store: Store) -> None:
    later = NOW + timedelta(minutes=10)
    assert store.channel_state.claim_nonce("wechat", "1700000000:n1", "hash-a", later, NOW)
    assert store.channel_state.claim_nonce(
        "wechat", "1700000000:n1", "hash-a", later, NOW
    )  # the platform again
    assert not store.channel_state.claim_nonce(
        "wechat", "1700000000:n1", "hash-b", later, NOW
    )  # a forged body
    assert store.channel_state.claim_nonce(
        "wecom_bot", "1700000000:n1", "hash-b", later, NOW
    )  # another channel
    assert store.channel_state.claim_nonce(
        "wechat", "1700000000:n1", "hash-b", later + timedelta(minutes=1), later
    )


def test_racing_claims_of_one_nonce_with_different_bodies_let_one_through(store: Store) -> None:
    expires = NOW + timedelta(minutes=10)
    outcomes = together(
        6, lambda i: store.channel_state.claim_nonce("wechat", "t:n", f"body-{i}", expires, NOW)
    )
    assert outcomes.count(True) == 1

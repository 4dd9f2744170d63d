"""Console form tokens in the store (SQLite and PostgreSQL): the work of a form — a reply stored and queued,
an FAQ draft — is done once per token, whichever workers the posts reach and however they race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.pool import NullPool
from support.races import in_processes, together, wait_until_blocked

from bot.messages import IncomingMessage
from bot.store import ConversationRecord, FormUse, Store
from bot.store.models import DeliveryRow, FormTokenRow, MessageRow
from config.errors import StoreError

TOKEN = "tok-7f3a9c2e1b"
ANSWER = "您好，企业标准需要在企业标准信息公共服务平台上自我声明公开。"


def conversation(store: Store, user: str = "u1") -> ConversationRecord:
    message = IncomingMessage("webchat", f"chat-{user}", user, f"m-{user}", "企业标准要公开吗？")
    return store.conversations.record_inbound(message).conversation


def outbound(store: Store, conversation_id: int) -> list[str]:
    return [m.text for m in store.conversations.transcript(conversation_id) if m.direction == "out"]


def test_a_reply_form_stores_and_queues_its_reply_once(store: Store) -> None:
    chat = conversation(store)
    form = FormUse("reply", chat.id, TOKEN)
    assert store.admin.form_outcome(form) is None
    first = store.deliveries.queue_reply(chat.id, ANSWER, author="staff:alice", form=form)
    again = store.deliveries.queue_reply(chat.id, "第二次点击", author="staff:alice", form=form)
    assert not first.repeated and again.repeated
    assert again.message == first.message and again.delivery == first.delivery
    assert first.message.author == "staff:alice" and first.message.kind == "staff"
    delivery = first.delivery
    assert (delivery.message_id, delivery.channel, delivery.chat_id) == (
        first.message.id,
        "webchat",
        "chat-u1",
    )
    assert (delivery.kind, delivery.state, delivery.text) == ("staff", "pending", ANSWER)
    assert store.admin.form_outcome(form) == first.message.id
    assert outbound(store, chat.id) == [ANSWER]
    assert [d.message_id for d in store.deliveries.due(datetime.now(UTC) + timedelta(seconds=1))] == [
        first.message.id
    ]


def test_a_token_is_one_form_only_for_its_purpose_and_conversation(store: Store) -> None:
    chat, other = conversation(store, "u1"), conversation(store, "u2")
    store.deliveries.queue_reply(chat.id, "一", author="staff:alice", form=FormUse("reply", chat.id, TOKEN))
    elsewhere = store.deliveries.queue_reply(
        other.id, "二", author="staff:alice", form=FormUse("reply", other.id, TOKEN)
    )
    assert not elsewhere.repeated and outbound(store, other.id) == ["二"]
    assert store.admin.form_outcome(FormUse("faq", chat.id, TOKEN)) is None


def test_without_a_form_every_call_queues_a_message(store: Store) -> None:
    chat = conversation(store)
    first = store.deliveries.queue_reply(chat.id, "已处理完毕", author="system", mode="resolved")
    second = store.deliveries.queue_reply(chat.id, "已处理完毕", author="system", mode="resolved")
    assert first.message.id != second.message.id and not second.repeated
    assert first.message.mode == "resolved" and first.delivery.kind == "system"


def test_a_failure_after_the_claim_gives_the_token_back(store: Store) -> None:
    """The claim and the work are one transaction: work that fails leaves the token unused."""
    chat = conversation(store)
    form = FormUse("reply", chat.id, TOKEN)
    with pytest.raises(StoreError, match="invalid author"):
        store.deliveries.queue_reply(chat.id, ANSWER, author="nobody", form=form)
    assert store.admin.form_outcome(form) is None and outbound(store, chat.id) == []
    assert not store.deliveries.queue_reply(chat.id, ANSWER, author="staff:alice", form=form).repeated


def test_many_workers_posting_one_form_at_once_store_one_reply(store: Store, store_url: str) -> None:
    chat = conversation(store)
    form = FormUse("reply", chat.id, TOKEN)
    workers = [Store(store_url) for _ in range(6)]
    try:
        results = together(
            6,
            lambda i: workers[i].deliveries.queue_reply(
                chat.id, f"回复 {i}", author="staff:alice", form=form
            ),
        )
    finally:
        for worker in workers:
            worker.close()
    assert sorted(r.repeated for r in results) == [False] + [True] * 5
    assert len({r.message.id for r in results}) == 1 and len({r.delivery.id for r in results}) == 1
    assert len(outbound(store, chat.id)) == 1
    assert len(store.deliveries.due(datetime.now(UTC) + timedelta(seconds=1))) == 1


def reply_from_another_process(url: str, conversation_id: int, barrier: Any, results: Any) -> None:
    store = Store(url)
    barrier.wait()
    queued = store.deliveries.queue_reply(
        conversation_id, ANSWER, author="staff:alice", form=FormUse("reply", conversation_id, TOKEN)
    )
    store.close()
    results.put((queued.message.id, queued.delivery.id, queued.repeated))


def test_two_processes_posting_one_form_store_one_reply_and_one_delivery(
    store: Store, store_url: str
) -> None:
    chat = conversation(store)
    outcomes = in_processes(2, reply_from_another_process, store_url, chat.id)
    assert sorted(repeated for _, _, repeated in outcomes) == [False, True]
    assert len({(message, delivery) for message, delivery, _ in outcomes}) == 1
    assert outbound(store, chat.id) == [ANSWER]
    assert len(store.deliveries.due(datetime.now(UTC) + timedelta(seconds=1))) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_post_racing_an_uncommitted_one_waits_and_repeats_it(store: Store, store_url: str) -> None:
    """Another worker has claimed the token and stored its reply but not committed: our post waits on the
    token's key, then returns the other worker's reply (the insert-conflict path, made deterministic)."""
    chat = conversation(store)
    now = datetime.now(UTC)
    engine = create_engine(store_url, poolclass=NullPool)
    with ThreadPoolExecutor(1) as pool:
        with engine.begin() as other:
            message_id = other.execute(
                insert(MessageRow.__table__).returning(MessageRow.id),
                {
                    "conversation_id": chat.id,
                    "channel": "webchat",
                    "direction": "out",
                    "author": "staff:alice",
                    "kind": "staff",
                    "text": "from the other worker",
                    "citations": "[]",
                    "created_at": now,
                },
            ).scalar_one()
            other.execute(
                insert(DeliveryRow.__table__),
                {
                    "message_id": message_id,
                    "channel": "webchat",
                    "chat_id": chat.chat_id,
                    "text": "from the other worker",
                    "kind": "staff",
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            other.execute(
                insert(FormTokenRow.__table__),
                {
                    "token": TOKEN,
                    "purpose": "reply",
                    "conversation_id": chat.id,
                    "result_id": message_id,
                    "created_at": now,
                },
            )
            form = FormUse("reply", chat.id, TOKEN)
            pending = pool.submit(
                store.deliveries.queue_reply, chat.id, ANSWER, author="staff:bob", form=form
            )
            wait_until_blocked(store_url)
        result = pending.result(timeout=10)
    engine.dispose()
    assert result.repeated and result.message.id == message_id
    assert result.message.text == "from the other worker"
    assert outbound(store, chat.id) == ["from the other worker"]


def test_an_faq_form_saves_one_draft(store: Store) -> None:
    chat = conversation(store)
    form = FormUse("faq", chat.id, TOKEN)
    first = store.admin.add_faq_draft_once(form, "企业标准要公开吗？", ANSWER, "staff:alice")
    again = store.admin.add_faq_draft_once(form, "企业标准要公开吗？", ANSWER, "staff:alice")
    assert not first.repeated and again.repeated and again.result_id == first.result_id
    assert store.admin.form_outcome(form) == first.result_id
    drafts = store.admin.faq_drafts()
    assert [(d.id, d.answer, d.author, d.conversation_id) for d in drafts] == [
        (first.result_id, ANSWER, "staff:alice", chat.id)
    ]


def test_old_tokens_are_purged(store: Store) -> None:
    chat = conversation(store)
    form = FormUse("reply", chat.id, TOKEN)
    store.deliveries.queue_reply(chat.id, ANSWER, author="staff:alice", form=form)
    assert store.admin.purge_form_tokens(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert store.admin.form_outcome(form) is not None
    assert store.admin.purge_form_tokens(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert store.admin.form_outcome(form) is None


@pytest.mark.parametrize(
    ("purpose", "token", "error"),
    [
        ("delete", TOKEN, "invalid purpose"),
        ("reply", "   ", "must not be empty"),
        ("reply", "x" * 129, "too long"),
    ],
)
def test_malformed_forms_are_refused(store: Store, purpose: str, token: str, error: str) -> None:
    chat = conversation(store)
    with pytest.raises(StoreError, match=error):
        store.deliveries.queue_reply(
            chat.id, ANSWER, author="staff:alice", form=FormUse(purpose, chat.id, token)
        )
    assert outbound(store, chat.id) == []


def test_a_form_for_a_missing_conversation_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="conversation not found"):
        store.deliveries.queue_reply(999, ANSWER, author="staff:alice", form=FormUse("reply", 999, TOKEN))
    with pytest.raises(StoreError, match="conversation not found"):
        store.admin.add_faq_draft_once(FormUse("faq", 999, TOKEN), "问", "答", "staff:alice")

"""The questions a bot reply offers (您是不是想问) are stored beside the message and come back with it."""

from __future__ import annotations

from bot.messages import IncomingMessage
from bot.store import Store

OFFERED = ("企业可以自己制定企业标准吗？", "制定企业标准一般要经过哪些程序？")


def test_offered_questions_are_kept_with_the_reply_in_order(store: Store) -> None:
    inbound = store.conversations.record_inbound(
        IncomingMessage(channel="web", chat_id="c1", user_id="u1", message_id="m1", text="企业标准要备案吗")
    )
    conversation_id = inbound.conversation.id
    offer = store.conversations.record_outbound(
        conversation_id, "您是不是想问：…", author="bot", suggestions=OFFERED
    )
    answer = store.conversations.record_outbound(conversation_id, "可以。", author="bot", mode="faq")
    assert offer.suggestions == OFFERED and answer.suggestions == ()

    plain = store.conversations.transcript(conversation_id)
    assert all(m.suggestions == () for m in plain)  # the transcript alone does not read them
    filled = store.conversations.with_suggestions(plain)
    assert [m.suggestions for m in filled] == [(), OFFERED, ()]
    after = store.conversations.with_suggestions(
        store.conversations.messages_after(conversation_id, inbound.message.id)
    )
    assert [m.suggestions for m in after] == [OFFERED, ()]
    assert store.conversations.with_suggestions([]) == []

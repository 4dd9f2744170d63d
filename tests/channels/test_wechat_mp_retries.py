"""The 5-second deadline through a real server: a slow answer (the local OpenAI-protocol server taking its
time) while the platform delivers the same MsgId up to three times. Whatever the platform hears and
whenever the answer is ready, the user gets exactly one answer: passive on the delivery the platform
heard, or through message/custom/send — never both, never none."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from channels.wechat_mp_fixtures import ROUTE, USER, mp_app, mp_settings, platform_for, warmed
from support.openai_server import FakeOpenAIServer
from support.waiting import eventually
from support.web_app import served, services_of
from support.wechat_platform import Delivered, WechatApiServer

from bot.channels.wechat_mp import CHANNEL
from bot.service.kb_holder import KnowledgeBaseHolder
from bot.store import DeliveryRecord, Store

QUESTION = "采标里IDT和MOD啥区别"
LLM_ANSWER = "IDT 为等同采用，MOD 为修改采用 [1]。"


def the_delivery(store: Store) -> DeliveryRecord | None:
    """The outbox entry of the bot's answer to the user, once final."""
    conversation = store.conversations.find(CHANNEL, USER, USER)
    if conversation is None:
        return None
    answers = [m for m in store.conversations.transcript(conversation.id) if m.direction == "out"]
    assert len(answers) <= 1, "answered twice"
    if not answers:
        return None
    delivery = store.deliveries.enqueue(answers[0].id, CHANNEL, USER, "", "bot")  # the existing entry
    return delivery if delivery.state != "pending" else None


def answers_seen(delivered: Delivered, api: WechatApiServer) -> list[str]:
    """Every answer that reached the user: the passive reply the platform heard, and custom sends."""
    passive = [delivered.answer] if delivered.answer else []
    return passive + api.sent_to(USER)


@dataclass
class SlowAnswers:
    """The app on a real server answering through a slow LLM while the platform delivers and retries."""

    kb_dir: Path
    holder: KnowledgeBaseHolder
    api: WechatApiServer
    llm: FakeOpenAIServer

    def run(
        self,
        database_url: str,
        *,
        budget_s: float,
        llm_delay_s: float,
        wait_s: float,
        lost: int,
        mode: str = "safe",
        resign: bool = False,
    ) -> tuple[Delivered, DeliveryRecord]:
        self.llm.reply(LLM_ANSWER, delay_s=llm_delay_s)
        settings = mp_settings(
            self.kb_dir, database_url, self.api.base_url, budget_s=budget_s, llm_url=self.llm.base_url
        )
        app = mp_app(settings, warmed(self.holder))
        with served(app) as url:
            platform = platform_for(f"{url}{ROUTE}")
            xml = platform.text(USER, QUESTION)
            delivered = platform.deliver(xml, mode, wait_s=wait_s, lost=lost, resign=resign)  # type: ignore[arg-type]
            delivery = eventually(lambda: the_delivery(services_of(app).store), timeout_s=60)
            assert len(self.llm.requests) == 1  # answered once, however often it was delivered
        return delivered, delivery


@pytest.fixture
def slow(
    kb_dir: Path, holder: KnowledgeBaseHolder, wechat_api: WechatApiServer, openai_server: FakeOpenAIServer
) -> SlowAnswers:
    return SlowAnswers(kb_dir, holder, wechat_api, openai_server)


def test_a_slow_answer_after_success_arrives_by_custom_send(slow: SlowAnswers, tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'db'}"
    delivered, delivery = slow.run(sqlite, budget_s=1.0, llm_delay_s=2.5, wait_s=5.0, lost=0)
    assert len(delivered.attempts) == 1 and delivered.heard is not None
    assert delivered.heard.reply is None  # `success`: no retries, no "该公众号暂时无法提供服务"
    seen = answers_seen(delivered, slow.api)
    assert len(seen) == 1 and "等同采用" in seen[0] and "依据：" in seen[0]
    assert delivery.state == "sent" and delivery.platform_message_id == "custom:1"


def test_retries_during_a_slow_answer_get_it_passively_exactly_once(
    slow: SlowAnswers, store_url: str
) -> None:
    # deliveries at 0 s, 2 s and 4 s; the first two responses are lost; the answer takes 2.5 s
    delivered, delivery = slow.run(store_url, budget_s=1.5, llm_delay_s=2.5, wait_s=2.0, lost=2, resign=True)
    assert len(delivered.attempts) == 3 and delivered.heard is not None
    assert delivered.attempts[0].reply is None  # the first gave up waiting: `success` (lost)
    seen = answers_seen(delivered, slow.api)
    assert len(seen) == 1 and "等同采用" in seen[0]
    if delivered.answer is not None:  # the usual case: a waiting retry answered, the last repeated it
        assert delivery.platform_message_id == "passive" and slow.api.sent == []
    else:  # the machine was slow enough that the answer came between deliveries: the outbox sent it
        assert delivery.platform_message_id == "custom:1"


def test_when_no_response_is_heard_the_answer_still_arrives_once(slow: SlowAnswers, tmp_path: Path) -> None:
    # all three responses are lost while the answer is still being written (5.5 s)
    sqlite = f"sqlite:///{tmp_path / 'db'}"
    delivered, delivery = slow.run(sqlite, budget_s=1.0, llm_delay_s=5.5, wait_s=1.5, lost=3, mode="plain")
    assert len(delivered.attempts) == 3 and delivered.heard is None
    assert all(a.reply is None and a.status == 200 for a in delivered.attempts)
    seen = answers_seen(delivered, slow.api)
    assert len(seen) == 1 and "等同采用" in seen[0]
    assert delivery.state == "sent" and delivery.platform_message_id == "custom:1"

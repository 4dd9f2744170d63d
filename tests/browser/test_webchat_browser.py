"""The web chat in a real browser (Debian's Chromium via Playwright) against a real `stdbot serve`: an
answer with its citation and 👍, a standard's status, 转人工 with a staff reply arriving live, and markup
in a message shown as text. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import time

from browser.conftest import ANSWER_TIMEOUT_MS, ChatPage, ServedHotline, require_browser

import prompts
from bot.channels.webchat import CHANNEL
from bot.messages import Reply
from bot.service.outbox import Outbox
from bot.store import ConversationRecord, Store
from bot.web.chat_page import page_labels

require_browser()

from playwright.sync_api import Locator, expect  # noqa: E402  (imported once it is known to be installed)

STAFF = "browser-test"
MARKUP = "<img src=x onerror=alert(1)><script>alert(2)</script>"
LABELS = page_labels()


def conversation_of(store: Store, chat: ChatPage) -> ConversationRecord:
    session_id = chat.session_id()
    found = store.conversations.find(CHANNEL, session_id, session_id)
    assert found is not None, f"no conversation for the page's session {session_id}"
    return found


def test_answer_with_citation_feedback_and_standard_status(chat: ChatPage, hotline: ServedHotline) -> None:
    page = chat.page
    expect(page.locator("h1")).to_have_text(LABELS["title"])
    chat.ask("企业标准需要自我声明公开吗")
    answer = page.locator("#log .msg-bot").last
    cited = answer.locator(".cites li")
    expect(cited.first).to_be_visible()
    labels = cited.all_inner_texts()
    assert any(("第" in label and "条" in label) or "《" in label for label in labels), labels
    assert chat.last("user") == "企业标准需要自我声明公开吗"
    chat.screenshot("webchat-1-answer-with-citations")

    thumbs_up = answer.get_by_role("button", name=LABELS["like"], exact=True)
    thumbs_up.click()
    expect(answer.locator(".feedback span")).to_have_text(LABELS["feedback_thanks"])
    expect(thumbs_up).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_role("button", name=LABELS["dislike"], exact=True)).to_be_disabled()
    expect(page.locator("#log .msg-error")).to_have_count(0)
    store = hotline.store()
    try:
        received = store.conversations.transcript(conversation_of(store, chat).id)
    finally:
        store.close()
    assert [m.text for m in received if m.kind == "feedback"] == ["👍"]

    chat.ask("GB/T 19001-2016 还有效吗")
    assert "GB/T 19001" in chat.last("bot") and "现行" in chat.last("bot")
    chat.screenshot("webchat-2-standard-status")


def test_handoff_and_a_staff_reply_appear_live(chat: ChatPage, hotline: ServedHotline) -> None:
    page = chat.page
    chat.ask("企业标准需要自我声明公开吗")
    page.get_by_role("button", name=LABELS["handoff"]).click()
    notice = prompts.load("handoff_queued")
    expect(page.locator("#log .bubble", has_text=notice)).to_have_count(1)
    assert chat.last("user") == LABELS["handoff"]
    expect(page.get_by_role("button", name=LABELS["handoff"])).to_be_enabled()
    chat.screenshot("webchat-3-handoff-notice")

    page.evaluate("window.stdbotNotReloaded = true")  # gone if the page were reloaded
    staff_text = "您好，我是标准化咨询的工作人员：企业标准应在实施前通过公共服务平台自我声明公开。"
    store = hotline.store()
    try:
        conversation = conversation_of(store, chat)
        handoff = store.handoffs.active_for(conversation.id)
        assert handoff is not None and handoff.reason == "button"
        store.handoffs.claim(handoff.id, STAFF)
        message = store.conversations.record_outbound(conversation.id, staff_text, author=f"staff:{STAFF}")
        store.handoffs.note_staff_reply(handoff.id)
        # This outbox has no channels and no thread: it only queues; the server's outbox delivers.
        delivery = Outbox(store, {}).enqueue(
            Reply(CHANNEL, conversation.chat_id, staff_text, "staff", message_id=message.id)
        )
        expect(page.locator("#log .msg-staff .bubble")).to_have_text(staff_text, timeout=10_000)
        expect(page.locator("#log .msg-staff .author")).to_have_text(LABELS["staff"])
        assert page.evaluate("window.stdbotNotReloaded") is True
        deadline = time.monotonic() + 10
        while store.deliveries.get(delivery.id).state != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
        sent = store.deliveries.get(delivery.id)
    finally:
        store.close()
    assert sent.state == "sent" and sent.platform_message_id == str(message.id)
    chat.screenshot("webchat-4-staff-reply-live")


def test_markup_in_a_message_is_shown_as_text(chat: ChatPage) -> None:
    page = chat.page
    page.set_viewport_size({"width": 390, "height": 720})  # a phone
    chat.ask(MARKUP)
    mine = page.locator("#log .msg-user .bubble", has_text=MARKUP)
    expect(mine).to_have_count(1)
    assert chat.last("user") == MARKUP
    assert page.locator("#log script, #log img, #log iframe").count() == 0
    mine.scroll_into_view_if_needed()
    chat.screenshot("webchat-5-markup-as-text-phone")

    page.reload()  # the transcript comes back from the server's history and is rendered the same way
    expect(page.locator("#log .msg-user .bubble", has_text=MARKUP)).to_have_count(1)
    assert page.locator("#log script, #log img, #log iframe").count() == 0
    page.wait_for_timeout(300)  # give an injected handler the chance to fire
    assert chat.dialogs == []


def test_the_input_grows_with_a_question_of_several_lines(chat: ChatPage) -> None:
    box = chat.page.locator("#text")
    one_line = height_of(box)
    box.press_sequentially("第一行")
    for line in ("第二行", "第三行", "第四行"):
        box.press("Shift+Enter")
        box.press_sequentially(line)
    assert height_of(box) > one_line * 2
    chat.screenshot("webchat-6-several-lines")
    box.press("Enter")
    expect(chat.page.locator("#log .msg-user .bubble")).to_have_text("第一行\n第二行\n第三行\n第四行")
    assert height_of(box) == one_line  # back to one line once sent
    expect(chat.page.locator("#log .msg-bot")).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)


def height_of(box: Locator) -> float:
    found = box.bounding_box()
    assert found is not None
    return found["height"]

"""The whole staff flow in a real browser (Debian's Chromium via Playwright) against a real `stdbot serve`:
a user in one browser context asks, gets a cited answer and presses 转人工; a staff member in another logs
in, sees the conversation arrive in the live queue, reads the transcript with its citations, claims it and
replies (with a double-click); the reply and then the resolve notice appear on the user's page live, and
the bot answers again. Screenshots go to tests/artifacts/staff-flow-*.png."""

from __future__ import annotations

import re

from browser.conftest import ChatPage, ConsolePage, ServedHotline, require_browser

import prompts
from bot.channels.webchat import CHANNEL
from bot.web.auth import console_text
from bot.web.chat_page import page_labels

require_browser()

from playwright.sync_api import expect  # noqa: E402  (imported once it is known to be installed)

STAFF = "zhang"
QUESTION = "企业标准需要公开吗？"
STAFF_TEXT = "您好，我是人工客服小张：企业标准应在实施前通过企业标准信息公共服务平台自我声明公开。"
FOLLOW_UP = "团体标准是谁制定的？"
CITED = re.compile(r"《[^》]+》第[零一二三四五六七八九十百\d]+条")
LIVE_MS = 10_000  # the console polls every 3 s, the chat's event stream wakes at once
LABELS = page_labels()


def test_user_and_staff_through_handoff_reply_and_resolve(
    chat: ChatPage, console: ConsolePage, hotline: ServedHotline
) -> None:
    user, desk = chat.page, console.page

    # 1. the user asks and gets an answer with its basis
    chat.ask(QUESTION)
    answer = user.locator("#log .msg-bot").last
    expect(answer.locator(".cites")).to_contain_text(LABELS["citations"])
    assert any(CITED.search(label) for label in answer.locator(".cites li").all_inner_texts())
    chat.screenshot("staff-flow-1-answer")

    # staff log in through the form; the queue is empty and stays on screen from here on
    hotline.add_account(STAFF)
    console.log_in(STAFF, screenshot="staff-flow-2-login")
    expect(desk.locator("#queue-body tr.empty")).to_have_text(console_text("queue_empty"))
    console.mark_not_reloaded()

    # 2. 转人工: the user is told a person will reply
    user.get_by_role("button", name=LABELS["handoff"]).click()
    expect(user.locator("#log .msg-system .bubble", has_text=prompts.load("handoff_queued"))).to_have_count(1)
    chat.mark_not_reloaded()
    chat.screenshot("staff-flow-3-handoff")

    # 3. the conversation arrives in the staff queue without a reload
    row = desk.locator("#queue-body tr", has_text=chat.session_id())
    expect(row).to_have_count(1, timeout=LIVE_MS)
    expect(row).to_contain_text(CHANNEL)
    expect(row).to_contain_text(console_text("unclaimed"))
    assert console.not_reloaded()
    console.screenshot("staff-flow-4-queue")

    # the transcript: the question, the bot's answer and its citations
    row.get_by_role("link", name=console_text("open")).click()
    transcript = desk.locator("#transcript")
    expect(transcript.locator(".msg-user .text").first).to_have_text(QUESTION)
    bot_answer = transcript.locator(".msg-bot").filter(has=desk.locator("details.citations")).first
    expect(bot_answer.locator(".text")).to_have_text(answer.locator(".bubble").inner_text())
    bot_answer.locator("details.citations summary").click()
    cited = bot_answer.locator("details.citations li strong").all_inner_texts()
    assert any(CITED.search(label) for label in cited), cited

    # claim it
    desk.get_by_role("button", name=console_text("claim"), exact=True).click()
    expect(desk.locator(".notice")).to_have_text(console_text("done_claimed"))
    expect(desk.locator("#state")).to_have_text(console_text("state_staff"))
    desk.locator("details.citations").first.locator("summary").click()  # open again after the redirect
    console.screenshot("staff-flow-5-transcript-claimed")

    # 4. the reply, sent with a double-click, reaches the user's page once and live
    desk.locator("#reply-form textarea").fill(STAFF_TEXT)
    desk.locator("#reply-form button[type=submit]").dblclick()
    sent = (console_text("done_replied"), console_text("done_reply_repeat"))
    expect(desk.locator(".notice")).to_have_text(re.compile("|".join(map(re.escape, sent))))
    expect(transcript.locator(".msg-staff .text")).to_have_text([STAFF_TEXT])
    console.screenshot("staff-flow-6-reply-sent")
    staff_bubbles = user.locator("#log .msg-staff")
    expect(staff_bubbles.locator(".bubble")).to_have_text([STAFF_TEXT], timeout=LIVE_MS)
    expect(staff_bubbles.locator(".author")).to_have_text([LABELS["staff"]])
    assert _staff_replies(hotline, chat) == [STAFF_TEXT]  # stored once, however many submits
    assert chat.not_reloaded()
    chat.screenshot("staff-flow-7-reply-live")

    # 5. resolved: the user is told, and the bot answers again
    desk.get_by_role("button", name=console_text("resolve"), exact=True).click()
    expect(desk.locator(".notice")).to_have_text(console_text("done_resolved"))
    expect(desk.locator("#state")).to_have_text(console_text("state_bot"))
    console.screenshot("staff-flow-8-resolved-console")
    resolved = user.locator("#log .msg-system .bubble", has_text=prompts.load("console_resolved"))
    expect(resolved).to_have_count(1, timeout=LIVE_MS)
    assert chat.not_reloaded()
    chat.screenshot("staff-flow-8-resolved-user")
    chat.ask(FOLLOW_UP)
    assert chat.last("user") == FOLLOW_UP
    again = user.locator("#log .msg-bot").last
    expect(again.locator(".cites li").first).to_be_visible()
    assert "团体标准" in again.locator(".bubble").inner_text()
    expect(staff_bubbles).to_have_count(1)
    chat.screenshot("staff-flow-9-bot-again")


def _staff_replies(hotline: ServedHotline, chat: ChatPage) -> list[str]:
    """The staff messages stored for the page's conversation."""
    store = hotline.store()
    try:
        session_id = chat.session_id()
        conversation = store.conversations.find(CHANNEL, session_id, session_id)
        assert conversation is not None
        return [
            m.text for m in store.conversations.transcript(conversation.id) if m.author.startswith("staff:")
        ]
    finally:
        store.close()

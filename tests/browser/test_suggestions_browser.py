"""您是不是想问 in a real browser (Debian's Chromium via Playwright) against a real `stdbot serve`: a question
close to FAQ questions that ask something else shows them as buttons; tapping the second asks it and its
answer appears; after a reload the buttons come back from the stored message; typing "1" picks the first.
Screenshots (desktop and a 390×844 phone) go to tests/artifacts/."""

from __future__ import annotations

import csv

from browser.conftest import ANSWER_TIMEOUT_MS, ChatPage, require_browser
from support.processes import SAMPLE

import prompts
from bot.web.chat_page import page_labels

require_browser()

from playwright.sync_api import expect  # noqa: E402  (imported once it is known to be installed)

LABELS = page_labels()
CLOSE_QUESTION = "企业标准要备案吗"  # close to the FAQ about making one (备案 is not 制定)


def faq_answer(question: str) -> str:
    with (SAMPLE / "faq.csv").open(encoding="utf-8") as handle:
        return next(row["答案"] for row in csv.DictReader(handle) if row["问题"] == question)


def offered_questions(chat: ChatPage) -> list[str]:
    """Ask the close question; the questions its reply offers, read off the buttons."""
    chat.ask(CLOSE_QUESTION)
    offer = chat.page.locator("#log .msg-bot").last
    assert chat.last("bot") == prompts.load("answer_suggestions").splitlines()[0]  # the list is in buttons
    buttons = offer.get_by_role("group", name=LABELS["suggestions"]).get_by_role("button")
    expect(buttons.first).to_be_visible()
    texts = buttons.all_inner_texts()
    assert 2 <= len(texts) <= 3, texts
    assert all(text.startswith(f"{n}. ") for n, text in enumerate(texts, start=1)), texts
    return [text.split(". ", 1)[1] for text in texts]


def test_tapping_the_second_suggestion_answers_it_on_a_phone(chat: ChatPage) -> None:
    page = chat.page
    page.set_viewport_size({"width": 390, "height": 844})
    questions = offered_questions(chat)
    chat.screenshot("webchat-suggestions-1-offered-phone")

    answers = page.locator("#log .msg-bot")
    before = answers.count()
    page.locator("#log .msg-bot").last.locator(".suggestion").nth(1).click()
    expect(answers).to_have_count(before + 1, timeout=ANSWER_TIMEOUT_MS)
    assert chat.last("user") == questions[1]
    assert faq_answer(questions[1])[:30] in chat.last("bot")
    expect(answers.last.locator(".suggestion")).to_have_count(0)
    chat.screenshot("webchat-suggestions-2-picked-phone")


def test_suggestions_survive_a_reload_and_a_typed_number_picks_one(chat: ChatPage) -> None:
    page = chat.page
    questions = offered_questions(chat)
    chat.screenshot("webchat-suggestions-3-offered-desktop")

    page.reload()
    restored = page.locator("#log .msg-bot").last.locator(".suggestion")
    expect(restored).to_have_count(len(questions))
    assert [t.split(". ", 1)[1] for t in restored.all_inner_texts()] == questions

    chat.ask("1")
    assert faq_answer(questions[0])[:30] in chat.last("bot")

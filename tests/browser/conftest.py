"""Fixtures for the browser tests: `stdbot serve` as a real process on the sample knowledge base, and
Debian's Chromium driven by Playwright (the web chat in one browser context, the staff console in
another). Without Chromium or Playwright the tests are skipped, unless STDBOT_REQUIRE_BROWSER=1 (CI),
where that is a failure."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
from support.processes import ROOT, SAMPLE, Process, free_port, wait_ready

from bot.store import Store
from bot.web.passwords import hash_password
from config.settings import Settings
from ingest.build import build_knowledge_base

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Response

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REQUIRE_ENV = "STDBOT_REQUIRE_BROWSER"
ARTIFACTS = ROOT / "tests" / "artifacts"
GOLDEN = ROOT / "tests" / "golden" / "sample.jsonl"
ANSWER_TIMEOUT_MS = 30_000
PASSWORD = "correct horse battery"
SESSION_KEY = "stdbot.chat.session"  # where chat.js keeps the session in localStorage
TabT = TypeVar("TabT", bound="Tab")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright 未安装 / playwright is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"没有 {CHROMIUM} / {CHROMIUM} is missing (apt-get install chromium)"
    return None


def browser_required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def require_browser() -> None:
    """Skip when the browser tests cannot run here (a whole module when called at its top); fail instead
    when they are required."""
    reason = browser_missing()
    if reason is None:
        return
    if browser_required():
        pytest.fail(
            f"{reason}; {REQUIRE_ENV}=1 要求运行浏览器测试 / browser tests are required", pytrace=False
        )
    pytest.skip(f"{reason}（设置 {REQUIRE_ENV}=1 时视为失败 / a failure when set）", allow_module_level=True)


@dataclass(frozen=True)
class ServedHotline:
    """A running `stdbot serve` and the database it writes to."""

    url: str
    database_url: str
    process: Process

    def store(self) -> Store:
        """A second connection to the server's database, as another process (the console) would open."""
        return Store(self.database_url)

    def add_account(self, username: str, role: str = "staff", password: str = PASSWORD) -> None:
        """A console account, written to the server's database as `stdbot` commands do."""
        store = self.store()
        try:
            store.staff.add(username, hash_password(password), role)
        finally:
            store.close()


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHotline]:
    """`stdbot serve` on a free port: the sample knowledge base, its own SQLite file, staff hours round the
    clock (so the handoff notice does not depend on when the tests run), the sample golden set gating
    builds from the admin pages."""
    require_browser()  # no time spent starting a server no browser will visit
    root = tmp_path_factory.mktemp("browser")
    data_dir = root / "var"
    report = build_knowledge_base([SAMPLE], Settings(data_dir=data_dir), activate=True)
    assert report.activated and not report.failed
    database_url = f"sqlite:///{root / 'stdbot.db'}"
    config = root / "stdbot.toml"
    config.write_text(
        f"[database]\nurl = {json.dumps(database_url)}\n\n"
        '[handoff]\nhours = "00:00-24:00"\nweekdays = [1, 2, 3, 4, 5, 6, 7]\n\n'
        f"[kb]\ngolden_set = {json.dumps(str(GOLDEN))}\n",
        encoding="utf-8",
    )
    port = free_port()
    serve = ("serve", "--host", "127.0.0.1", "--port", str(port))
    process = Process("--config", str(config), "--data-dir", str(data_dir), *serve)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_ready(url, process)["knowledge_base"] == 1
        yield ServedHotline(url, database_url, process)
    finally:
        if process.popen.poll() is None:
            process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; one per module, a fresh context (own localStorage) per test."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page in a browser context of its own, with what it reported: alert dialogs and script errors."""

    page: Page
    url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def mark_not_reloaded(self) -> None:
        """Mark the page; `not_reloaded` is False once it was reloaded or left."""
        self.page.evaluate("window.stdbotNotReloaded = true")

    def not_reloaded(self) -> bool:
        return self.page.evaluate("window.stdbotNotReloaded === true") is True


@dataclass
class ChatPage(Tab):
    """The web chat in a browser tab."""

    def open(self) -> None:
        self.page.goto(f"{self.url}/chat")
        self.page.locator("#text").wait_for()

    def ask(self, text: str) -> None:
        """Type `text`, send it, and wait until the bot's answer to it is on the page."""
        from playwright.sync_api import expect

        answers = self.page.locator("#log .msg-bot")
        before = answers.count()
        self.page.locator("#text").fill(text)
        self.page.locator("#send").click()
        expect(answers).to_have_count(before + 1, timeout=ANSWER_TIMEOUT_MS)
        expect(self.page.locator("#send")).to_be_enabled()

    def last(self, author: str) -> str:
        """The text of the last message bubble of `author` (user, bot, staff, system)."""
        return self.page.locator(f"#log .msg-{author} .bubble").last.inner_text()

    def session_id(self) -> str:
        """The chat session the page keeps, which is the conversation's chat id on the server."""
        found = self.page.evaluate(f"JSON.parse(localStorage.getItem({SESSION_KEY!r})).session_id")
        assert isinstance(found, str) and found
        return found


@dataclass
class ConsolePage(Tab):
    """The staff console in a browser tab."""

    def log_in(self, username: str, password: str = PASSWORD, *, screenshot: str | None = None) -> None:
        """Log in through the form at /console/login (with `screenshot`, of the filled form); on to the
        queue."""
        from playwright.sync_api import expect

        self.page.goto(f"{self.url}/console/login")
        self.page.locator("input[name=username]").fill(username)
        self.page.locator("input[name=password]").fill(password)
        if screenshot:
            self.screenshot(screenshot)
        self.page.locator("form[action='/console/login'] button[type=submit]").click()
        expect(self.page.locator("#queue")).to_be_visible()


@pytest.fixture
def chat(browser: Browser, hotline: ServedHotline) -> Iterator[ChatPage]:
    """A new browser context on the chat page; fails the test if the page raised a script error."""
    with _tracked(ChatPage(_new_page(browser, 900), hotline.url)) as tab:
        tab.open()
        yield tab


@pytest.fixture
def console(browser: Browser, hotline: ServedHotline) -> Iterator[ConsolePage]:
    """A new browser context for a staff member, not logged in yet; fails the test on a script error."""
    with _tracked(ConsolePage(_new_page(browser, 1100), hotline.url)) as tab:
        yield tab


def _new_page(browser: Browser, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 760}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@contextmanager
def _tracked(tab: TabT) -> Iterator[TabT]:
    """Record the tab's dialogs and errors while the block runs, then close its context and fail on
    any error it reported."""
    page = tab.page

    def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not _expected_console_error(message.text):
            tab.errors.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 400:
            tab.errors.append(f"{response.status} {response.request.method} {response.url}")

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on("console", on_console)
    page.on("response", on_response)
    yield tab
    page.context.close()
    assert not tab.errors, f"script errors on the page: {tab.errors}"


def _expected_console_error(text: str) -> bool:
    """Not a page bug: the event stream cut when the context closes."""
    return bool(re.search(r"net::ERR_ABORTED", text))

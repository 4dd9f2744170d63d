"""Telling staff that a conversation waits for them: a WeCom group robot (markdown) and/or a Telegram chat.

`notify` only queues; a background thread (or `flush` in tests) sends. Each target accepts a limited
number of messages a minute (WeCom: 20): when more alerts wait than the minute's budget allows, several
go out in one message. Failures are logged and retried a few times; they never reach the caller."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

import prompts
from bot.handoff import reason_label
from config.settings import NotifySettings, Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
QUESTION_CHARS = 500
_MARKDOWN_SAFE = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "`": "｀", "#": "＃"})


@dataclass(frozen=True)
class HandoffAlert:
    """One conversation that went to staff."""

    conversation_id: int
    reason: str
    question: str
    attempt: str | None
    channel: str
    user: str
    created_at: datetime
    attempts: int = 0


class Target(Protocol):
    """Somewhere staff read alerts."""

    name: str
    separator: str

    def render(self, alert: HandoffAlert, context: AlertContext) -> str: ...

    def fits(self, text: str) -> bool: ...

    def post(self, client: httpx.Client, text: str) -> str | None:
        """Send `text`; None when it was accepted, else what went wrong."""
        ...


@dataclass(frozen=True)
class AlertContext:
    console_base_url: str
    zone: ZoneInfo
    attempt_chars: int

    def values(self, alert: HandoffAlert, clean: Callable[[str], str]) -> dict[str, object]:
        attempt = _shorten(alert.attempt or "", self.attempt_chars) or prompts.load(
            "handoff_alert_no_attempt"
        )
        return {
            "conversation": alert.conversation_id,
            "reason": reason_label(alert.reason),
            "channel": clean(alert.channel),
            "user": clean(alert.user),
            "time": alert.created_at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M"),
            "question": clean(_shorten(alert.question, QUESTION_CHARS)),
            "attempt": clean(attempt),
            "link": f"{self.console_base_url.rstrip('/')}/console/conversations/{alert.conversation_id}",
        }


class WecomRobot:
    """A WeCom group robot webhook: markdown messages of at most 4096 bytes."""

    name = "wecom"
    separator = "\n\n---\n\n"
    max_bytes = 4096

    def __init__(self, url: str) -> None:
        self.url = url

    def render(self, alert: HandoffAlert, context: AlertContext) -> str:
        text = prompts.render("handoff_alert", **context.values(alert, lambda s: s.translate(_MARKDOWN_SAFE)))
        return _cut_bytes(text, self.max_bytes)

    def fits(self, text: str) -> bool:
        return len(text.encode("utf-8")) <= self.max_bytes

    def post(self, client: httpx.Client, text: str) -> str | None:
        data = _post_json(client, self.url, {"msgtype": "markdown", "markdown": {"content": text}})
        if isinstance(data, str):
            return data
        return None if data.get("errcode") == 0 else f"errcode {data.get('errcode')}: {data.get('errmsg')}"


class TelegramChat:
    """A Telegram chat through the Bot API's sendMessage: plain text of at most 4096 characters."""

    name = "telegram"
    separator = "\n\n————————\n\n"
    max_chars = 4096

    def __init__(self, api_base_url: str, token: str, chat_id: str) -> None:
        self.url = f"{api_base_url.rstrip('/')}/bot{token}/sendMessage"
        self.chat_id = chat_id

    def render(self, alert: HandoffAlert, context: AlertContext) -> str:
        return prompts.render("handoff_alert_text", **context.values(alert, str))[: self.max_chars]

    def fits(self, text: str) -> bool:
        return len(text) <= self.max_chars

    def post(self, client: httpx.Client, text: str) -> str | None:
        body = {"chat_id": self.chat_id, "text": text, "disable_web_page_preview": True}
        data = _post_json(client, self.url, body)
        if isinstance(data, str):
            return data
        return None if data.get("ok") is True else f"{data.get('error_code')}: {data.get('description')}"


class RateBudget:
    """How many more messages a target takes in the current minute (a sliding window)."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: deque[float] = deque()

    def remaining(self) -> int:
        now = self._clock()
        while self._sent and now - self._sent[0] >= 60.0:
            self._sent.popleft()
        return self.per_minute - len(self._sent)

    def spend(self) -> None:
        self._sent.append(self._clock())


class StaffNotifier:
    """Queues handoff alerts and sends them to every configured target within its rate budget."""

    def __init__(
        self,
        settings: NotifySettings,
        *,
        zone: ZoneInfo | None = None,
        clock: Callable[[], float] = time.monotonic,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.context = AlertContext(
            settings.console_base_url, zone or ZoneInfo("Asia/Shanghai"), settings.attempt_chars
        )
        self.targets: list[Target] = []
        if settings.wecom_webhook_url is not None:
            self.targets.append(WecomRobot(settings.wecom_webhook_url.get_secret_value()))
        if settings.telegram_token is not None and settings.telegram_chat_id:
            token = settings.telegram_token.get_secret_value()
            self.targets.append(
                TelegramChat(settings.telegram_api_base_url, token, settings.telegram_chat_id)
            )
        self._pending: dict[str, deque[HandoffAlert]] = {t.name: deque() for t in self.targets}
        self._budgets = {t.name: RateBudget(settings.per_minute, clock) for t in self.targets}
        self._client = httpx.Client(timeout=settings.timeout_s)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.poll_interval_s = poll_interval_s

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffNotifier | None:
        """A notifier for the configured targets; None when none is configured."""
        if not settings.notify.enabled:
            return None
        return cls(settings.notify, zone=ZoneInfo(settings.handoff.timezone))

    def notify(self, alert: HandoffAlert) -> None:
        """Queue `alert` for every target; never raises."""
        with self._lock:
            for queue in self._pending.values():
                queue.append(alert)
        self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._pending.values())

    def flush(self) -> int:
        """Send what the budgets allow now; the number of messages sent."""
        return sum(self._flush_target(target) for target in self.targets)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="stdbot-notify", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread after a last attempt to send what is queued."""
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout_s)
            self._thread = None
        self._client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.poll_interval_s)
            self._wake.clear()
            self._flush_logged()
        self._flush_logged()

    def _flush_logged(self) -> None:
        try:
            self.flush()
        except Exception:  # the notifier thread must survive anything
            log.exception("staff notification failed")

    def _flush_target(self, target: Target) -> int:
        budget = self._budgets[target.name]
        with self._lock:
            alerts = list(self._pending[target.name])
            self._pending[target.name].clear()
        if not alerts:
            return 0
        rendered = [target.render(alert, self.context) for alert in alerts]
        allowed = budget.remaining()
        groups = [[i] for i in range(len(alerts))] if len(alerts) <= allowed else _pack(rendered, target)
        sent, left = 0, list[HandoffAlert]()
        for number, group in enumerate(groups):
            if number >= allowed:
                left = [alerts[i] for g in groups[number:] for i in g]
                break
            budget.spend()
            error = _post_safely(target, self._client, target.separator.join(rendered[i] for i in group))
            if error is None:
                sent += 1
                continue
            log.warning("通知工作人员失败 / staff notification to %s failed: %s", target.name, error)
            failed = [replace(alerts[i], attempts=alerts[i].attempts + 1) for i in group]
            left = [a for a in failed if a.attempts < MAX_ATTEMPTS] + [
                alerts[i] for g in groups[number + 1 :] for i in g
            ]
            if len(failed) > len(left):
                log.error(
                    "已放弃发送 / gave up on alerts for conversations %s", [a.conversation_id for a in failed]
                )
            break
        with self._lock:
            self._pending[target.name].extendleft(reversed(left))
        return sent


def _pack(rendered: Sequence[str], target: Target) -> list[list[int]]:
    """Indices of `rendered` grouped in order into as few messages as the target's size allows."""
    groups: list[list[int]] = []
    for index, text in enumerate(rendered):
        if groups and target.fits(target.separator.join([*(rendered[i] for i in groups[-1]), text])):
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _post_json(client: httpx.Client, url: str, body: dict[str, object]) -> dict[str, object] | str:
    """The JSON object the target answered, or what went wrong."""
    response = client.post(url, json=body)
    if response.status_code >= 400:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        data = response.json()
    except ValueError:
        data = None
    return data if isinstance(data, dict) else f"not a JSON object: {response.text[:200]}"


def _post_safely(target: Target, client: httpx.Client, text: str) -> str | None:
    try:
        return target.post(client, text)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"


def _shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[: limit - 3].decode("utf-8", "ignore") + "…"

"""Telling staff that a conversation waits for them: a WeCom group robot (markdown) and/or a Telegram chat.

`notify` only hands the alert to a background thread (or `flush` in tests), which queues it in the store
at once, one row per target, and sends. The queue and each target's budget are shared by every worker:
a worker sends to a target only while it holds the target's lease, and counts each message in the store
before posting it, so all workers together stay within the target's messages a minute (WeCom: 20). When
more alerts wait than the budget allows, several go out in one message. Failures are logged and retried a
few times; they never reach the caller. Alerts a worker queued and did not send are sent by another.

The targets (WeCom robot, Telegram chat) are small classes kept here beside the queue and budget they serve,
which takes the module a little over 300 lines."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

import prompts
from bot.messages import utcnow
from bot.service.events import HandoffOpened
from bot.service.handoff import reason_label
from bot.service.worker import LoopWorker
from bot.store import HandoffAlert as HandoffAlert
from bot.store import StaffAlertRecord, Store
from config.settings import NotifySettings, Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
QUESTION_CHARS = 500
BUDGET_WINDOW = timedelta(minutes=1)
ALERTS_PER_FLUSH = 200
DONE_RETENTION = timedelta(days=7)
_MARKDOWN_SAFE = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "`": "｀", "#": "＃"})


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


class StaffNotifier:
    """Queues handoff alerts in the store and sends them to every configured target within its budget."""

    def __init__(
        self,
        settings: NotifySettings,
        store: Store,
        *,
        zone: ZoneInfo | None = None,
        clock: Callable[[], datetime] = utcnow,
        poll_interval_s: float = 1.0,
        lease_s: float | None = None,
    ) -> None:
        self.context = AlertContext(
            console_base_url=settings.console_base_url,
            zone=zone or ZoneInfo("Asia/Shanghai"),
            attempt_chars=settings.attempt_chars,
        )
        self.targets: list[Target] = []
        if settings.wecom_webhook_url is not None:
            self.targets.append(WecomRobot(settings.wecom_webhook_url.get_secret_value()))
        if settings.telegram_token is not None and settings.telegram_chat_id:
            token = settings.telegram_token.get_secret_value()
            self.targets.append(
                TelegramChat(settings.telegram_api_base_url, token, settings.telegram_chat_id)
            )
        self.store = store
        self.per_minute = settings.per_minute
        # the lease outlasts one post, which may wait `timeout_s` each to connect, write and read
        self.lease_s = lease_s if lease_s is not None else 4 * settings.timeout_s + 10
        self.holder = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._clock = clock
        self._handed_over: deque[HandoffAlert] = deque()
        self._client = httpx.Client(timeout=settings.timeout_s)
        self._lock = threading.Lock()
        self._worker = LoopWorker("stdbot-notify", self._round, poll_interval_s, last_round=True)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> StaffNotifier | None:
        """A notifier for the configured targets; None when none is configured."""
        if not settings.notify.enabled:
            return None
        return cls(settings.notify, store, zone=ZoneInfo(settings.handoff.timezone))

    def notify(self, alert: HandoffAlert) -> None:
        """Hand `alert` over for every target; never raises and never waits."""
        with self._lock:
            self._handed_over.append(alert)
        self._worker.wake()

    def on_handoff_opened(self, event: HandoffOpened) -> None:
        """The event bus's handler: staff hear of every conversation handed to them."""
        self.notify(
            HandoffAlert(
                conversation_id=event.conversation_id,
                reason=event.reason,
                question=event.question,
                attempt=event.attempt,
                channel=event.channel,
                user=event.user,
                created_at=event.created_at,
            )
        )

    def pending(self) -> int:
        """Alerts not sent yet, counted once per target: this worker's and every other worker's."""
        with self._lock:
            handed_over = len(self._handed_over) * len(self.targets)
        return handed_over + self.store.staff_alerts.count_pending([t.name for t in self.targets])

    def flush(self) -> int:
        """Queue the alerts handed over in the store, then send what the budgets allow now; the number
        of messages this worker sent."""
        self._queue_handed_over()
        return sum(self._flush_target(target) for target in self.targets)

    def start(self) -> None:
        self._worker.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread after a last round: what was handed over is queued, and sent if it can be."""
        self._worker.stop(timeout_s)
        self._client.close()

    def _round(self) -> bool:
        self.flush()
        return False

    def _queue_handed_over(self) -> None:
        """Move the handed-over alerts into the store; what the store refuses stays for the next round."""
        with self._lock:
            alerts = list(self._handed_over)
            self._handed_over.clear()
        names = [target.name for target in self.targets]
        for number, alert in enumerate(alerts):
            try:
                self.store.staff_alerts.add(alert, names, self._clock())
            except BaseException:
                with self._lock:
                    self._handed_over.extendleft(reversed(alerts[number:]))
                raise

    def _flush_target(self, target: Target) -> int:
        status = self.store.staff_alerts.target_status(target.name, self._clock() - BUDGET_WINDOW)
        if status.pending == 0 or status.posts >= self.per_minute:
            return 0
        if not self.store.staff_alerts.take_lease(target.name, self.holder, self._clock(), self.lease_s):
            return 0  # another worker is sending to this target
        try:
            return self._send_queued(target)
        finally:
            self.store.staff_alerts.release_lease(target.name, self.holder)

    def _send_queued(self, target: Target) -> int:
        """Send the target's queued alerts, oldest first: one message each when the budget allows, else
        packed. Stops at the first failure; the rest waits for the next round. Runs under the lease."""
        now = self._clock()
        queued = self.store.staff_alerts.pending(target.name, ALERTS_PER_FLUSH)
        allowed = (
            self.per_minute - self.store.staff_alerts.target_status(target.name, now - BUDGET_WINDOW).posts
        )
        rendered = [target.render(item.alert, self.context) for item in queued]
        groups = [[i] for i in range(len(queued))] if len(queued) <= allowed else _pack(rendered, target)
        sent = 0
        for group in groups[: max(allowed, 0)]:
            if not self.store.staff_alerts.spend_post(target.name, self.holder, self._clock(), self.lease_s):
                log.warning("another worker took over sending to %s", target.name)
                break
            error = _post_safely(target, self._client, target.separator.join(rendered[i] for i in group))
            if error is None:
                self.store.staff_alerts.mark_sent([queued[i].id for i in group], self._clock())
                sent += 1
                continue
            log.warning("通知工作人员失败 / staff notification to %s failed: %s", target.name, error)
            self._count_failure([queued[i] for i in group], error)
            break
        if sent:
            self.store.staff_alerts.purge(now - DONE_RETENTION)
        return sent

    def _count_failure(self, items: Sequence[StaffAlertRecord], error: str) -> None:
        ids = [item.id for item in items]
        given_up = self.store.staff_alerts.mark_failed(ids, error, MAX_ATTEMPTS, self._clock())
        if given_up:
            log.error(
                "已放弃发送 / gave up on alerts for conversations %s",
                [item.alert.conversation_id for item in given_up],
            )


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

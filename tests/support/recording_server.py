"""A local HTTP server that records JSON POSTs and answers with scripted replies, for tests of webhook
clients (WeCom group robot, Telegram Bot API, the 智能机器人's response_url).

    with RecordingServer({"errcode": 0, "errmsg": "ok"}) as server:
        server.script((500, {"error": "down"}))      # the next request gets this, then the default
        ...
        server.requests[0].body
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from support.http_double import LocalHttpServer, Request, Response, json_response


@dataclass(frozen=True)
class Recorded:
    path: str  # with its query string
    body: dict[str, Any]


class RecordingServer(LocalHttpServer):
    def __init__(self, default: dict[str, Any], status: int = 200) -> None:
        super().__init__("recording-server")
        self.default = (status, default)
        self.queue: deque[tuple[int, dict[str, Any]]] = deque()
        self.lock = threading.Lock()
        self.route("POST", ".*", self._reply)

    @property
    def requests(self) -> list[Recorded]:
        return [_recorded(request) for request in self.log]

    def script(self, *replies: tuple[int, dict[str, Any]]) -> None:
        with self.lock:
            self.queue.extend(replies)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Recorded]:
        return [_recorded(request) for request in self.wait_for_requests(count, timeout_s)]

    def _reply(self, request: Request) -> Response:
        with self.lock:
            status, reply = self.queue.popleft() if self.queue else self.default
        return json_response(reply, status)


def _recorded(request: Request) -> Recorded:
    return Recorded(request.target, request.json())

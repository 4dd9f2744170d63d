"""A real local HTTP server that records JSON POSTs and answers with scripted replies, for tests of
webhook clients (WeCom group robot, Telegram Bot API).

    with RecordingServer({"errcode": 0, "errmsg": "ok"}) as server:
        server.script((500, {"error": "down"}))      # the next request gets this, then the default
        ...
        server.requests[0].body
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Recorded:
    path: str
    body: dict[str, Any]


class RecordingServer:
    def __init__(self, default: dict[str, Any], status: int = 200) -> None:
        self.default = (status, default)
        self.queue: deque[tuple[int, dict[str, Any]]] = deque()
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(Recorded(self.path, body))
                    status, reply = server.queue.popleft() if server.queue else server.default
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: tuple[int, dict[str, Any]]) -> None:
        with self.lock:
            self.queue.extend(replies)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        with self.lock:
            return list(self.requests)

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

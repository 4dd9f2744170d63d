"""A real local HTTP server speaking the OpenAI chat-completions protocol, for tests.

It listens on 127.0.0.1 (a free port), answers `POST /v1/chat/completions` and `POST /chat/completions`
with a canned reply, and records every request. Per test it can be told to answer slowly, with an
HTTP error, or with a body that is not JSON:

    server.reply("企业标准应当自我声明公开 [1]。")
    server.reply(delay_s=2.0)            # slower than the client's timeout
    server.reply(status=500)
    server.reply(malformed=True)
    server.script(Reply(status=500), Reply("答案 [1]"))   # one per request, then the default
    server.respond(lambda request: "……")  # a reply written from the request (e.g. its passages)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass(frozen=True)
class Reply:
    """How the server answers one request."""

    content: str = "根据资料 [1]，这是一个测试回答。"
    delay_s: float = 0.0
    status: int = 200
    malformed: bool = False
    respond: Callable[[RecordedRequest], str] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def text(self) -> str:
        """All message contents joined, for asserting what the prompt carried."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


@dataclass
class _State:
    default: Reply = field(default_factory=Reply)
    queue: deque[Reply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class FakeOpenAIServer:
    """The OpenAI chat-completions endpoint, played on 127.0.0.1 with canned replies."""

    def __init__(self) -> None:
        self._state = _State()
        state = self._state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                path = self.path.split("?", 1)[0]
                request = RecordedRequest(path, dict(self.headers.items()), body)
                with state.lock:
                    state.requests.append(request)
                    reply = state.queue.popleft() if state.queue else state.default
                if path not in CHAT_PATHS:
                    self._send(404, {"error": {"message": f"unknown path {path}", "type": "not_found"}})
                    return
                if reply.delay_s and state.stopping.wait(reply.delay_s):
                    return
                if reply.status != 200:
                    error = {"error": {"message": "fake server error", "type": "server_error"}}
                    self._send(reply.status, error)
                elif reply.malformed:
                    self._send_raw(
                        200, b'{"id": "chatcmpl-fake", "choices": [ {"message": ', "application/json"
                    )
                else:
                    content = reply.respond(request) if reply.respond else reply.content
                    self._send(200, _completion(body, content))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_raw(
                    status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json"
                )

            def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The base URL an OpenAI client takes (with /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def reply(
        self, content: str | None = None, *, delay_s: float = 0.0, status: int = 200, malformed: bool = False
    ) -> None:
        """Answer every following request like this (clears any scripted replies)."""
        with self._state.lock:
            base = Reply() if content is None else Reply(content)
            self._state.default = replace(base, delay_s=delay_s, status=status, malformed=malformed)
            self._state.queue.clear()

    def respond(self, write: Callable[[RecordedRequest], str]) -> None:
        """Answer every following request with the text `write` makes of it (clears scripted replies)."""
        with self._state.lock:
            self._state.default = Reply(respond=write)
            self._state.queue.clear()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, one each, then with the default."""
        with self._state.lock:
            self._state.queue.extend(replies)

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _completion(request: dict[str, Any], content: str) -> dict[str, Any]:
    prompt_chars = sum(len(str(m.get("content", ""))) for m in request.get("messages", []))
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_chars,
            "completion_tokens": len(content),
            "total_tokens": prompt_chars + len(content),
        },
    }

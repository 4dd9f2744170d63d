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

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from support.http_double import LocalHttpServer, Request, Response, json_response

CHAT_PATHS = "(/v1)?/chat/completions"
MALFORMED = b'{"id": "chatcmpl-fake", "choices": [ {"message": '


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

    @classmethod
    def of(cls, request: Request) -> RecordedRequest:
        try:
            body = request.json()
        except ValueError:
            body = {"_raw": request.body.decode("utf-8", "replace")}
        return cls(request.path, request.headers, body)


class FakeOpenAIServer(LocalHttpServer):
    """The OpenAI chat-completions endpoint, played on 127.0.0.1 with canned replies."""

    def __init__(self) -> None:
        super().__init__("fake-openai", not_found=_unknown_path)
        self._default = Reply()
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.route("POST", CHAT_PATHS, self._complete)

    @property
    def base_url(self) -> str:
        """The base URL an OpenAI client takes (with /v1)."""
        return f"{self.origin}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        return [RecordedRequest.of(request) for request in self.log]

    def reply(
        self, content: str | None = None, *, delay_s: float = 0.0, status: int = 200, malformed: bool = False
    ) -> None:
        """Answer every following request like this (clears any scripted replies)."""
        base = Reply() if content is None else Reply(content)
        self._answer_with(replace(base, delay_s=delay_s, status=status, malformed=malformed))

    def respond(self, write: Callable[[RecordedRequest], str]) -> None:
        """Answer every following request with the text `write` makes of it (clears scripted replies)."""
        self._answer_with(Reply(respond=write))

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, one each, then with the default."""
        with self._lock:
            self._queue.extend(replies)

    def _answer_with(self, default: Reply) -> None:
        with self._lock:
            self._default = default
            self._queue.clear()

    def _complete(self, request: Request) -> Response | None:
        with self._lock:
            reply = self._queue.popleft() if self._queue else self._default
        if reply.delay_s and not self.pause(reply.delay_s):
            return None
        if reply.status != 200:
            return json_response(
                {"error": {"message": "fake server error", "type": "server_error"}}, reply.status
            )
        if reply.malformed:
            return Response(200, MALFORMED)
        recorded = RecordedRequest.of(request)
        content = reply.respond(recorded) if reply.respond else reply.content
        return json_response(_completion(recorded.body, content))


def _unknown_path(request: Request) -> Response:
    return json_response({"error": {"message": f"unknown path {request.path}", "type": "not_found"}}, 404)


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

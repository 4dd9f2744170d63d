"""The one framework under the local HTTP doubles of the tests: a threaded server on 127.0.0.1 (a free
port) that routes each request by method and path to a handler, logs every request, and runs as a
context manager. Each platform double registers its routes and keeps only its protocol.

    server = LocalHttpServer("fake-api")
    server.route("POST", "/cgi-bin/message/send", lambda request: json_response({"errcode": 0}))
    with server:
        httpx.post(f"{server.base_url}/cgi-bin/message/send", json={"touser": "u"})
        assert server.log[0].json() == {"touser": "u"}
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from support.waiting import settled


@dataclass(frozen=True)
class Request:
    """One request as the double received it; `groups` are what the route's pattern captured."""

    method: str
    target: str  # the path with its query string, as sent
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    groups: tuple[str, ...] = ()

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode("utf-8")).items()}


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


def json_response(payload: Any, status: int = 200) -> Response:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, data, "application/json; charset=utf-8")


Handler = Callable[[Request], Response | None]  # None: hang up without answering


def _not_found(request: Request) -> Response:
    return json_response({"error": f"no route for {request.method} {request.path}"}, 404)


class LocalHttpServer:
    """Routes (method, path pattern matched whole) to handlers, first registered first; logs requests.
    A platform double subclasses it and registers its routes in `__init__`."""

    def __init__(self, name: str = "http-double", not_found: Handler = _not_found) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._not_found = not_found
        self._request_log: list[Request] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern), handler))

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What a client is configured with (a double may add a path)."""
        return self.origin

    @property
    def log(self) -> list[Request]:
        with self._log_lock:
            return list(self._request_log)

    def wait_for_requests(self, count: int, timeout_s: float = 5.0) -> list[Request]:
        """The log once it holds `count` requests, or as it is when time is up."""
        return settled(lambda: self.log, lambda log: len(log) >= count, timeout_s)

    def pause(self, seconds: float) -> bool:
        """Take `seconds` (a slow platform); False when the server stopped meanwhile."""
        return not self._stopping.wait(seconds)

    def dispatch(self, request: Request) -> Response | None:
        with self._log_lock:
            self._request_log.append(request)
        for method, pattern, handler in self._routes:
            if method == request.method and (found := pattern.fullmatch(request.path)):
                return handler(replace(request, groups=tuple(g or "" for g in found.groups())))
        return self._not_found(request)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: LocalHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            url = urlsplit(self.path)
            request = Request(
                method=method,
                target=self.path,
                path=url.path,
                query={key: values[0] for key, values in parse_qs(url.query).items()},
                headers=dict(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
            )
            response = server.dispatch(request)
            if response is None:
                self.close_connection = True
                return
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                pass

    return Handler

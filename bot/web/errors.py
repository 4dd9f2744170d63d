"""Errors of the JSON API as `{"error": "中文 / English"}` with the right status code."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.errors import (
    EdgeRejected,
    KnowledgeBaseError,
    QuestionError,
    StdbotError,
    StoreError,
    StoreUnavailable,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the API refuses, with the message the client shows."""

    def __init__(self, status: int, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


def error_response(status: int, message: str, retry_after_s: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{field or '请求体 body'}: {err.get('msg', '')}")
    return "请求格式有误 / invalid request: " + "; ".join(parts)


_EDGE_TEXT = {400: "bad request", 403: "forbidden", 413: "payload too large", 415: "unsupported media type"}


def install_error_handlers(app: FastAPI) -> None:
    """Turn every refusal and failure into the JSON error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.retry_after_s)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "请求失败 / request failed"
        if exc.status_code == 404:
            message = "找不到该页面 / not found"
        elif exc.status_code == 405:
            message = "不支持该请求方法 / method not allowed"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(EdgeRejected)
    async def _edge(request: Request, exc: EdgeRejected) -> PlainTextResponse:
        client = request.client.host if request.client else "?"
        log.warning("callback refused %s %s from %s: %s", exc.status, request.url.path, client, exc)
        return PlainTextResponse(_EDGE_TEXT.get(exc.status, "refused"), status_code=exc.status)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return error_response(
            503, "服务暂时不可用，请稍后再试 / service temporarily unavailable, try again later"
        )

    @app.exception_handler(KnowledgeBaseError)
    async def _kb_missing(request: Request, exc: KnowledgeBaseError) -> JSONResponse:
        return error_response(503, str(exc))

    @app.exception_handler(QuestionError)
    async def _bad_question(request: Request, exc: QuestionError) -> JSONResponse:
        return error_response(422, str(exc))

    @app.exception_handler(StoreError)
    async def _store_refused(request: Request, exc: StoreError) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(StdbotError)
    async def _stdbot(request: Request, exc: StdbotError) -> JSONResponse:
        log.error("request failed: %s", exc)
        return error_response(500, str(exc))

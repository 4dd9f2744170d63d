"""Probes and metrics: /healthz (the process answers), /readyz (database and knowledge base), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from bot.web.state import services

router = APIRouter(tags=["运维 / operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: bool
    knowledge_base: int | None
    error: str | None = None


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """存活检查 / the process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> JSONResponse:
    """就绪检查：数据库可用且知识库已加载 / ready: the database answers and a knowledge base is loaded."""
    app = services(request)
    database = await run_in_threadpool(app.store.ping)
    version = app.holder.version if app.warmup.done else None
    problems = []
    if not database:
        problems.append("数据库无法连接 / database unavailable")
    if version is None:
        problems.append(app.warmup.problem or "知识库正在加载 / knowledge base loading")
    ready = Readiness(
        status="ready" if not problems else "not ready",
        database=database,
        knowledge_base=version,
        error="; ".join(problems) or None,
    )
    return JSONResponse(ready.model_dump(), status_code=200 if not problems else 503)


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus 指标 / Prometheus metrics."""
    app = services(request)
    return Response(app.metrics.render(), media_type=app.metrics.content_type)

"""The /chat page: server-rendered HTML in Chinese; the page's texts come from prompts/web_chat_*.md."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

import prompts
from bot.web.state import services
from config.errors import SettingsError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

router = APIRouter(include_in_schema=False)


@cache
def page_labels() -> dict[str, str]:
    """The `key = text` lines of prompts/web_chat_labels.md."""
    labels: dict[str, str] = {}
    for number, line in enumerate(prompts.load("web_chat_labels").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, text = line.partition("=")
        if not key.strip().isidentifier():
            raise SettingsError(f"prompts/web_chat_labels.md 第 {number} 行有误 / bad line {number}: {line}")
        labels[key.strip()] = text.strip()
    return labels


@router.get("/chat", response_class=HTMLResponse, name="chat_page")
def chat_page(request: Request) -> HTMLResponse:
    """The consulting page for enterprises, embeddable in an iframe."""
    settings = services(request).settings
    labels = dict(page_labels())
    labels["too_long"] = Template(labels.get("too_long", "")).safe_substitute(
        max=settings.web.max_message_chars
    )
    root = request.scope.get("root_path", "").rstrip("/")
    return TEMPLATES.TemplateResponse(
        request,
        "chat.html",
        {
            "labels": labels,
            "welcome": prompts.load("web_chat_welcome"),
            "notice": prompts.load("web_chat_notice"),
            "api_base": f"{root}/api/chat",
            "static_base": f"{root}/static",
            "max_chars": settings.web.max_message_chars,
        },
    )

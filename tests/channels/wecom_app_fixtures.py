"""Settings, sealers and request helpers shared by the WeCom app and 微信客服 tests."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
from support.web_app import app_settings
from support.wecom_app_platform import QyapiServer, WecomSealer, kf_event_xml, text_message

from config.settings import Settings

CORP_ID = "ww5823bf96d3bd56c7"
AGENT_ID = 1000002
APP_SECRET = "app-secret-0123456789abcdefghijklmnopqrstu"
KF_SECRET = "kf-secret-0123456789abcdefghijklmnopqrstuv"
APP_TOKEN = "AppCallbackToken7"
KF_TOKEN = "KfCallbackToken9"
APP_AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
KF_AES_KEY = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")
OPEN_KFID = "wkAJ2GCAAAsample01"

APP = WecomSealer(APP_TOKEN, APP_AES_KEY, CORP_ID, AGENT_ID)
KF = WecomSealer(KF_TOKEN, KF_AES_KEY, CORP_ID)
APP_ROUTE = "/wecom/app"
KF_ROUTE = "/wechat/kf"
QUESTION = "企业标准需要公开吗？"


def qyapi_server() -> QyapiServer:
    return QyapiServer(CORP_ID, {APP_SECRET, KF_SECRET})


def channel_settings(kb_dir: Path, database_url: str, api_base_url: str, **sections: Any) -> Settings:
    """The sample knowledge base, its own database, staff round the clock, both WeCom channels on."""
    api = {"app_id": CORP_ID, "api_base_url": api_base_url, "timeout_s": 5}
    return app_settings(
        kb_dir,
        database_url,
        wecom_app={
            **api,
            "token": APP_TOKEN,
            "app_secret": APP_SECRET,
            "aes_key": APP_AES_KEY,
            "agent_id": AGENT_ID,
        },
        wechat_kf={**api, "token": KF_TOKEN, "app_secret": KF_SECRET, "aes_key": KF_AES_KEY},
        **sections,
    )


def says(user: str, text: str, msg_id: int, **seal: str) -> tuple[dict[str, str], bytes]:
    """The app's callback when member `user` writes `text`, sealed as WeCom does."""
    return APP.seal(text_message(CORP_ID, user, text, msg_id, AGENT_ID), **seal)


def pull(token: str, open_kfid: str = OPEN_KFID) -> tuple[dict[str, str], bytes]:
    """The 微信客服 callback WeCom sends when there is something to pull."""
    return KF.seal(kf_event_xml(CORP_ID, token, open_kfid))


def deliver(client: Any, route: str, sealed: tuple[dict[str, str], bytes]) -> httpx.Response:
    """POST a sealed callback as WeCom does (query + XML body); `client` is a TestClient or httpx.Client."""
    query, body = sealed
    response: httpx.Response = client.post(
        route, params=query, content=body, headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    return response

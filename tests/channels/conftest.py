"""The platform APIs the channel tests talk to, each played by a local server for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from channels.wechat_mp_fixtures import APP_ID, APP_SECRET
from channels.wecom_app_fixtures import qyapi_server
from support.recording_server import RecordingServer
from support.wechat_platform import WechatApiServer
from support.wecom_app_platform import QyapiServer


@pytest.fixture
def wechat_api() -> Iterator[WechatApiServer]:
    """api.weixin.qq.com for the Official Account of wechat_mp_fixtures."""
    with WechatApiServer(APP_ID, APP_SECRET) as server:
        yield server


@pytest.fixture
def qyapi() -> Iterator[QyapiServer]:
    """qyapi.weixin.qq.com for the WeCom app and 微信客服 of wecom_app_fixtures."""
    with qyapi_server() as server:
        yield server


@pytest.fixture
def response_url() -> Iterator[RecordingServer]:
    """The 智能机器人's response_url endpoint (the bot's api_base_url points here)."""
    with RecordingServer({"errcode": 0, "errmsg": "ok"}) as server:
        yield server

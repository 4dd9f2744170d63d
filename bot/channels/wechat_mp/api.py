"""The Official Account's platform API as the outbox needs it: one access_token for every worker and the
customer-service message API (`message/custom/send`), with the platform's refusals turned into
DeliveryResults staff can read."""

from __future__ import annotations

import logging
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.channels._tokens import KeyedLock, StoreSessionStorage, fetch_once
from bot.messages import DeliveryResult
from bot.store import Store
from config.settings import WechatSettings

log = logging.getLogger(__name__)

TOKEN_NAMESPACE = "wechat"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid, malformed, expired access_token

# Refusals that sending again cannot fix; staff read these in the outbox failures.
FINAL_ERRORS: dict[int, str] = {
    45015: (
        "超出 48 小时客服消息时限：用户 48 小时内没有给公众号发消息，无法再主动回复，请等用户再次留言 / "
        "outside the 48-hour customer-service window: the user has not written to the account for 48 hours; "
        "a reply is possible again once the user writes"
    ),
    45047: (
        "客服消息已达上限：用户回复前最多只能连续下发 5 条消息，请等用户再次留言 / "
        "customer-service message limit reached: at most 5 messages until the user writes again"
    ),
    43004: "用户未关注公众号，无法下发消息 / the user does not follow the account",
    40003: "用户 OpenID 无效，或不属于本公众号 / invalid OpenID, or not a user of this account",
    48001: (
        "公众号没有客服消息接口权限（需为已认证的服务号或订阅号）/ "
        "the account may not use the customer-service API (it must be verified)"
    ),
    45002: "消息内容超过平台长度限制 / the message is longer than the platform accepts",
}


class SharedTokenClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with the access_token kept in the store for every worker: fetched at most once
    (under a cross-process lock), through the configured API base URL (a fixed-IP proxy), with a timeout."""

    def __init__(self, settings: WechatSettings, store: Store, locks: KeyedLock) -> None:
        assert settings.app_id and settings.app_secret is not None
        super().__init__(
            settings.app_id,
            settings.app_secret.get_secret_value(),
            session=StoreSessionStorage(store, TOKEN_NAMESPACE),
            timeout=settings.timeout_s,
            auto_retry=False,
        )
        self.API_BASE_URL = f"{settings.api_base_url.rstrip('/')}/cgi-bin/"
        self._locks = locks

    def fetch_access_token(self) -> dict[str, Any] | None:
        """A new token, unless another worker stored one while this one waited for the lock."""
        result: dict[str, Any] | None = fetch_once(
            self._locks, self.session, self.access_token_key, self._fetch_new_token
        )
        return result

    def invalidate(self, token: str) -> None:
        """Forget `token` after the platform refused it, unless another worker already replaced it."""
        with self._locks.hold(f"access-token:{self.access_token_key}"):
            if self.session.get(self.access_token_key) == token:
                self.session.delete(self.access_token_key)

    def _fetch_new_token(self) -> dict[str, Any]:
        log.info("fetching a new WeChat access_token for %s", self.appid)
        response = self._http.get(
            f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        try:
            response.raise_for_status()
            result: dict[str, Any] = response.json()
        except (requests.RequestException, ValueError):
            raise WeChatClientException(None, f"HTTP {response.status_code}", client=self) from None
        if result.get("errcode") or not result.get("access_token"):
            raise WeChatClientException(result.get("errcode"), result.get("errmsg"), client=self)
        self.session.set(self.access_token_key, result["access_token"], int(result.get("expires_in", 7200)))
        return result


class CustomMessages:
    """Text through `message/custom/send`; a refused token is forgotten and the send tried once more."""

    def __init__(self, client: SharedTokenClient) -> None:
        self.client = client

    def send_text(self, openid: str, text: str) -> DeliveryResult:
        for attempt in (1, 2):
            try:
                token = self.client.access_token
            except WeChatClientException as exc:
                return DeliveryResult(ok=False, error=_token_error(exc))
            except requests.RequestException as exc:
                return DeliveryResult(ok=False, error=_network_error("token", exc))
            payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
            try:
                self.client.post("message/custom/send", params={"access_token": token}, data=payload)
            except WeChatClientException as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    log.info("access_token refused (%s), fetching a new one", exc.errcode)
                    self.client.invalidate(token)
                    continue
                return _refused(exc)
            except requests.RequestException as exc:
                return DeliveryResult(ok=False, error=_network_error("message/custom/send", exc))
            return DeliveryResult(ok=True)
        raise AssertionError("unreachable")


def _refused(exc: WeChatClientException) -> DeliveryResult:
    code = exc.errcode
    if code in FINAL_ERRORS:
        return DeliveryResult(ok=False, retryable=False, error=f"{FINAL_ERRORS[code]} ({code} {exc.errmsg})")
    if code is None:
        status = exc.response.status_code if exc.response is not None else "?"
        return DeliveryResult(ok=False, error=f"微信接口 HTTP 错误 / WeChat API HTTP error {status}")
    return DeliveryResult(ok=False, error=f"微信接口拒绝 / WeChat API refused: {code} {exc.errmsg}")


def _token_error(exc: WeChatClientException) -> str:
    hint = ""
    if exc.errcode in (40164, 61004):
        hint = "（服务器 IP 不在公众号 IP 白名单中 / this server's IP is not on the account's IP whitelist）"
    elif exc.errcode in (40001, 40013, 40125):
        hint = "（请检查 AppID 与 AppSecret / check AppID and AppSecret）"
    return f"获取 access_token 失败 / could not get an access_token: {exc.errcode} {exc.errmsg}{hint}"


def _network_error(call: str, exc: requests.RequestException) -> str:
    return f"无法连接微信接口 / WeChat API unreachable ({call}): {type(exc).__name__}: {exc}"

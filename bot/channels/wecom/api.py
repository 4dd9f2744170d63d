"""The WeCom server API (qyapi.weixin.qq.com) as the self-built app and 微信客服 use it.

`QyapiClient` is wechatpy.enterprise's WeChatClient with one access token for every worker (kept in the
store, fetched once under a cross-process lock), a timeout on every call including gettoken, the API base
URL from settings (a fixed-IP proxy), and a rejected token (40014/42001) forgotten and the call made once
more with a fresh one. `delivery_failure` turns what went wrong into a DeliveryResult staff can read;
`deliver_pieces` sends a long reply in pieces and, when the outbox retries, only the pieces not yet sent."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.channels._tokens import KeyedLock, StoreSessionStorage, fetch_once
from bot.messages import DeliveryResult
from bot.service.sent_pieces import SentPieces
from bot.store import Store
from config.errors import SettingsError
from config.settings import PlatformSettings

log = logging.getLogger(__name__)

TOKEN_REJECTED = frozenset({40014, 42001})  # invalid / expired access_token: refetch once
TRANSIENT = frozenset({-1, 6000, 45009, 45033})  # busy, data version conflict, frequency limits

Explanation = tuple[str, str]  # (中文, English)

# Codes retrying cannot fix, with what staff should do about them.
PERMANENT: dict[int, Explanation] = {
    40001: ("Secret 不正确，请核对设置中的 app_secret", "wrong Secret: check app_secret in the settings"),
    40003: ("无效的 UserID，该用户可能已离开企业", "invalid UserID: the member may have left the company"),
    40013: ("CorpID 不正确，请核对设置中的 app_id", "wrong CorpID: check app_id in the settings"),
    40056: ("AgentId 不正确，请核对设置中的 agent_id", "wrong AgentId: check agent_id in the settings"),
    48002: ("应用没有调用该接口的权限", "the app may not call this API"),
    60020: (
        "本服务器的出口 IP 不在应用的“企业可信IP”中，请在管理后台添加",
        "this server's outgoing IP is not among the app's trusted IPs; add it on the admin console",
    ),
    81013: (
        "该成员不在应用的可见范围内，请在管理后台调整可见范围",
        "the member is outside the app's visible range; widen it on the admin console",
    ),
    82001: ("收件人全部无效（不存在或不在可见范围内）", "no recipient is valid (unknown or not visible)"),
}


class QyapiClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's WeCom client sharing one access token with every worker through the store."""

    expires_at: int | None

    def __init__(self, settings: PlatformSettings, store: Store, locks: KeyedLock, namespace: str) -> None:
        if not (settings.app_id and settings.app_secret):
            raise SettingsError(f"{namespace}: 需要 app_id 与 app_secret / app_id and app_secret required")
        secret = settings.app_secret.get_secret_value()
        super().__init__(
            settings.app_id,
            secret,
            session=StoreSessionStorage(store, namespace),
            timeout=settings.timeout_s,
            auto_retry=False,
        )
        self.base_url = settings.api_base_url.rstrip("/")
        self.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        self._locks = locks
        self._secret_tag = hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]

    @property
    def access_token_key(self) -> str:
        """Per CorpID and Secret (a hash of it: no part of the secret goes into the store)."""
        return f"{self.corp_id}_{self._secret_tag}_access_token"

    def fetch_access_token(self) -> dict[str, Any] | None:
        """A new token from gettoken, unless another worker stored one while this one waited."""
        return fetch_once(self._locks, self.session, self.access_token_key, self._fetch_from_platform)

    def forget_token(self, rejected: str) -> None:
        """Drop a token the platform refused, unless another worker has already replaced it."""
        with self._locks.hold(f"access-token:{self.access_token_key}"):
            if self.session.get(self.access_token_key) == rejected:
                self.session.delete(self.access_token_key)
        self.expires_at = None

    def _fetch_from_platform(self) -> dict[str, Any]:
        log.info("fetching a WeCom access token for %s", self.corp_id)
        response = self._http.get(
            f"{self.base_url}/cgi-bin/gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        try:
            response.raise_for_status()
            result: dict[str, Any] = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(None, f"gettoken: {exc}", client=self, response=response) from None
        if int(result.get("errcode", 0)) != 0 or not result.get("access_token"):
            errcode = int(result.get("errcode", -1))
            raise WeChatClientException(errcode, result.get("errmsg", ""), client=self, response=response)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        params = dict(kwargs.pop("params", None) or {})
        token = str(self.access_token)
        call = super()._request
        try:
            return call(method, url_or_endpoint, params={**params, "access_token": token}, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_REJECTED:
                raise
            log.info("WeCom refused the access token (%s); fetching another once", exc.errcode)
        self.forget_token(token)
        fresh = str(self.access_token)
        return call(method, url_or_endpoint, params={**params, "access_token": fresh}, **kwargs)


def delivery_failure(exc: Exception, permanent: Mapping[int, Explanation] = PERMANENT) -> DeliveryResult:
    """What a failed API call means for the outbox and for staff reading the failed delivery."""
    if isinstance(exc, WeChatClientException):
        code = exc.errcode
        detail = str(exc.errmsg or "")[:300]
        if code is None:
            return DeliveryResult(
                ok=False, error=f"企业微信接口暂时无法访问 / WeCom API unreachable: {detail}", retryable=True
            )
        if code in permanent:
            chinese, english = permanent[code]
            return DeliveryResult(
                ok=False,
                error=f"{chinese}（企业微信错误码 {code}）/ {english} (WeCom error {code}): {detail}",
                retryable=False,
            )
        transient = code in TRANSIENT
        note = "稍后重试 / will retry" if transient else "原因不明，稍后重试 / unexpected, will retry"
        error = f"企业微信返回错误码 {code}，{note} / WeCom error {code}: {detail}"
        return DeliveryResult(ok=False, error=error, retryable=True)
    if isinstance(exc, requests.RequestException):
        return DeliveryResult(
            ok=False,
            error=f"连接企业微信失败，稍后重试 / cannot reach WeCom, will retry: {type(exc).__name__}: {exc}",
            retryable=True,
        )
    raise exc


def deliver_pieces(
    message_id: int | None,
    pieces: Sequence[str],
    send_one: Callable[[str], str | None],
    ledger: SentPieces,
    failure: Callable[[Exception], DeliveryResult] = delivery_failure,
) -> DeliveryResult:
    """Send `pieces` in order through `send_one` (which returns the platform's message id), starting after
    those a previous attempt already delivered."""
    if not pieces:
        return DeliveryResult(ok=False, error="回复为空 / the reply is empty", retryable=False)
    several = len(pieces) > 1
    start = ledger.count(message_id) if several else 0
    ids: list[str] = []
    for index in range(start, len(pieces)):
        try:
            platform_id = send_one(pieces[index])
        except (WeChatClientException, requests.RequestException) as exc:
            result = failure(exc)
            if index > 0:
                sent = f"已发送 {index}/{len(pieces)} 段 / {index} of {len(pieces)} pieces sent; "
                result = DeliveryResult(
                    ok=False,
                    platform_message_id=None,
                    error=sent + (result.error or ""),
                    retryable=result.retryable,
                )
            return result
        if platform_id:
            ids.append(platform_id)
        if several and index + 1 < len(pieces):
            ledger.note(message_id, index + 1)
    if several:
        ledger.forget(message_id)
    return DeliveryResult(ok=True, platform_message_id=",".join(ids)[:200] or None)

"""Replies to 微信客服 customers through `kf/send_msg` (wechatpy's HTTP client: 1.8 has no kf module),
split under the platform's limit. The chat id carries both the kf account and the customer,
"<open_kfid>:<external_userid>"."""

from __future__ import annotations

from wechatpy.exceptions import WeChatClientException

from bot.channels._text import plain_text, split_text, utf8_fits
from bot.channels.wecom.api import PERMANENT, Explanation, QyapiClient, deliver_pieces, delivery_failure
from bot.messages import DeliveryResult, Reply
from bot.service.sent_pieces import SentPieces

CHANNEL = "wechat_kf"
TEXT_LIMIT_BYTES = 2000  # kf/send_msg takes at most 2048 bytes of text

WINDOW: Explanation = (
    "微信客服已不接受接口发送：用户最后一条消息后 48 小时内最多发 5 条，会话须处于“待处理”或“智能助手接待”"
    "状态（已转接待人员或会话已结束时不可发）；请等用户再次发消息",
    "微信客服 no longer takes API messages for this user: at most 5 within 48 hours of the user's last "
    "message, while the session is new or with the API (not taken over by a servicer, not ended); wait for "
    "the user to write again",
)
KF_PERMANENT: dict[int, Explanation] = {
    **PERMANENT,
    95011: (
        "该客服帐号由企业微信直接使用，请在管理后台改为“通过API管理”",
        "this kf account is used in the WeCom app, not managed through the API: change it on the console",
    ),
}


def chat_id(open_kfid: str, external_userid: str) -> str:
    return f"{open_kfid}:{external_userid}"


def split_chat_id(value: str) -> tuple[str, str]:
    """(open_kfid, external_userid) of a chat id; ValueError when it is not one."""
    open_kfid, _, external_userid = value.partition(":")
    if not open_kfid or not external_userid:
        raise ValueError(f"not a 微信客服 chat id: {value!r}")
    return open_kfid, external_userid


def kf_failure(exc: Exception) -> DeliveryResult:
    """delivery_failure with 微信客服's own codes: the 950xx family (session state, the 48-hour and
    5-message limits) cannot be fixed by retrying."""
    code = exc.errcode if isinstance(exc, WeChatClientException) else None
    if isinstance(code, int) and 95000 <= code < 95100 and code not in KF_PERMANENT:
        return delivery_failure(exc, {**KF_PERMANENT, code: WINDOW})
    return delivery_failure(exc, KF_PERMANENT)


class WechatKfChannel:
    """Sends replies to 微信客服 customers as text, split under the platform's limit."""

    name = CHANNEL

    def __init__(self, client: QyapiClient, sent: SentPieces) -> None:
        self.client = client
        self.sent = sent

    def send(self, reply: Reply) -> DeliveryResult:
        try:
            open_kfid, external_userid = split_chat_id(reply.chat_id)
        except ValueError as exc:
            return DeliveryResult(ok=False, error=f"会话标识无效 / bad chat id: {exc}", retryable=False)
        pieces = split_text(plain_text(reply), utf8_fits(TEXT_LIMIT_BYTES))

        def send_one(piece: str) -> str | None:
            text = {"content": piece}
            data = {"touser": external_userid, "open_kfid": open_kfid, "msgtype": "text", "text": text}
            msgid = self.client.post("kf/send_msg", data=data).get("msgid")
            return str(msgid) if msgid else None

        return deliver_pieces(reply.message_id, pieces, send_one, self.sent, kf_failure)

"""Channels: where users write from and where replies go back.

One package per platform, each with the same module names: inbound (the callback routes), sender (the
channel the outbox delivers through), and beside them what the platform needs (api, crypto…); each
package's `platform` builds it from a PlatformContext (see platforms). wechat_mp is the Official Account,
wecom the WeCom self-built app (wecom.app) and 微信客服 (wecom.kf), wecom_bot the WeCom 智能机器人,
telegram the Telegram bot; webchat is the web chat. Modules starting with an underscore are shared
internals: _edge (checks every callback passes), _text (replies as plain text, in pieces), _workers
(background work of callbacks), _tokens (one access token for every worker)."""

"""WeCom (企业微信) channels that share the signed, encrypted XML callback (callback) and the server API
(api): the self-built app (app) and 微信客服 (kf), which WeChat users reach through WeCom's API."""

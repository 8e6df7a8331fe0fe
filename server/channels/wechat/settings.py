"""The WeChat channel's configuration: each key from its credentials.yml section, else its
WECHAT_* variable (read with the others in core/settings.py). Without a token the channel
answers 503 saying what to set; the rest of the server runs."""

import re
from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"
DEFAULT_PASSIVE_TIMEOUT = 4.5
# WeChat drops the connection after 5 s and retries the message up to 3 times.
WECHAT_WAIT_SECONDS = 5.0

NOT_CONFIGURED = (
    "微信公众号渠道未启用：请设置环境变量 WECHAT_TOKEN（安全模式另需 WECHAT_MODE=safe、"
    "WECHAT_AES_KEY、WECHAT_APPID；超时后补发回复需 WECHAT_APPID 和 WECHAT_SECRET）。"
    " WeChat channel disabled: set WECHAT_TOKEN (safe mode also WECHAT_MODE=safe,"
    " WECHAT_AES_KEY and WECHAT_APPID; late replies need WECHAT_APPID and WECHAT_SECRET)."
)
_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")


# credentials.yml key -> the environment variable it falls back to.
ENV_VARIABLES = {
    "token": "WECHAT_TOKEN",
    "appid": "WECHAT_APPID",
    "secret": "WECHAT_SECRET",
    "encoding_aes_key": "WECHAT_AES_KEY",
    "mode": "WECHAT_MODE",
    "api_base_url": "WECHAT_API_BASE_URL",
    "passive_timeout": "WECHAT_PASSIVE_TIMEOUT",
}


class WeChatConfigError(ValueError):
    """The channel cannot run with this configuration; the message says what to set."""


@dataclass(frozen=True)
class WeChatSettings:
    token: str
    appid: str = ""
    secret: str = ""
    encoding_aes_key: str = ""
    mode: str = "plain"
    api_base_url: str = DEFAULT_API_BASE_URL
    passive_timeout: float = DEFAULT_PASSIVE_TIMEOUT

    @property
    def safe_mode(self) -> bool:
        return self.mode == "safe"

    @property
    def can_send_later(self) -> bool:
        return bool(self.appid and self.secret)

    @classmethod
    def load(cls, credentials: Mapping[str, Any], env: Mapping[str, str]) -> "WeChatSettings":
        """Each key from the credentials.yml section, else its environment variable."""
        raw = {
            key: str(credentials.get(key) or env.get(variable) or "").strip()
            for key, variable in ENV_VARIABLES.items()
        }
        if not raw["token"]:
            raise WeChatConfigError(NOT_CONFIGURED)
        mode = (raw["mode"] or "plain").lower()
        if mode not in ("plain", "safe"):
            raise WeChatConfigError(
                f"WECHAT_MODE 只能是 plain 或 safe / WECHAT_MODE must be plain or safe: {mode!r}"
            )
        if mode == "safe" and not (_AES_KEY.fullmatch(raw["encoding_aes_key"]) and raw["appid"]):
            raise WeChatConfigError(
                "安全模式需要 WECHAT_AES_KEY（43位 EncodingAESKey）和 WECHAT_APPID /"
                " safe mode needs WECHAT_AES_KEY (the 43-character EncodingAESKey) and WECHAT_APPID"
            )
        try:
            passive_timeout = float(raw["passive_timeout"] or DEFAULT_PASSIVE_TIMEOUT)
        except ValueError:
            passive_timeout = -1.0
        if not 0 <= passive_timeout < WECHAT_WAIT_SECONDS:
            raise WeChatConfigError(
                "WECHAT_PASSIVE_TIMEOUT 必须是 0 到 5 之间的秒数（微信只等 5 秒）/"
                " WECHAT_PASSIVE_TIMEOUT must be seconds in [0, 5): WeChat waits 5 s"
            )
        api_base_url = (raw["api_base_url"] or DEFAULT_API_BASE_URL).rstrip("/")
        if not api_base_url.startswith(("https://", "http://")):
            raise WeChatConfigError(
                f"WECHAT_API_BASE_URL 必须是 http(s) 地址 / must be an http(s) URL: {api_base_url!r}"
            )
        return cls(
            token=raw["token"],
            appid=raw["appid"],
            secret=raw["secret"],
            encoding_aes_key=raw["encoding_aes_key"],
            mode=mode,
            api_base_url=api_base_url,
            passive_timeout=passive_timeout,
        )



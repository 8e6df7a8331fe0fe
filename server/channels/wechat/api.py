"""WeChat's customer-service message API (客服消息): answers that missed the passive
reply window, or did not fit one reply, are sent through it."""

import asyncio
import json
import time
from typing import Callable, List, Optional

import aiohttp
from wechatpy.exceptions import WeChatClientException

# The customer-service API's "access token invalid / expired / not valid": refresh once.
TOKEN_REJECTED_ERRCODES = {40001, 40014, 42001}
TOKEN_REFRESH_MARGIN_SECONDS = 300
API_TIMEOUT_SECONDS = 10


class CustomerServiceApi:
    """Sends text through WeChat's customer-service API (客服消息), for answers that were
    not ready in time or did not fit one reply. The access token is cached until shortly
    before it expires and refreshed once when WeChat says it is invalid."""

    def __init__(
        self, base_url: str, appid: str, secret: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._base_url = base_url
        self._appid = appid
        self._secret = secret
        self._clock = clock
        self._token: Optional[str] = None
        self._token_good_until = 0.0
        self._token_lock = asyncio.Lock()  # concurrent deliveries fetch one token, not many

    async def send_texts(self, openid: str, texts: List[str]) -> None:
        timeout = aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for text in texts:
                await self._send_text(session, openid, text)

    async def _send_text(self, session: aiohttp.ClientSession, openid: str, text: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        for first_try in (True, False):
            token = await self._access_token(session)
            async with session.post(
                f"{self._base_url}/cgi-bin/message/custom/send",
                params={"access_token": token},
                # Raw UTF-8: WeChat shows \\uXXXX escapes literally.
                data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
            ) as reply:
                result = await reply.json(content_type=None)
            errcode = result.get("errcode", 0)
            if errcode == 0:
                return
            if first_try and errcode in TOKEN_REJECTED_ERRCODES:
                self._forget(token)
                continue
            raise WeChatClientException(errcode, result.get("errmsg", ""))

    async def _access_token(self, session: aiohttp.ClientSession) -> str:
        async with self._token_lock:
            if self._token and self._clock() < self._token_good_until:
                return self._token
            params = {"grant_type": "client_credential", "appid": self._appid,
                      "secret": self._secret}
            async with session.get(f"{self._base_url}/cgi-bin/token", params=params) as reply:
                result = await reply.json(content_type=None)
            if not result.get("access_token"):
                raise WeChatClientException(result.get("errcode", -1), result.get("errmsg", ""))
            expires_in = float(result.get("expires_in", 7200))
            self._token = result["access_token"]
            self._token_good_until = self._clock() + max(
                expires_in - TOKEN_REFRESH_MARGIN_SECONDS, expires_in / 2
            )
            return self._token

    async def fetch_media(self, media_id: str, max_bytes: int) -> bytes:
        """A temporary media file (the picture of an image message) through
        GET /cgi-bin/media/get, read into memory only. Refreshes a rejected token once;
        WeChatClientException for an error answer, ValueError for a file over
        `max_bytes` (read no further than that)."""
        timeout = aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for first_try in (True, False):
                token = await self._access_token(session)
                async with session.get(
                    f"{self._base_url}/cgi-bin/media/get",
                    params={"access_token": token, "media_id": media_id},
                ) as reply:
                    kind = reply.headers.get("Content-Type", "")
                    if reply.status == 200 and not kind.startswith(("application/json", "text/")):
                        data = bytearray()
                        async for chunk in reply.content.iter_chunked(64 * 1024):
                            data += chunk
                            if len(data) > max_bytes:
                                raise ValueError(f"media over {max_bytes} bytes")
                        return bytes(data)
                    result = await reply.json(content_type=None)
                errcode = result.get("errcode", -1)
                if first_try and errcode in TOKEN_REJECTED_ERRCODES:
                    self._forget(token)
                    continue
                raise WeChatClientException(errcode, result.get("errmsg", ""))
        raise WeChatClientException(-1, "unreachable")

    def _forget(self, token: str) -> None:
        # Only the rejected token: another delivery may already have fetched a new one.
        if self._token == token:
            self._token = None



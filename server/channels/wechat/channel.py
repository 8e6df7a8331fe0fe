"""WeChat official account (公众号) channel on wechatpy: /webhooks/wechat/webhook.

GET  ?signature&timestamp&nonce&echostr    URL verification: answers echostr.
POST ?signature&timestamp&nonce[&encrypt_type=aes&msg_signature]   a message as XML.

Every request is signed (compared in constant time) and carries a timestamp within five
minutes of now, so a captured request cannot be replayed later. A text (or recognised
voice) message goes to the assistant; the answer is the passive reply when it is ready
within `passive_timeout` seconds, otherwise `success` at once and the answer later through
the customer-service message API. Each turn goes through server/guard/turns.py (masking, rate
limit per OpenID, safe reply). Configuration: WeChatSettings.load.
"""

import asyncio
import hmac
import json
import logging
import os
import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from struct import error as StructError
from typing import (
    Any, Awaitable, Callable, Dict, Generic, List, Mapping, Optional, Set, Tuple, TypeVar,
)
from xml.parsers.expat import ExpatError

import aiohttp
import xmltodict
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatClientException, WeChatException
from wechatpy.messages import BaseMessage
from wechatpy.replies import create_reply
from wechatpy.utils import WeChatSigner

from core.settings import Bank, bank_from_env
from server.guard.turns import (
    RequestLimits, TurnGuard, body_too_large, reply_timeout_from_env, shared_limits,
    too_fast_message,
)

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"
DEFAULT_PASSIVE_TIMEOUT = 4.5
# WeChat drops the connection after 5 s and retries the message up to 3 times.
WECHAT_WAIT_SECONDS = 5.0
MAX_CLOCK_SKEW_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
TEXT_LIMIT_BYTES = 2048
PASSIVE_HEAD_START_SECONDS = 1.0
MAX_OPENID_CHARS = 128
# A retry of a message arrives within ~15 s; a replay after 5 minutes fails the timestamp.
TURN_MEMORY_SECONDS = MAX_CLOCK_SKEW_SECONDS
# As long as Rasa's session (domain.yml session_expiration_time: 60 minutes).
BUTTON_MEMORY_SECONDS = 3600
MAX_REMEMBERED = 10_000
# The customer-service API's "access token invalid / expired / not valid": refresh once.
TOKEN_REJECTED_ERRCODES = {40001, 40014, 42001}
TOKEN_REFRESH_MARGIN_SECONDS = 300
API_TIMEOUT_SECONDS = 10

SUCCESS = "success"  # tells WeChat "received, nothing to show" (no retry, no error shown)

NOT_CONFIGURED = (
    "微信公众号渠道未启用：请设置环境变量 WECHAT_TOKEN（安全模式另需 WECHAT_MODE=safe、"
    "WECHAT_AES_KEY、WECHAT_APPID；超时后补发回复需 WECHAT_APPID 和 WECHAT_SECRET）。"
    " WeChat channel disabled: set WECHAT_TOKEN (safe mode also WECHAT_MODE=safe,"
    " WECHAT_AES_KEY and WECHAT_APPID; late replies need WECHAT_APPID and WECHAT_SECRET)."
)
PLEASE_TYPE = (
    "我暂时只能看懂文字。请直接打字告诉我发生了什么：对方说自己是谁、让您做什么。"
    "收到可疑短信的话，把短信内容复制发给我就行。"
)
VOICE_NOT_RECOGNISED = "这段语音我没听清。请打字告诉我发生了什么：对方说自己是谁、让您做什么。"

_FORBIDDEN_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")
_BUTTON_CHOICE = re.compile(r"[0-9]{1,2}")


# --- pure helpers ---------------------------------------------------------------------


def wechat_signature(*parts: str) -> str:
    """WeChat's signature: SHA1 of the sorted parts (token, timestamp, nonce[, Encrypt])."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signature_matches(given: str, *parts: str) -> bool:
    """Constant-time check; wechatpy's check_signature compares with `!=`, which leaks timing."""
    expected = wechat_signature(*parts)
    return hmac.compare_digest(expected.encode("ascii"), (given or "").encode("utf-8"))


def timestamp_is_fresh(timestamp: str, now: float) -> bool:
    """Within five minutes of now either way; the signature alone would never expire."""
    if not re.fullmatch(r"[0-9]{1,12}", timestamp or ""):
        return False
    return abs(int(timestamp) - now) <= MAX_CLOCK_SKEW_SECONDS


def split_for_wechat(text: str, limit: int = TEXT_LIMIT_BYTES) -> List[str]:
    """`text` in parts of at most `limit` UTF-8 bytes, cut at a line break where possible,
    otherwise between characters."""
    parts = []
    rest = text.strip()
    while len(rest.encode("utf-8")) > limit:
        # Dropping the bytes of a character cut in half leaves the longest fitting prefix.
        head = rest.encode("utf-8")[:limit].decode("utf-8", "ignore")
        line_break = head.rfind("\n")
        if line_break > 0:
            head = head[:line_break]
        parts.append(head.rstrip())
        rest = rest[len(head):].lstrip()
    if rest:
        parts.append(rest)
    return parts


def render_messages(bot_messages: List[Dict[str, Any]]) -> Tuple[str, List[Dict[str, Any]]]:
    """WeChat shows plain text: the bot's texts joined by blank lines, each message's
    buttons as numbered options after it. Custom payloads are for widgets and are left
    out (the text carries the same content). Returns the text and the buttons by number."""
    blocks, buttons = [], []
    for message in bot_messages:
        if message.get("text"):
            blocks.append(message["text"].strip())
        options = []
        for button in message.get("buttons") or []:
            if button.get("title") and button.get("payload"):
                buttons.append(button)
                options.append(f"回复 {len(buttons)}：{button['title']}")
        if options:
            blocks.append("\n".join(options))
    return "\n\n".join(block for block in blocks if block), buttons


def chosen_button(text: str, buttons: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The button a reply like "1", "１" or " 1 " picks from the last options shown."""
    choice = unicodedata.normalize("NFKC", text or "").strip()
    if _BUTTON_CHOICE.fullmatch(choice) and 1 <= int(choice) <= len(buttons):
        return buttons[int(choice) - 1]
    return None


def welcome_text(bank: Bank) -> str:
    """What a new follower reads first: what to send, and what to do in an emergency."""
    return (
        f"您好，这里是{bank.name}反诈助手。\n"
        "把可疑电话或短信的内容发给我，我马上告诉您是不是诈骗、该怎么办。\n"
        "如果对方正在电话里让您转账、说验证码，请立刻挂断。"
        "钱已经转出去了，请马上拨打110报警，或拨打96110反诈专线；"
        f"冻结银行卡请拨打{bank.name}客服热线{bank.hotline}。"
    )


def _cdata_safe(text: str) -> str:
    # wechatpy puts Content in CDATA as is; "]]>" inside it would end the section early.
    return text.replace("]]>", "]]]]><![CDATA[>")


K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A mapping whose entries expire after `ttl_seconds`, at most `max_entries` (oldest
    dropped first). Per process: several replicas behind a load balancer would need a
    shared store (e.g. Redis) for deduplication and button memory."""

    def __init__(
        self, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: "OrderedDict[K, Tuple[float, V]]" = OrderedDict()
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock

    def get(self, key: K) -> Optional[V]:
        self._drop_expired()
        entry = self._entries.get(key)
        return entry[1] if entry else None

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)  # re-inserted last, so the order stays expiry order
        self._entries[key] = (self._clock() + self._ttl, value)
        self._drop_expired()
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        self._drop_expired()
        return len(self._entries)

    def _drop_expired(self) -> None:
        now = self._clock()
        while self._entries and next(iter(self._entries.values()))[0] <= now:
            self._entries.popitem(last=False)


# --- configuration --------------------------------------------------------------------


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


# --- the customer-service message API -------------------------------------------------


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

    def _forget(self, token: str) -> None:
        # Only the rejected token: another delivery may already have fetched a new one.
        if self._token == token:
            self._token = None


# --- the channel ----------------------------------------------------------------------


class Refused(Exception):
    """A request answered with a 4xx/503 and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_wechat_xml(xml: bytes) -> Dict[str, Any]:
    """The <xml> element as a dict. Entity declarations are refused before parsing."""
    if _FORBIDDEN_XML.search(xml):
        raise Refused(400, "XML 不能包含 DOCTYPE 或 ENTITY / DOCTYPE and ENTITY are not accepted")
    try:
        root = xmltodict.parse(xml)["xml"]
    # LookupError: no <xml> root (KeyError) or an unknown encoding="…" declaration.
    except (ExpatError, ValueError, TypeError, LookupError):
        root = None
    if not isinstance(root, dict):
        raise Refused(400, "不是微信消息XML / not a WeChat message XML")
    return root


@dataclass(frozen=True)
class Incoming:
    """One message from WeChat, its fields checked."""

    message: BaseMessage  # wechatpy's, for create_reply (sender and account swapped)
    kind: str  # MsgType in lower case: text, voice, image, location, link, event ...
    event: str  # Event in lower case for kind "event" (subscribe, unsubscribe, CLICK ...)
    text: str  # Content, or a voice message's speech Recognition; "" when absent
    openid: str
    msg_id: int  # 0 for events


def _field(root: Dict[str, Any], name: str) -> str:
    # xmltodict gives a dict for an element with children or attributes: not a value.
    value = root.get(name)
    return value if isinstance(value, str) else ""


def read_message(xml: bytes) -> Incoming:
    """The message in `xml`, or Refused."""
    root = parse_wechat_xml(xml)
    kind = _field(root, "MsgType").lower()
    openid = _field(root, "FromUserName")
    msg_id = _field(root, "MsgId")
    if not kind:
        raise Refused(400, "缺少 MsgType / MsgType missing")
    if not 0 < len(openid) <= MAX_OPENID_CHARS:
        raise Refused(400, "缺少 FromUserName / FromUserName missing")
    if kind != "event" and not re.fullmatch(r"[0-9]{1,20}", msg_id):
        raise Refused(400, "缺少 MsgId / MsgId missing")
    try:
        message = parse_message(xml)  # wechatpy's own parse of the same, checked bytes
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError):
        raise Refused(400, "不是微信消息XML / not a WeChat message XML") from None
    return Incoming(
        message=message,
        kind=kind,
        event=_field(root, "Event").lower(),
        text=_field(root, "Recognition" if kind == "voice" else "Content"),
        openid=openid,
        msg_id=int(msg_id or 0),
    )


class WeChatInput(InputChannel):
    """The WeChat official account channel; see the module docstring."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WeChatInput":
        try:
            settings = WeChatSettings.load(credentials or {}, os.environ)
            bank = bank_from_env()
            guard, limits = TurnGuard.from_env(), shared_limits()
        except ValueError as problem:  # WeChatConfigError, BANK_*, ASSISTANT_*, RATE_LIMIT_*
            # The server still starts (REST and other channels work); the webhook says 503.
            logger.warning("WeChat channel answers 503: %s", problem)
            return cls(None, disabled_because=str(problem))
        return cls(settings, bank, guard=guard, limits=limits)

    def __init__(
        self,
        settings: Optional[WeChatSettings],
        bank: Optional[Bank] = None,
        disabled_because: str = NOT_CONFIGURED,
        guard: Optional[TurnGuard] = None,
        limits: Optional[RequestLimits] = None,
    ) -> None:
        self.settings = settings
        self.disabled_because = disabled_because
        bank = (bank or bank_from_env()) if settings else None
        self.welcome = welcome_text(bank) if bank else ""
        self.guard = guard or (TurnGuard(bank, reply_timeout_from_env()) if bank else None)
        self.limits = limits or shared_limits()
        self.crypto = (
            WeChatCrypto(settings.token, settings.encoding_aes_key, settings.appid)
            if settings and settings.safe_mode
            else None
        )
        self.api = (
            CustomerServiceApi(settings.api_base_url, settings.appid, settings.secret)
            if settings and settings.can_send_later
            else None
        )
        # A message's turn: a future with the reply body for WeChat, shared by its retries.
        self._turns: TTLCache[str, asyncio.Future] = TTLCache(MAX_REMEMBERED, TURN_MEMORY_SECONDS)
        self._last_buttons: TTLCache[str, List[Dict[str, Any]]] = TTLCache(
            MAX_REMEMBERED, BUTTON_MEMORY_SECONDS
        )
        self._background: Set[asyncio.Task] = set()  # held so they are not collected mid-run

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("wechat_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok" if self.settings else "disabled"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> response.HTTPResponse:
            try:
                self._check_signed(request)
            except Refused as refused:
                return response.text(refused.reason, status=refused.status)
            echostr = request.args.get("echostr")
            if not echostr:
                return response.text("缺少 echostr / echostr missing", status=400)
            return response.text(echostr)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            try:
                self._check_signed(request)
                if body_too_large(request.headers.get("content-length"), request.body,
                                  MAX_BODY_BYTES):
                    raise Refused(413, f"消息太大 / body over {MAX_BODY_BYTES} bytes")
                incoming = read_message(self._plain_xml(request))
            except Refused as refused:
                return response.text(refused.reason, status=refused.status)
            reply = await self._answer(incoming, on_new_message)
            return self._http_reply(reply, request)

        return webhook

    # --- request checks ---------------------------------------------------------------

    def _check_signed(self, request: Request) -> None:
        if self.settings is None:
            raise Refused(503, self.disabled_because)
        signature, timestamp, nonce = (
            request.args.get(name) for name in ("signature", "timestamp", "nonce")
        )
        if not (signature and timestamp and nonce):
            raise Refused(400, "缺少 signature、timestamp 或 nonce / missing signature parameters")
        if not signature_matches(signature, self.settings.token, timestamp, nonce):
            raise Refused(403, "签名错误 / bad signature")
        if not timestamp_is_fresh(timestamp, time.time()):
            raise Refused(403, "时间戳与当前时间相差超过5分钟 / timestamp more than 5 minutes off")

    def _plain_xml(self, request: Request) -> bytes:
        """The message XML; in security mode the envelope's msg_signature checked, then
        decrypted."""
        if self.crypto is None:
            return request.body
        msg_signature = request.args.get("msg_signature")
        if request.args.get("encrypt_type") != "aes" or not msg_signature:
            raise Refused(400, "安全模式需要加密消息 / safe mode expects encrypt_type=aes")
        encrypted = parse_wechat_xml(request.body).get("Encrypt")
        if not isinstance(encrypted, str):
            raise Refused(400, "缺少 Encrypt / Encrypt missing")
        timestamp, nonce = request.args.get("timestamp"), request.args.get("nonce")
        # Checked here in constant time: wechatpy's own check below compares with `!=`.
        if not signature_matches(msg_signature, self.settings.token, timestamp, nonce, encrypted):
            raise Refused(403, "消息签名错误 / bad msg_signature")
        try:
            xml = self.crypto.decrypt_message(
                {"Encrypt": encrypted}, msg_signature, timestamp, nonce
            )
        except (WeChatException, ValueError, StructError, IndexError, TypeError):
            raise Refused(400, "无法解密 / cannot decrypt Encrypt") from None
        return xml.encode("utf-8")

    def _http_reply(self, reply: str, request: Request) -> response.HTTPResponse:
        if reply == SUCCESS:
            return response.text(SUCCESS)
        if self.crypto is not None:
            reply = self.crypto.encrypt_message(reply, request.args.get("nonce"))
        return response.text(reply, content_type="application/xml; charset=utf-8")

    # --- answers ----------------------------------------------------------------------

    async def _answer(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """The body WeChat gets: a passive reply's XML, or SUCCESS."""
        if incoming.kind == "text" or (incoming.kind == "voice" and incoming.text.strip()):
            return await self._converse(incoming, on_new_message)
        if incoming.kind == "voice":
            return self._text_reply(incoming, VOICE_NOT_RECOGNISED)
        if incoming.kind == "event":
            if incoming.event == "subscribe":  # also when following by scanning a QR code
                return self._text_reply(incoming, self.welcome)
            return SUCCESS  # unsubscribe, menu clicks, location reports: nothing to say
        return self._text_reply(incoming, PLEASE_TYPE)  # image, location, link, video, file

    async def _converse(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """One turn per MsgId: WeChat's retries share the first delivery's outcome."""
        key = f"{incoming.openid}:{incoming.msg_id}"
        turn = self._turns.get(key)
        if turn is None:
            turn = asyncio.get_running_loop().create_future()
            self._turns.put(key, turn)
            self._in_background(self._run_turn(incoming, on_new_message, turn))
        try:
            return await asyncio.wait_for(asyncio.shield(turn), WECHAT_WAIT_SECONDS)
        except asyncio.TimeoutError:
            return SUCCESS

    async def _run_turn(
        self,
        incoming: Incoming,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        turn: asyncio.Future,
    ) -> None:
        """Decides the turn's reply: passive if ready in time; what is late, or does not
        fit one reply, goes through the customer-service API."""
        assistant = asyncio.ensure_future(self._assistant_reply(incoming, on_new_message))
        try:
            # shield: on timeout the assistant keeps going and its answer is sent later.
            parts = await asyncio.wait_for(
                asyncio.shield(assistant), self.settings.passive_timeout
            )
        except asyncio.TimeoutError:
            turn.set_result(SUCCESS)
            parts = await assistant
        else:
            turn.set_result(self._text_reply(incoming, parts[0]) if parts else SUCCESS)
            parts = parts[1:]
            if parts:  # a head start, so the passive part shows before the rest
                await asyncio.sleep(PASSIVE_HEAD_START_SECONDS)
        finally:
            if not turn.done():
                turn.set_result(SUCCESS)
        if parts:
            await self._send_later(incoming.openid, parts)

    async def _assistant_reply(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> List[str]:
        """The assistant's answer, as WeChat-sized text parts."""
        openid = incoming.openid
        # Only per OpenID: every request comes from WeChat's own servers, so a limit per
        # address would throttle all followers together.
        wait = self.limits.admit(openid, None)
        if wait:
            return [too_fast_message(wait)]
        button = chosen_button(incoming.text, self._last_buttons.get(openid) or [])
        collector = CollectingOutputChannel()

        async def ask(text: str, metadata: Optional[Dict[str, Any]]) -> None:
            await on_new_message(
                UserMessage(text, collector, openid, input_channel=self.name(),
                            message_id=str(incoming.msg_id), metadata=metadata)
            )

        text = button["payload"] if button else incoming.text
        messages = await self.guard.answer(ask, text, None, collector.messages, openid)
        reply, buttons = render_messages(messages)
        if buttons:
            self._last_buttons.put(openid, buttons)
        else:
            self._last_buttons.pop(openid)  # "1" now means 1 again, not an old option
        return split_for_wechat(reply)

    async def _send_later(self, openid: str, parts: List[str]) -> None:
        if self.api is None:
            logger.warning(
                "WeChat reply to %s not delivered: set WECHAT_APPID and WECHAT_SECRET to send"
                " answers that miss the passive window or exceed %s bytes",
                openid,
                TEXT_LIMIT_BYTES,
            )
            return
        try:
            await self.api.send_texts(openid, parts)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, WeChatException) as error:
            logger.error("WeChat customer-service message to %s failed: %r", openid, error)

    def _text_reply(self, incoming: Incoming, text: str) -> str:
        return create_reply(_cdata_safe(text), incoming.message, render=True)

    def _in_background(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

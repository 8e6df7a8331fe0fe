"""WeChat official account (公众号) channel on wechatpy: /webhooks/wechat/webhook.

GET  ?signature&timestamp&nonce&echostr    URL verification: answers echostr.
POST ?signature&timestamp&nonce[&encrypt_type=aes&msg_signature]   a message as XML.

Every request is signed (compared in constant time) and carries a timestamp within five
minutes of now, so a captured request cannot be replayed later; within that window its
nonce is remembered with the message it came with, and the same signed query string with
another message (another body, another OpenID) is refused. WeChat's own retries of a
message share its outcome (one turn per MsgId), whether they come with the first
delivery's query string or a new one. A text (or recognised
voice) message goes to the assistant; the answer is the passive reply when it is ready
within `passive_timeout` seconds, otherwise `success` at once and the answer later through
the customer-service message API (api.py). Each turn goes through server/guard/ (masking,
rate limit per OpenID, safe reply). An image message (a screenshot, a photo of one) is
answered "正在识别图片…" at once; the picture is fetched through the media API, read
(server/channels/image.py), and what was read and the verdict go out through the
customer-service API. Protocol details: protocol.py; configuration: settings.py; what it
remembers, and where (this process, or Redis for several replicas): memory.py.
"""

import asyncio
import json
import logging
import time
from struct import error as StructError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

import aiohttp
import redis
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatException

from core.language import reply_language
from core.settings import Bank, settings as process_settings
from core.wording import say
from server.channels.image import answer_image, problem_reply
from server.channels.wechat.api import CustomerServiceApi
from server.channels.wechat.memory import TURN_SECONDS, TTLCache, WeChatMemory
from server.channels.wechat.protocol import (
    MAX_NONCE_CHARS, SUCCESS, TEXT_LIMIT_BYTES, Incoming, Refused, chosen_button,
    encrypted_reply_xml, parse_wechat_xml, read_message, render_messages, signature_matches,
    split_for_wechat, text_reply_xml, timestamp_is_fresh, welcome_text,
)
from server.channels.wechat.settings import NOT_CONFIGURED, WECHAT_WAIT_SECONDS, WeChatSettings
from server.guard.limits import body_too_large
from server.guard.rate_limit import Limits, shared_limits, too_fast_message
from server.guard.turns import TurnGuard
from server.ocr.client import start_with_server
from server.ocr.images import FAILED, MAX_IMAGE_BYTES, TOO_LARGE, ImageProblem

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
PASSIVE_HEAD_START_SECONDS = 1.0
MAX_REMEMBERED = 10_000
# The outcome of a turn another replica is running, looked for this often.
OUTCOME_POLL_SECONDS = 0.1
PENDING = "pending"  # a turn's outcome while it runs; then a reply's XML or SUCCESS
REPLAYED = "nonce 已被另一条消息使用：疑似重放 / nonce already used by another message: replay refused"
STATE_UNAVAILABLE = (
    "暂时无法处理，请稍后重试 / shared state (Redis) unavailable, try again"
)


class WeChatInput(InputChannel):
    """The WeChat official account channel; see the module docstring."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WeChatInput":
        try:
            config = process_settings()
            wechat = WeChatSettings.load(credentials or {}, config.wechat_env)
            guard, limits = TurnGuard.from_settings(config), shared_limits()
        except ValueError as problem:  # WeChatConfigError, BANK_*, ASSISTANT_*, RATE_LIMIT_*
            # The server still starts (REST and other channels work); the webhook says 503.
            logger.warning("WeChat channel answers 503: %s", problem)
            return cls(None, disabled_because=str(problem))
        return cls(wechat, config.bank, guard=guard, limits=limits,
                   memory=WeChatMemory.from_settings(config))

    def __init__(
        self,
        settings: Optional[WeChatSettings],
        bank: Optional[Bank] = None,
        disabled_because: str = NOT_CONFIGURED,
        guard: Optional[TurnGuard] = None,
        limits: Optional[Limits] = None,
        memory: Optional[WeChatMemory] = None,
    ) -> None:
        self.settings = settings
        self.disabled_because = disabled_because
        bank = (bank or process_settings().bank) if settings else None
        self.bank = bank
        self.welcome = welcome_text(bank) if bank else ""
        self.guard = guard or (TurnGuard.from_settings() if bank else None)
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
        # Nonces, each MsgId's outcome and the buttons shown: here, or in Redis for all
        # replicas (memory.py). Tests pass their own.
        self.memory = memory or WeChatMemory.in_process()
        # The turns this process runs: a future with the reply body, awaited by retries
        # that reach this process; other replicas read the outcome from self.memory.turns.
        self._running: TTLCache[str, asyncio.Future] = TTLCache(MAX_REMEMBERED, TURN_SECONDS)
        self._background: Set[asyncio.Task] = set()  # held so they are not collected mid-run

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("wechat_webhook", __name__)
        if self.api is not None:  # only then are pictures fetched and read
            start_with_server(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok" if self.settings else "disabled"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> response.HTTPResponse:
            try:
                self._check_signed(request)
                echostr = request.args.get("echostr")
                if not echostr:
                    raise Refused(400, "缺少 echostr / echostr missing")
                self._check_not_replayed(request, "GET " + echostr)
            except Refused as refused:
                return response.text(refused.reason, status=refused.status)
            return response.text(echostr)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            try:
                self._check_signed(request)
                if body_too_large(request.headers.get("content-length"), request.body,
                                  MAX_BODY_BYTES):
                    raise Refused(413, f"消息太大 / body over {MAX_BODY_BYTES} bytes")
                incoming = read_message(self._plain_xml(request))
                self._check_not_replayed(request, incoming.fingerprint)
                reply = await self._answer(incoming, on_new_message)
            except Refused as refused:
                return response.text(refused.reason, status=refused.status)
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
        if len(nonce) > MAX_NONCE_CHARS:
            raise Refused(400, f"nonce 太长 / nonce over {MAX_NONCE_CHARS} characters")
        if not signature_matches(signature, self.settings.token, timestamp, nonce):
            raise Refused(403, "签名错误 / bad signature")
        if not timestamp_is_fresh(timestamp, time.time()):
            raise Refused(403, "时间戳与当前时间相差超过5分钟 / timestamp more than 5 minutes off")

    def _check_not_replayed(self, request: Request, fingerprint: str) -> None:
        """The nonce (with its timestamp) is remembered with the message it first came
        with, for as long as the timestamp stays fresh. The same query string again is
        accepted only with the same message: WeChat may retry a message with the query
        string of its first delivery, and the retry then shares the first one's outcome.
        With any other body or OpenID it is a replay of a captured query string."""
        key = f"{request.args.get('timestamp')}:{request.args.get('nonce')}"
        try:
            held = self.memory.nonces.add(key, fingerprint)
        except redis.RedisError as error:
            logger.error("WeChat nonce memory unavailable: %r", error)
            raise Refused(503, STATE_UNAVAILABLE) from None
        if held is not None and held != fingerprint:
            logger.warning("WeChat request refused: nonce %s reused with another message", key)
            raise Refused(403, REPLAYED)

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
            reply = encrypted_reply_xml(self.crypto, self.settings.token, self.settings.appid,
                                        reply, request.args.get("nonce"), int(time.time()))
        return response.text(reply, content_type="application/xml; charset=utf-8")

    # --- answers ----------------------------------------------------------------------

    async def _answer(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """The body WeChat gets: a passive reply's XML, or SUCCESS."""
        if incoming.kind == "text" or (incoming.kind == "voice" and incoming.text.strip()):
            return await self._converse(incoming, on_new_message)
        # A message without words says nothing of the language: the last one heard.
        language = self.guard.languages.last(incoming.openid) if self.guard else "zh-Hans"
        if incoming.kind == "voice":
            return self._text_reply(incoming, say("wechat.voice_not_recognised", language=language))
        if incoming.kind == "image" and self.api is not None:
            return self._read_image(incoming, on_new_message)
        if incoming.kind == "event":
            if incoming.event == "subscribe":  # also when following by scanning a QR code
                welcome = welcome_text(self.bank, language) if self.bank else self.welcome
                return self._text_reply(incoming, welcome)
            return SUCCESS  # unsubscribe, menu clicks, location reports: nothing to say
        # image, location, link, video, file
        return self._text_reply(incoming, say("wechat.please_type", language=language))

    async def _converse(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """One turn per MsgId: WeChat's retries share the first delivery's outcome, on
        whichever replica they arrive."""
        key = f"{incoming.openid}:{incoming.msg_id}"
        turn = self._running.get(key)
        if turn is None:
            try:
                held = self.memory.turns.add(key, PENDING)
            except redis.RedisError as error:
                logger.error("WeChat turn memory unavailable: %r", error)
                raise Refused(503, STATE_UNAVAILABLE) from None
            if held is not None:  # another replica runs it, or ran it
                return await self._outcome_elsewhere(key, held)
            turn = asyncio.get_running_loop().create_future()
            self._running.put(key, turn)
            turn.add_done_callback(lambda done: self._remember_outcome(key, done))
            self._in_background(self._run_turn(incoming, on_new_message, turn))
        try:
            return await asyncio.wait_for(asyncio.shield(turn), WECHAT_WAIT_SECONDS)
        except asyncio.TimeoutError:
            return SUCCESS

    async def _outcome_elsewhere(self, key: str, held: str) -> str:
        """The body another replica gave WeChat for this message, once it has one; SUCCESS
        if it takes longer than WeChat waits (the answer then comes through the API)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WECHAT_WAIT_SECONDS
        while held == PENDING and loop.time() < deadline:
            await asyncio.sleep(OUTCOME_POLL_SECONDS)
            try:
                held = self.memory.turns.get(key) or SUCCESS
            except redis.RedisError as error:
                logger.error("WeChat turn memory unavailable: %r", error)
                return SUCCESS
        return SUCCESS if held == PENDING else held

    def _remember_outcome(self, key: str, turn: asyncio.Future) -> None:
        try:
            self.memory.turns.put(key, SUCCESS if turn.cancelled() else turn.result())
        except redis.RedisError as error:  # retries on other replicas then get SUCCESS
            logger.error("WeChat turn memory unavailable: %r", error)

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
            return [too_fast_message(
                wait, reply_language(incoming.text, self.guard.languages.last(openid)))]
        button = chosen_button(incoming.text, self._shown_buttons(openid))
        collector = CollectingOutputChannel()

        async def ask(text: str, metadata: Optional[Dict[str, Any]]) -> None:
            await on_new_message(
                UserMessage(text, collector, openid, input_channel=self.name(),
                            message_id=str(incoming.msg_id), metadata=metadata)
            )

        text = button["payload"] if button else incoming.text
        messages = await self.guard.answer(ask, text, None, collector.messages, openid)
        # Each message carries the customer's words: the guard heard its language.
        reply, buttons = render_messages(messages, self.guard.languages.last(openid))
        self._remember_buttons(openid, buttons)
        return split_for_wechat(reply)

    def _shown_buttons(self, openid: str) -> List[Dict[str, Any]]:
        try:
            shown = self.memory.buttons.get(openid)
        except redis.RedisError as error:  # "1" is then read as the text it is
            logger.error("WeChat button memory unavailable: %r", error)
            return []
        try:
            buttons = json.loads(shown) if shown else []
        except ValueError:
            return []
        return buttons if isinstance(buttons, list) else []

    def _remember_buttons(self, openid: str, buttons: List[Dict[str, Any]]) -> None:
        try:
            if buttons:
                self.memory.buttons.put(openid, json.dumps(buttons, ensure_ascii=False))
            else:
                self.memory.buttons.pop(openid)  # "1" now means 1 again, not an old option
        except redis.RedisError as error:
            logger.error("WeChat button memory unavailable: %r", error)

    def _read_image(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """"正在识别图片…" at once; the picture read once per MsgId (retries get the same
        passive reply), its answer sent through the customer-service API."""
        key = f"{incoming.openid}:{incoming.msg_id}"
        reading = self._text_reply(incoming, say("image.wechat_reading"))
        try:
            held = self.memory.turns.add(key, reading)
        except redis.RedisError as error:
            logger.error("WeChat turn memory unavailable: %r", error)
            raise Refused(503, STATE_UNAVAILABLE) from None
        if held is None:  # the first delivery, on whichever replica
            self._in_background(self._image_turn(incoming, on_new_message))
        return reading

    async def _image_turn(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        openid = incoming.openid
        wait = self.limits.admit(openid, None)  # a picture counts like a message
        if wait:
            await self._send_later(openid, [too_fast_message(wait)])
            return
        collector = CollectingOutputChannel()

        async def ask(text: str, metadata: Optional[Dict[str, Any]]) -> None:
            await on_new_message(
                UserMessage(text, collector, openid, input_channel=self.name(),
                            message_id=str(incoming.msg_id), metadata=metadata)
            )

        media_id = getattr(incoming.message, "media_id", None) or ""
        try:
            try:
                data = await self.api.fetch_media(media_id, MAX_IMAGE_BYTES)
            except ValueError:
                raise ImageProblem(TOO_LARGE, "media over the limit") from None
            except (aiohttp.ClientError, asyncio.TimeoutError, WeChatException) as error:
                logger.error("WeChat media of %s not fetched: %r", openid, error)
                raise ImageProblem(FAILED, "media not fetched") from None
            messages = await answer_image(data, ask, self.guard, collector.messages, openid)
            del data
        except ImageProblem as problem:
            await self._send_later(openid, [problem_reply(problem, self.bank)[1]])
            return
        read, rest = messages[0], messages[1:]
        reply, buttons = render_messages(rest)
        self._remember_buttons(openid, buttons)
        await self._send_later(openid, split_for_wechat(read["text"]) + split_for_wechat(reply))

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
        return text_reply_xml(incoming.openid, incoming.account, text, int(time.time()))

    def _in_background(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

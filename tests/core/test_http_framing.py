"""The framing rules both servers put in front of Sanic's parser (core/http_framing.py),
and the JSON depth count; the same rules against the real servers are in
tests/e2e/test_framing.py."""

import time

import pytest

from core import http_framing as framing
from core.http_framing import (
    BAD_CHUNK, BAD_HEADER_LINE, BAD_HEADER_VALUE, BAD_LENGTH, BAD_REQUEST_LINE,
    BAD_TRANSFER_ENCODING, LENGTH_AND_CHUNKED, OBS_FOLD, TOO_LONG, TWO_HOSTS, TWO_LENGTHS,
    chunk_size, head_refusal, json_depth, time_limits,
)

MAX = 100_000_000  # Sanic's REQUEST_MAX_SIZE
POST = b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x"


def head(*lines: bytes, request_line: bytes = POST) -> bytes:
    return b"\r\n".join([request_line, *lines])


ACCEPTED = {
    "no body": head(),
    "a length": head(b"Content-Length: 7"),
    "zero": head(b"Content-Length: 0"),
    "leading zeros": head(b"Content-Length: 007"),
    "spaces around the length": head(b"Content-Length:  7 \t"),
    "no space after the colon": head(b"content-length:7"),
    "the limit itself": head(b"Content-Length: %d" % MAX),
    "chunked": head(b"Transfer-Encoding: chunked"),
    "chunked after spaces": head(b"Transfer-Encoding:   chunked"),
    "an empty value": head(b"X-Empty:"),
    "obs-text in a value (not UTF-8)": head(b"Authorization: Bearer \xff\xfe"),
    "a tab in a value": head(b"User-Agent: a\tb"),
    "HTTP/1.0": head(request_line=b"GET /chat HTTP/1.0"),
    "OPTIONS *": head(request_line=b"OPTIONS * HTTP/1.1"),
    "a query string": head(request_line=b"GET /webhooks/wechat/webhook?a=%FF&b=[1] HTTP/1.1"),
    "100-continue": head(b"Expect: 100-Continue", b"Content-Length: 7"),
}

REFUSED = {
    # Content-Length
    "negative length (froze the server)": (head(b"Content-Length: -1"), BAD_LENGTH),
    "plus sign": (head(b"Content-Length: +7"), BAD_LENGTH),
    "non-numeric": (head(b"Content-Length: abc"), BAD_LENGTH),
    "hex": (head(b"Content-Length: 0x10"), BAD_LENGTH),
    "underscore (int() takes it)": (head(b"Content-Length: 1_0"), BAD_LENGTH),
    "decimal point": (head(b"Content-Length: 7.0"), BAD_LENGTH),
    "empty length": (head(b"Content-Length: "), BAD_LENGTH),
    "a list": (head(b"Content-Length: 7, 7"), BAD_LENGTH),
    "full-width digits": (head("Content-Length: ７".encode()), BAD_LENGTH),
    "over the limit": (head(b"Content-Length: %d" % (MAX + 1)), TOO_LONG),
    "huge": (head(b"Content-Length: " + b"9" * 30), TOO_LONG),
    "too many digits for int()": (head(b"Content-Length: " + b"1" * 5000), TOO_LONG),
    "two equal lengths": (head(b"Content-Length: 7", b"Content-Length: 7"), TWO_LENGTHS),
    "two different lengths": (head(b"Content-Length: 7", b"content-length: 8"), TWO_LENGTHS),
    # Transfer-Encoding
    "length and chunked": (head(b"Content-Length: 7", b"Transfer-Encoding: chunked"), LENGTH_AND_CHUNKED),
    "chunked and length": (head(b"Transfer-Encoding: chunked", b"Content-Length: 7"), LENGTH_AND_CHUNKED),
    "gzip": (head(b"Transfer-Encoding: gzip"), BAD_TRANSFER_ENCODING),
    "gzip, chunked": (head(b"Transfer-Encoding: gzip, chunked"), BAD_TRANSFER_ENCODING),
    "chunked twice in one": (head(b"Transfer-Encoding: chunked, chunked"), BAD_TRANSFER_ENCODING),
    "two chunked headers": (head(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"),
                            BAD_TRANSFER_ENCODING),
    "Chunked (Sanic: 500)": (head(b"Transfer-Encoding: Chunked"), BAD_TRANSFER_ENCODING),
    "chunked and a space": (head(b"Transfer-Encoding: chunked "), BAD_TRANSFER_ENCODING),
    "empty encoding": (head(b"Transfer-Encoding:"), BAD_TRANSFER_ENCODING),
    "chunked in HTTP/1.0": (head(b"Transfer-Encoding: chunked", request_line=b"POST / HTTP/1.0"),
                            BAD_TRANSFER_ENCODING),
    # Header lines
    "no colon": (head(b"Garbage"), BAD_HEADER_LINE),
    "space before the colon": (head(b"Content-Length : 7"), BAD_HEADER_LINE),
    "tab before the colon": (head(b"Content-Length\t: 7"), BAD_HEADER_LINE),
    "empty name": (head(b": 7"), BAD_HEADER_LINE),
    "non-ASCII name": (head("名字: 7".encode()), BAD_HEADER_LINE),
    "obs-fold with a space": (head(b"X-A: b", b" c"), OBS_FOLD),
    "obs-fold with a tab": (head(b"X-A: b", b"\tContent-Length: 7"), OBS_FOLD),
    "bare LF inside a value": (head(b"X-A: b\nContent-Length: 7"), BAD_HEADER_VALUE),
    "bare CR inside a value": (head(b"X-A: b\rContent-Length: 7"), BAD_HEADER_VALUE),
    "NUL in a value": (head(b"X-A: b\x00"), BAD_HEADER_VALUE),
    "DEL in a value": (head(b"X-A: b\x7f"), BAD_HEADER_VALUE),
    "empty line inside the head": (head(b"X-A: b", b"", b"X-B: c"), BAD_HEADER_LINE),
    "two hosts": (head(b"Host: y"), TWO_HOSTS),
    "unknown expectation": (head(b"Expect: nope"), framing.BAD_EXPECT),
    # The request line
    "lower-case version": (head(request_line=b"GET / http/1.1"), BAD_REQUEST_LINE),
    "HTTP/2": (head(request_line=b"PRI * HTTP/2.0"), BAD_REQUEST_LINE),
    "HTTP/0.9": (head(request_line=b"GET /"), BAD_REQUEST_LINE),
    "two spaces": (head(request_line=b"GET  / HTTP/1.1"), BAD_REQUEST_LINE),
    "a space in the target": (head(request_line=b"GET /a b HTTP/1.1"), BAD_REQUEST_LINE),
    "non-ASCII target (Sanic: no answer)": (head(request_line=b"GET /h\xe9 HTTP/1.1"), BAD_REQUEST_LINE),
    "control character in the target": (head(request_line=b"GET /\x01 HTTP/1.1"), BAD_REQUEST_LINE),
    "method not a token": (head(request_line=b"G(T / HTTP/1.1"), BAD_REQUEST_LINE),
    "empty method": (head(request_line=b" / HTTP/1.1"), BAD_REQUEST_LINE),
    "leading empty line": (b"\r\n" + head(), BAD_REQUEST_LINE),
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_well_framed_heads_pass(name):
    assert head_refusal(ACCEPTED[name], MAX) is None


@pytest.mark.parametrize("name", REFUSED)
def test_malformed_heads_are_refused_with_the_reason(name):
    raw, refusal = REFUSED[name]
    assert head_refusal(raw, MAX) == refusal
    assert refusal.status in (400, 413, 417)


def test_a_reason_never_quotes_the_request():
    secret = b"TRACKER-ONLY-4711"
    for raw, _ in REFUSED.values():
        refusal = head_refusal(raw.replace(b"7", secret), MAX)
        assert refusal is not None and secret.decode() not in refusal.reason


def test_the_limit_is_the_servers():
    assert head_refusal(head(b"Content-Length: 1025"), 1024) == TOO_LONG
    assert head_refusal(head(b"Content-Length: 1024"), 1024) is None


@pytest.mark.parametrize("line, size", [
    (b"0", 0), (b"7", 7), (b"1f", 31), (b"1F", 31), (b"007", 7), (b"ffffffffffffffff", 2**64 - 1),
    (b"7;name", 7), (b"7 ; name=value", 7), (b'7;a="quoted ; \\" value";b', 7),
])
def test_well_formed_chunk_sizes(line, size):
    assert chunk_size(line) == size


@pytest.mark.parametrize("line", [
    b"", b"-7", b"+7", b"0x7", b"7_0", b" 7", b"7 ", b"g", b"\xef\xbc\x97", b"1" * 17,
    b"7;", b"7;=x", b"7;a=", b'7;a="unterminated', b"7;a\x00", b"7\n", b"7;a=b c",
])
def test_malformed_chunk_sizes(line):
    assert chunk_size(line) is None


def test_chunk_refusals_are_400():
    assert BAD_CHUNK.status == framing.TRAILERS.status == 400


def test_time_limits_are_bounded_by_the_servers_request_timeout():
    assert time_limits(60) == (framing.HEAD_SECONDS, framing.BODY_SECONDS) == (10, 20)
    assert time_limits(5) == (5, 5)


# ---- JSON depth ------------------------------------------------------------------------

@pytest.mark.parametrize("body, depth", [
    (b"", 0), (b"1", 0), (b'"x"', 0), (b"{}", 1), (b"[]", 1), (b"[[],{}]", 2),
    (b'{"sender": "a", "message": "hi", "metadata": {"a": [1, {"b": 2}]}}', 4),
    (b'{"message": "[[[[[{{{{{"}', 1),  # brackets inside a string do not count
    (b'{"message": "\\"[[[[[\\\\"}', 1),  # nor after escaped quotes and backslashes
    (b'["\\\\", [["\\"]"]]]', 3),
    (b"]]]]][[", 2),  # not JSON: the parser refuses it; no count below zero
    (b'["unterminated [[[[[[', 1),
])
def test_json_depth(body, depth):
    assert json_depth(body) == depth


def test_json_depth_stops_past_the_limit():
    deep = b'{"sender":"x","message":"hi","metadata":' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}"
    assert json_depth(deep) == framing.MAX_JSON_DEPTH + 1
    assert json_depth(b"[" * 33 + b"]" * 33) == 33
    assert json_depth(b"[" * 32 + b"]" * 32) == 32


def test_json_depth_is_cheap_on_hostile_bodies():
    hostile = [b"[]" * 131_072, b'"\\"' * 87_000, b'"' + b"\\" * 262_000, b"[" * 262_144,
               b'["' * 131_072]
    started = time.process_time()
    for body in hostile:
        json_depth(body)
    assert time.process_time() - started < 1.0


def test_a_refused_request_is_marked_for_the_apps_own_checks():
    class Ctx:
        pass

    class Request:
        ctx = Ctx()

    assert not framing.being_refused(Request()) and not framing.being_refused(None)
    setattr(Request.ctx, "framing_refusal", BAD_LENGTH)
    assert framing.being_refused(Request())

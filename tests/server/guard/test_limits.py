"""Request body limits (server/guard/limits.py)."""

import json

import pytest

from core.http_framing import MAX_JSON_DEPTH
from server.guard.limits import body_too_large, refuse_too_deep


@pytest.mark.parametrize(
    "declared, body, too_large",
    [
        (None, b"x" * 100, False),
        ("100", b"x" * 100, False),
        (None, b"x" * 101, True),  # no Content-Length: what arrived counts
        ("50", b"x" * 101, True),  # a header that lies low does not help
        ("1000000", b"", True),  # a header over the limit is enough
        ("junk", b"x", False),
    ],
)
def test_body_size_by_header_and_by_what_arrived(declared, body, too_large):
    assert body_too_large(declared, body, 100) == too_large




# ---- JSON depth, before the parser (issue 15: ~1,000 levels of metadata gave a 500) ----

class _Request:
    """What the REST and widget checks read of a Sanic request."""

    def __init__(self, body: bytes) -> None:
        self.body, self.headers, self.ip = body, {"content-length": str(len(body))}, "127.0.0.1"

    @property
    def json(self):
        return json.loads(self.body)


def deep_metadata(depth: int) -> bytes:
    return (b'{"sender":"x","message":"hi","metadata":' + b'{"a":' * depth + b"1"
            + b"}" * depth + b"}")


def test_a_body_nesting_too_deep_is_refused_with_a_chinese_reason():
    refusal = refuse_too_deep(deep_metadata(1000))
    assert refusal.status == 400
    assert f"嵌套太深（最多{MAX_JSON_DEPTH}层）" in json.loads(refusal.body)["error"]
    assert refuse_too_deep(deep_metadata(MAX_JSON_DEPTH - 1)) is None  # the body is one more
    assert refuse_too_deep(deep_metadata(MAX_JSON_DEPTH)).status == 400
    assert refuse_too_deep(b'{"sender":"x","message":"' + b"[" * 5000 + b'"}') is None
    assert refuse_too_deep(None) is None and refuse_too_deep(b"") is None


@pytest.mark.parametrize("depth", [40, 975, 1000, 1023, 5000])
def test_the_rest_and_widget_checks_refuse_deep_json_before_parsing_it(monkeypatch, depth):
    from server.channels import rest

    parsed = []
    monkeypatch.setattr(_Request, "json", property(lambda request: parsed.append(1)))
    refusal = rest.refuse_unanswerable(_Request(deep_metadata(depth)), limits=None)
    assert refusal is not None and refusal.status == 400, depth
    assert "嵌套太深" in json.loads(refusal.body)["error"] and parsed == []


def test_ordinary_metadata_still_passes():
    from server.channels import rest

    body = json.dumps({"sender": "x", "message": "你好",
                       "metadata": {"entry": {"atm_id": "ATM-0001", "v": [1, {"x": 2}]}}})
    assert rest.refuse_bad_body(_Request(body.encode())) is None


# ---- UTF-8, before ujson (found by bench/fuzz.py) ---------------------------------------

BROKEN_UTF8 = [
    # "这个链接能点吗 http://…" in GBK, as the fuzz sent it
    b'{"sender": "x", "message": "\xd5\xe2\xb8\xf6\xc1\xb4\xbd\xd3\xc4\xdc\xb5\xe3\xc2\xf0 http://a.example"}',
    b'{"sender": "x", "message": "\xf0 h"}',
    b'{"sender": "x", "message": "\x80"}',
    b'{"sender": "x", "message": "\xed\xa0\x80"}',  # an encoded surrogate
    "{\"sender\": \"x\", \"message\": \"你好\"}".encode("utf-16"),
]


@pytest.mark.parametrize("body", BROKEN_UTF8)
def test_a_body_that_is_not_utf8_is_refused_before_ujson_reads_it(monkeypatch, body):
    from server.channels import rest

    parsed = []
    monkeypatch.setattr(_Request, "json", property(lambda request: parsed.append(1)))
    refusal = rest.refuse_bad_body(_Request(body))
    assert refusal.status == 400 and "UTF-8" in json.loads(refusal.body)["error"]
    assert parsed == []


def test_ujson_makes_a_broken_string_of_such_a_body():
    """Why the check is there: ujson 5 accepts the first body above and returns a str
    whose characters are not all real code points."""
    import ujson

    message = ujson.loads(BROKEN_UTF8[0])["message"]
    with pytest.raises(ValueError):  # chr() arg not in range(0x110000)
        [chr(ord(c)) for c in message]


def test_utf8_with_escapes_and_chinese_passes():
    from server.channels import rest

    body = '{"sender": "x", "message": "你好 \\ud83d\\ude00 \\u4f60"}'.encode()
    assert rest.refuse_bad_body(_Request(body)) is None

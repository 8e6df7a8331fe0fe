"""Bad input gets a clear reply or a 4xx: never a crash, a 500 or an empty answer."""

import http.client
import json
import os

import pytest

CLARIFY = "对方说自己是谁"


def _body(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    "message",
    ["", "   \n\t ", "😀😱🙏🙏", "？？？", "\x00\x01\x02"],
    ids=["empty", "whitespace", "emoji", "punctuation", "control-chars"],
)
def test_content_free_message_gets_a_question(assistant, message):
    messages = assistant.say("bad-content", message)
    assert messages and CLARIFY in messages[0]["text"]


def test_ten_thousand_characters_get_an_assessment(assistant):
    message = ("公安局说我涉嫌洗钱，要我把钱转到安全账户。" * 500)[:10_000]
    messages = assistant.say("huge", message)
    assert [m["custom"]["scam_type"] for m in messages if "custom" in m] == ["impersonate_police"]


def test_binary_junk_gets_a_reply(assistant):
    junk = os.urandom(3000).decode("latin-1")
    messages = assistant.say("junk", junk)
    assert messages and all(m.get("text") or m.get("custom") for m in messages)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"just a string"',
        _body(sender="x"),
        _body(sender="x", message=None),
        _body(sender="x", message=123),
        _body(sender="x", message=["a"]),
        _body(message="你好"),
        _body(sender="", message="你好"),
        _body(sender="x" * 500, message="你好"),
        _body(sender="x", message="你" * 30_000),
        _body(sender="x", message="你好", metadata="nope"),
    ],
)
def test_malformed_request_is_refused_with_a_reason(assistant, body):
    status, reply = assistant.post(body)
    assert status == 400, (status, reply)
    assert isinstance(reply, dict) and reply["error"]


def test_conversation_survives_bad_requests(assistant):
    first = assistant.say("survivor", "税务局说给我退税，让我去ATM")
    assert any("custom" in m for m in first)
    assistant.post(b"{broken")
    assistant.post(_body(sender="survivor", message=None))
    assistant.say("survivor", "")
    # Typed, not the assessment's button: that was two replies ago (issue 15: only the
    # latest reply's buttons run as intents).
    after = assistant.say("survivor", "我已经转账了")
    assert [m["custom"]["type"] for m in after if "custom" in m] == ["emergency"]

    # One conversation holds every turn, the assessment's slot included.
    events = assistant.stored_events("survivor")
    user_texts = [e["text"] for e in events if e["event"] == "user"]
    assert user_texts == ["税务局说给我退税，让我去ATM", "", "我已经转账了"]
    slots = [(e["name"], e["value"]) for e in events if e["event"] == "slot"]
    assert ("scam_type", "tax_refund") in slots


# Found by tests/e2e/test_fuzz.py; each was a 500 or, for the first, a dead server.
@pytest.mark.parametrize(
    "method, path, body, headers, status",
    [
        ("POST", "/webhooks/rest/webhook", b'{"sender": "\\ud800", "message": "hi"}', {}, 400),
        ("POST", "/chat/webhook", b'{"sender": "a", "message": "hi"}', {"Origin": "http://["}, 403),
        ("GET", "/nope", None, {"Accept": "a"}, 404),
        ("POST", "/webhooks/rest/webhook", b"{}", {"Expect": b"\x80"}, 417),
        ("POST", "/webhooks/rest/webhook", b'{"sender": "a", "message": "\\ud800 hi"}', {}, 400),
        ("POST", "/webhooks/rest/webhook",
         b'{"sender": "a", "message": "hi", "metadata": {"k": ["\\udfff"]}}', {}, 400),
        ("POST", "/webhooks/rest/webhook", b'{"sender": "a", "message": "\\ud83d\\ude00"}', {}, 200),
    ],
    ids=["lone-surrogate-sender", "malformed-origin", "bad-accept-on-404", "undecodable-expect",
         "lone-surrogate-message", "lone-surrogate-metadata", "escaped-emoji-pair"],
)
def test_hostile_requests_found_by_fuzzing_get_a_4xx(assistant, method, path, body, headers, status):
    host, port = assistant.rasa_url.rsplit("//", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})
    assert connection.getresponse().status == status
    assert assistant.say("after-hostile", "税务局说退税")  # still answering

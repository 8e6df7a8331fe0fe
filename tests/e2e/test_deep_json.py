"""Deeply nested JSON against the real servers (issue 15): about 1,000 levels of metadata
passed the JSON parser and then broke Rasa's recursive code, a 500, a turn lost with
nothing stored, or a broken session start. Now a 400 with a Chinese reason, before the
body is parsed, and the conversation goes on."""

import json
import urllib.error
import urllib.request

import pytest

from core.http_framing import MAX_JSON_DEPTH


def post(url: str, body: bytes, headers=None):
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def nested(depth: int, opener: str = '{"a":', closer: str = "}") -> str:
    return opener * depth + "1" + closer * depth


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/chat/webhook"])
@pytest.mark.parametrize("depth", [975, 1000, 1023, 100_000])
def test_deep_metadata_is_refused_and_the_conversation_goes_on(assistant, path, depth):
    sender = f"deep-{path.split('/')[1]}-{depth}"
    # Arrays for the deepest, so that the body stays under the 256 KB size limit.
    metadata = nested(depth) if depth < 10_000 else '{"a":%s}' % nested(depth, "[", "]")
    body = '{"sender":"%s","message":"税务局说退税","metadata":%s}' % (sender, metadata)
    status, reply = post(assistant.rasa_url + path, body.encode())
    assert status == 400 and "嵌套太深" in reply["error"], (status, reply)
    assert assistant.stored_events(sender) == []  # refused before anything reached Rasa
    messages = assistant.say(sender, "税务局说退税")
    assert any(m.get("custom", {}).get("scam_type") == "tax_refund" for m in messages), messages


def test_deep_message_field_is_refused_too(assistant):
    body = '{"sender":"deep-message","message":%s}' % nested(1000, "[", "]")
    status, reply = post(assistant.webhook, body.encode())
    assert status == 400 and "嵌套太深" in reply["error"]


def test_metadata_within_the_limit_reaches_the_assistant(assistant):
    # The body itself is one level: its metadata may nest MAX_JSON_DEPTH - 1 more.
    sender = "deep-but-allowed"
    body = '{"sender":"%s","message":"税务局说退税","metadata":%s}' % (
        sender, nested(MAX_JSON_DEPTH - 1))
    status, messages = post(assistant.webhook, body.encode())
    assert status == 200
    assert any(m.get("custom", {}).get("scam_type") == "tax_refund" for m in messages), messages


def test_the_action_server_refuses_a_deep_call_from_the_secret_holder(assistant):
    call = json.dumps({"next_action": "action_greet", "version": "3.6.21", "domain": {},
                       "tracker": {"sender_id": "deep", "slots": {}, "events": [],
                                   "latest_message": {"text": "hi", "metadata": "DEEP"}}})
    body = call.replace('"DEEP"', nested(1000)).encode()
    status, reply = post(f"{assistant.actions_url}/webhook", body,
                         {"Authorization": f"Bearer {assistant.action_secret}"})
    assert status == 400 and "嵌套太深" in reply["error"], (status, reply)

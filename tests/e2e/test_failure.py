"""Never silence: with the action server gone mid-conversation, the customer still gets
the general safe advice (110, 96110, the bank's hotline) over HTTP 200, the conversation
so far stays in the tracker store, and normal answers come back once the action server
is up again. Real servers over HTTP."""

import os
import secrets

import pytest

from core.settings import settings
from core.replies import safe_reply
from tests.e2e.servers import (
    MODEL, RASA, _spawn, _wait_until_up, running_assistant, stop,
)

FIRST = "税务局说给我退税，让我去ATM操作"
WHILE_DOWN = "公安局说我涉嫌洗钱，要我把钱转到安全账户"
AFTER_RESTART = "我是不是被骗了？公安局说要把钱转到安全账户"


def texts(messages):
    return [m.get("text", "") for m in messages]


def scam_types(messages):
    return [m["custom"].get("scam_type") for m in messages if "custom" in m]


def restart_actions(assistant, workdir):
    """A new action server on the old port, set up as running_assistant sets it up."""
    port = assistant.actions_url.rsplit(":", 1)[1]
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false",
           "ENDPOINTS": str(workdir / "endpoints.yml"),
           "ACTION_SERVER_SECRET": getattr(assistant, "action_secret", "")}
    process = _spawn([RASA, "run", "actions", "--actions", "actions", "--port", port],
                     workdir / "actions-restarted.log", env)
    _wait_until_up(f"{assistant.actions_url}/health", process,
                   workdir / "actions-restarted.log")
    return process


def test_customer_gets_safe_advice_while_the_action_server_is_down(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    workdir = tmp_path_factory.mktemp("failure")
    sender = f"failure-{secrets.token_hex(4)}"
    safe = safe_reply(settings().bank)
    with running_assistant(workdir) as assistant:
        first = assistant.say(sender, FIRST)
        assert scam_types(first) == ["tax_refund"] and safe not in texts(first)

        stop(assistant.actions)
        while_down = assistant.say(sender, WHILE_DOWN)  # HTTP 200, checked by say()
        assert texts(while_down) == [safe]
        assert "110" in safe and "96110" in safe

        events = assistant.stored_events(sender)
        assert [e["text"] for e in events if e["event"] == "user"] == [FIRST, WHILE_DOWN]
        slots = [(e["name"], e["value"]) for e in events if e["event"] == "slot"]
        assert ("scam_type", "tax_refund") in slots  # the first turn's outcome is kept
        first_bot_texts = [e["text"] for e in events if e["event"] == "bot" and e.get("text")]
        assert first_bot_texts[0] == texts(first)[0]

        actions = restart_actions(assistant, workdir)
        try:
            after = assistant.say(sender, AFTER_RESTART)
        finally:
            stop(actions)
        assert scam_types(after) and safe not in texts(after)

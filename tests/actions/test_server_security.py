"""The action server's secret check and error bodies, without Rasa.

The app is built by rasa_sdk's own `endpoint.run("actions")` (only Sanic's `run`, which
would serve, is replaced), so the plugin is attached the way the real server attaches it.
"""

import asyncio
import hmac
import json
import logging
import os
import subprocess
import sys

import pytest
import rasa_sdk.endpoint
from rasa_sdk.interfaces import ActionExecutionRejection
from sanic import Sanic
from sanic_testing.testing import SanicASGITestClient

from actions import server_security
from actions.call_shape import call_problem
from actions.checks import ActionCheckNumber
from actions.server_security import SECRET_ENV, MissingSecret
from core.settings import MIN_ACTION_SECRET_LENGTH as MIN_SECRET_LENGTH
from tests.conftest import ROOT

SECRET = "s3cret-" + "x" * 40
RIGHT = {"Authorization": f"Bearer {SECRET}"}
# Stands for what a customer typed: it must never come back in a response or a log line.
CUSTOMER_TEXT = "我的验证码是 TRACKER-ONLY-4711"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Sanic's ASGI-mode notes


def action_call(action="action_check_number", text=CUSTOMER_TEXT):
    return {
        "next_action": action,
        "sender_id": "unit-security",
        "version": "3.6.21",
        "tracker": {"sender_id": "unit-security", "slots": {}, "events": [],
                    "latest_message": {"text": text, "intent": {"name": "check_number"},
                                       "entities": []}},
        "domain": {},
    }


# ---- the secret check ---------------------------------------------------------------

def test_right_secret_passes_and_anything_else_fails():
    assert server_security.authorised(f"Bearer {SECRET}", SECRET)
    for header in (None, "", SECRET, f"Bearer {SECRET}x", f"Bearer {SECRET[:-1]}",
                   f"bearer {SECRET}", f"Basic {SECRET}", "Bearer 验证码", f"Bearer  {SECRET}"):
        assert not server_security.authorised(header, SECRET), header


def test_the_comparison_is_constant_time(monkeypatch):
    seen, compare_digest = [], hmac.compare_digest

    def spy(given, expected):
        seen.append((given, expected))
        return compare_digest(given, expected)

    monkeypatch.setattr(server_security.hmac, "compare_digest", spy)
    assert server_security.authorised(f"Bearer {SECRET}", SECRET)
    assert not server_security.authorised("Bearer forged", SECRET)
    assert seen == [(f"Bearer {SECRET}".encode(), f"Bearer {SECRET}".encode()),
                    (b"Bearer forged", f"Bearer {SECRET}".encode())]


@pytest.mark.parametrize("value, problem", [
    (None, "is not set"), ("", "is not set"),
    ("x" * (MIN_SECRET_LENGTH - 1), f"shorter than {MIN_SECRET_LENGTH}"),
])
def test_no_or_short_secret_stops_the_server_saying_what_to_set(monkeypatch, value, problem):
    if value is None:
        monkeypatch.delenv(SECRET_ENV, raising=False)
    else:
        monkeypatch.setenv(SECRET_ENV, value)
    with pytest.raises(MissingSecret) as refusal:
        server_security.checked_secret()
    assert isinstance(refusal.value, SystemExit)  # exits the CLI with the message, status 1
    assert SECRET_ENV in str(refusal.value) and problem in str(refusal.value)


def test_error_bodies_are_fixed_and_keep_only_a_plain_action_name():
    assert server_security.error_body(401) == {"error": "Unauthorized"}
    assert server_security.error_body(500, "action_x") == {"error": "Internal Server Error"}
    # Rasa needs action_name in a 400 to treat it as a rejection.
    assert server_security.error_body(400, "action_check_number") == {
        "error": "action rejected execution", "action_name": "action_check_number"}
    assert server_security.error_body(400, CUSTOMER_TEXT) == {"error": "Bad Request"}


# ---- the app as rasa_sdk builds it ----------------------------------------------------

async def _run_or_fail(self, dispatcher, tracker, domain):
    """action_check_number, except that it rejects or crashes when told to."""
    text = tracker.latest_message.get("text", "")
    if text.startswith("reject"):
        raise ActionExecutionRejection(self.name(), "the form cannot take this")
    if text.startswith("crash"):
        raise ValueError(f"cannot handle {text}")  # a message quoting the customer
    return await ORIGINAL_RUN(self, dispatcher, tracker, domain)


ORIGINAL_RUN = ActionCheckNumber.run


@pytest.fixture(scope="module")
def app():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, SECRET)
        patch.setattr(Sanic, "test_mode", True)  # several apps named "rasa_sdk" in one process
        patch.setattr(ActionCheckNumber, "run", _run_or_fail)
        served = []
        patch.setattr(Sanic, "run", lambda self, *args, **kwargs: served.append(self))
        rasa_sdk.endpoint.run("actions")
        yield served[0]


def call(app, method, path, **kwargs):
    async def request():
        _, response = await getattr(SanicASGITestClient(app), method)(path, **kwargs)
        return response.status, response.body.decode("utf-8")

    return asyncio.run(request())


def test_without_a_secret_rasa_sdk_run_stops_before_serving(monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.setattr(Sanic, "test_mode", True)
    served = []
    monkeypatch.setattr(Sanic, "run", lambda self, *args, **kwargs: served.append(self))
    with pytest.raises(MissingSecret):
        rasa_sdk.endpoint.run("actions")
    assert served == []


@pytest.mark.parametrize("package", ["actions", "actions.checks"])
def test_a_fresh_action_server_has_the_check_whatever_actions_module_it_loads(package):
    # In a new interpreter nothing is imported yet: this is the order rasa_sdk really uses
    # (import the actions, then call the hook), also for `--actions actions.checks`.
    script = ("import sanic, rasa_sdk.endpoint as endpoint\n"
              "sanic.Sanic.run = lambda *args, **kwargs: print('SERVING')\n"
              f"endpoint.run({package!r})\n")
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "SERVING" not in result.stdout
    assert f"{SECRET_ENV} is not set" in result.stderr


def test_health_is_open_and_says_nothing_else(app):
    assert call(app, "get", "/health") == (200, '{"status":"ok"}')


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer forged"},
                                     {"Authorization": SECRET}, {"X-Action-Secret": SECRET}])
def test_calls_without_the_right_secret_get_401_and_no_tracker(app, headers):
    for method, path, kwargs in (("post", "/webhook", {"json": action_call()}),
                                 ("get", "/actions", {}), ("get", "/nowhere", {})):
        status, body = call(app, method, path, headers=headers, **kwargs)
        assert (status, json.loads(body)) == (401, {"error": "Unauthorized"}), path


def test_the_right_secret_runs_the_action(app):
    status, body = call(app, "post", "/webhook", json=action_call(), headers=RIGHT)
    assert status == 200 and "responses" in json.loads(body)


@pytest.mark.parametrize("kwargs, status, expected", [
    # rasa_sdk: 404 naming the action asked for.
    ({"json": action_call(action="action_" + "nope")}, 404, {"error": "Not Found"}),
    # rasa_sdk: 400 with the action's own message.
    ({"json": action_call(text="reject " + CUSTOMER_TEXT)}, 400,
     {"error": "action rejected execution", "action_name": "action_check_number"}),
    # rasa_sdk: 500 with the exception's message and the whole request body.
    ({"json": action_call(text="crash " + CUSTOMER_TEXT)}, 500, {"error": "Internal Server Error"}),
    # Not JSON, and JSON that is not an action call (the first one was a 500 in rasa_sdk).
    ({"json": {**action_call(), "tracker": None}}, 400, {"error": "Bad Request"}),
    ({"content": b'{"tracker": "' + CUSTOMER_TEXT.encode() + b'"'}, 400, {"error": "Bad Request"}),
    ({"content": b"null"}, 400, {"error": "Bad Request"}),
    # A deflated body that does not inflate: a 500 in rasa_sdk.
    ({"content": b"\x78\x9c" + CUSTOMER_TEXT.encode(), "headers": {**RIGHT, "Content-Encoding": "deflate"}},
     400, {"error": "Bad Request"}),
])
def test_error_responses_are_short_and_never_echo_the_request(app, caplog, kwargs, status, expected):
    kwargs = {"headers": RIGHT, **kwargs}
    with caplog.at_level(logging.DEBUG):
        got_status, body = call(app, "post", "/webhook", **kwargs)
    assert (got_status, json.loads(body)) == (status, expected)
    assert "TRACKER-ONLY" not in caplog.text


def test_a_crash_is_logged_by_type_and_place_without_its_message(app, caplog):
    with caplog.at_level(logging.ERROR):
        call(app, "post", "/webhook", json=action_call(text="crash " + CUSTOMER_TEXT), headers=RIGHT)
    assert "ValueError" in caplog.text and "_run_or_fail" in caplog.text
    assert "TRACKER-ONLY" not in caplog.text and "验证码" not in caplog.text


# ---- hostile input from the wire (issue 15) -----------------------------------------

def test_an_authorization_header_that_is_not_utf8_is_refused_not_a_crash():
    # Sanic decodes header bytes that are not UTF-8 as surrogate escapes ("\xff" -> "\udcff").
    for header in ("Bearer \udcff\udcfe", f"Bearer {SECRET}\udcff", "\udc80", "Bearer \ud800"):
        assert not server_security.authorised(header, SECRET), header
    secret = "s3cret-\u00e9-" + "x" * 40
    sent = f"Bearer {secret}".encode("utf-8").decode("utf-8", "surrogateescape")
    assert server_security.authorised(sent, secret)


def deep_call(depth: int) -> bytes:
    call = json.dumps(action_call())
    return call.replace('"slots": {}', '"slots": {"x": ' + "[" * depth + "1" + "]" * depth + "}")\
        .encode()


def test_a_call_nesting_too_deep_is_refused_before_parsing_with_a_chinese_reason(app):
    status, body = call(app, "post", "/webhook", content=deep_call(1000), headers=RIGHT)
    assert status == 400
    assert json.loads(body) == server_security.TOO_DEEP and "嵌套太深" in body
    # Without the secret it is a 401 like any other call.
    status, body = call(app, "post", "/webhook", content=deep_call(1000))
    assert (status, json.loads(body)) == (401, {"error": "Unauthorized"})


def test_a_real_call_is_far_from_the_depth_limit(app):
    # The deepest measured call is 9 levels; customers' metadata adds up to 31.
    status, _ = call(app, "post", "/webhook", content=deep_call(40), headers=RIGHT)
    assert status == 200


def test_the_action_server_bounds_the_size_of_a_call(app):
    assert app.config.REQUEST_MAX_SIZE == server_security.MAX_CALL_BYTES < 100_000_000


def test_a_deflated_call_is_bounded_once_inflated(app):
    import zlib

    deflated = {**RIGHT, "Content-Encoding": "deflate"}
    status, body = call(app, "post", "/webhook", headers=deflated,
                        content=zlib.compress(json.dumps(action_call()).encode()))
    assert status == 200 and "responses" in json.loads(body)
    bomb = zlib.compress(b" " * (server_security.MAX_CALL_BYTES + 1), 9)  # 8 KB that inflates to 8 MB
    status, body = call(app, "post", "/webhook", headers=deflated, content=bomb)
    assert (status, json.loads(body)) == (413, server_security.TOO_LARGE)
    status, _ = call(app, "post", "/webhook", headers=deflated,
                     content=zlib.compress(deep_call(1000)))
    assert status == 400
    truncated = zlib.compress(json.dumps(action_call()).encode())[:-6]
    assert call(app, "post", "/webhook", headers=deflated, content=truncated)[0] == 400


@pytest.mark.parametrize("change", [
    {"next_action": None}, {"next_action": 1}, {"version": 3}, {"domain": []},
    {"tracker": []}, {"tracker": {"slots": {}}}, {"tracker": {"sender_id": 1}},
    {"tracker": {"sender_id": "s", "slots": []}},
    {"tracker": {"sender_id": "s", "latest_message": "text"}},
    {"tracker": {"sender_id": "s", "events": [1]}},
    {"tracker": {"sender_id": "s", "events": {"event": "user"}}},
    {"tracker": {"sender_id": "s", "active_loop": "form"}},
    {"tracker": {"sender_id": "s", "paused": "no"}},
    {"tracker": {"sender_id": "s", "latest_message": {"text": 1}}},
    {"tracker": {"sender_id": "s", "latest_message": {"intent": "greet"}}},
    {"tracker": {"sender_id": "s", "latest_message": {"entities": ["x"]}}},
    {"tracker": {"sender_id": "s", "latest_message": {"metadata": []}}},
])
def test_a_call_not_shaped_like_rasas_is_a_400_before_any_action_runs(app, change):
    status, body = call(app, "post", "/webhook", json={**action_call(), **change}, headers=RIGHT)
    assert (status, json.loads(body)) == (400, {"error": "Bad Request"})
    assert call_problem({**action_call(), **change})
    assert call_problem(action_call()) is None


def test_values_of_the_wrong_type_are_left_out_and_the_action_runs(app, caplog):
    import zlib

    body = action_call(action="action_follow_up")
    body["tracker"]["slots"] = {"scam_type": ["tax_refund"], "atm_id": {"nested": [1, 2]}}
    body["tracker"]["latest_message"]["entities"] = [{"entity": "scam_type", "value": ["x"]}]
    with caplog.at_level(logging.WARNING):
        assert call(app, "post", "/webhook", json=body, headers=RIGHT)[0] == 200
        deflated = {**RIGHT, "Content-Encoding": "deflate"}
        assert call(app, "post", "/webhook", headers=deflated,
                    content=zlib.compress(json.dumps(body).encode()))[0] == 200
    assert "tracker.slots.scam_type" in caplog.text and "nested" not in caplog.text

"""Who may call the action server and Rasa's HTTP API, over real HTTP.

The shared `assistant` is the public profile (what `make run` starts); the internal
profile (API behind JWT), a Rasa server sending the wrong secret and an action server
without one are started here. scripts/run.sh's command lines are checked with a stand-in
`rasa`, so that no test has to start a third real pair for it.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import jwt
import pytest

from tests.e2e.servers import RASA, REPO, free_port, running_assistant

# Stands for what a customer typed: it must never come back from the action server.
CUSTOMER_TEXT = "我的卡号 6222 SECRET-TRACKER-TEXT"
JWT_SECRET = "internal-profile-" + "k" * 40


def http(method: str, url: str, body: Optional[bytes] = None,
         headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def action_call(action: str = "action_assess_scam", latest_message=None) -> bytes:
    """What Rasa posts to /webhook, with the customer's words in the tracker."""
    intent = {"name": "scam_tax_refund", "confidence": 1.0}
    event = {"event": "user", "text": CUSTOMER_TEXT, "parse_data": {"intent": intent, "entities": []}}
    if latest_message is None:
        latest_message = {"text": CUSTOMER_TEXT, "intent": intent, "entities": []}
    return json.dumps({
        "next_action": action, "sender_id": "e2e-security", "version": "3.6.21", "domain": {},
        "tracker": {"sender_id": "e2e-security", "slots": {}, "events": [event],
                    "latest_message": latest_message},
    }, ensure_ascii=False).encode("utf-8")


def bearer(secret: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# ---- the action server (public profile) ---------------------------------------------

@pytest.mark.parametrize("headers", [{}, bearer("forged-" + "x" * 40), {"X-Action-Secret": "x"}])
def test_action_server_refuses_a_call_without_the_secret(assistant, headers):
    status, body = http("POST", f"{assistant.actions_url}/webhook", action_call(), headers)
    assert status == 401
    assert json.loads(body) == {"error": "Unauthorized"}  # nothing of the tracker
    status, body = http("GET", f"{assistant.actions_url}/actions", headers=headers)
    assert status == 401


def test_action_server_runs_the_action_for_the_secret(assistant):
    status, body = http("POST", f"{assistant.actions_url}/webhook", action_call(),
                        bearer(assistant.action_secret))
    assert status == 200
    assert any(r.get("custom", {}).get("scam_type") == "tax_refund" for r in json.loads(body)["responses"])


def test_action_server_health_stays_open(assistant):
    assert http("GET", f"{assistant.actions_url}/health") == (200, '{"status":"ok"}')


def test_action_server_errors_do_not_echo_the_request(assistant):
    url, secret = f"{assistant.actions_url}/webhook", bearer(assistant.action_secret)
    cases = [
        (action_call("action_that_does_not_exist"), 404, {"error": "Not Found"}),
        # The action crashes on a malformed tracker; rasa_sdk would send the whole request back.
        (action_call(latest_message=CUSTOMER_TEXT), 500, {"error": "Internal Server Error"}),
        (action_call()[:-5], 400, {"error": "Bad Request"}),  # cut-off JSON
    ]
    for body, status, expected in cases:
        got_status, got_body = http("POST", url, body, secret)
        assert (got_status, json.loads(got_body)) == (status, expected)
    log = (assistant.tracker_db.parent / "actions.log").read_text(encoding="utf-8", errors="replace")
    assert "SECRET-TRACKER-TEXT" not in log


def test_action_server_without_a_secret_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_SECRET"}
    result = subprocess.run(
        [RASA, "run", "actions", "--actions", "actions", "--port", str(free_port())],
        cwd=REPO, env={**env, "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode != 0
    assert "ACTION_SERVER_SECRET is not set" in result.stderr
    assert "Action endpoint is up and running" not in result.stdout + result.stderr


# ---- Rasa's side ----------------------------------------------------------------------

def test_rasa_sends_the_secret_and_custom_actions_answer(assistant):
    messages = assistant.say("e2e-security-ok", "税务局说退税")
    assert any(m.get("custom", {}).get("type") == "scam_assessment" for m in messages)


@pytest.mark.parametrize("method, path", [
    ("GET", "/status"), ("GET", "/conversations/e2e-security-ok/tracker"),
    ("POST", "/model/parse"), ("GET", "/domain"),
])
def test_rasa_http_api_is_off_in_the_public_profile(assistant, method, path):
    body = b'{"text": "hi"}' if method == "POST" else None
    status, _ = http(method, assistant.rasa_url + path, body)
    assert status == 404


@pytest.fixture(scope="module")
def wrong_secret(tmp_path_factory):
    with running_assistant(tmp_path_factory.mktemp("wrong-secret"),
                           rasa_sends_secret="not-the-action-secret-" + "w" * 30) as running:
        yield running


def test_rasa_with_a_wrong_secret_still_answers_the_customer(wrong_secret):
    status, _ = wrong_secret.post(json.dumps(
        {"sender": "e2e-wrong-secret", "message": "税务局说退税"}).encode())
    assert status == 200
    log = (wrong_secret.tracker_db.parent / "actions.log").read_text(encoding="utf-8")
    assert "refused a POST call without the right secret" in log


# ---- the internal profile: Rasa's API behind JWT ------------------------------------

@pytest.fixture(scope="module")
def internal(tmp_path_factory):
    with running_assistant(tmp_path_factory.mktemp("internal"), api_jwt_secret=JWT_SECRET) as running:
        running.say("e2e-internal", "你好")
        yield running


def token(key: str = JWT_SECRET, role: str = "admin") -> str:
    claims = {"user": {"username": "ops", "role": role}, "exp": int(time.time()) + 300}
    return jwt.encode(claims, key, algorithm="HS256")


def test_internal_api_needs_a_valid_jwt(internal):
    tracker = f"{internal.rasa_url}/conversations/e2e-internal/tracker"
    assert http("GET", tracker)[0] == 401
    assert http("GET", tracker, headers=bearer(token(key="another-key-" + "z" * 40)))[0] == 401
    assert http("GET", f"{tracker}?token={JWT_SECRET}")[0] == 401  # no static --auth-token
    assert http("GET", tracker, headers=bearer(token(role="guest")))[0] == 403
    status, body = http("GET", tracker, headers=bearer(token()))
    assert status == 200 and json.loads(body)["sender_id"] == "e2e-internal"


# ---- scripts/run.sh's command lines, with a stand-in rasa ---------------------------

# Records its call and runs until stopped (the supervisor would restart one that exits).
FAKE_RASA = """#!/usr/bin/env bash
printf '%s\\n' "secret=$ACTION_SERVER_SECRET args=$*" >> "$(dirname "$0")/calls.log"
exec sleep 600
"""


# The Rasa server's entry point (`python -m server`) in the copy: the same stand-in.
FAKE_SERVER = """import os, sys
rasa = os.path.join(os.path.dirname(sys.executable), "rasa")
os.execv(rasa, [rasa, *sys.argv[1:]])
"""


@dataclass
class ScriptRun:
    returncode: int
    stderr: str


def run_script(tmp_path: Path, **env: str) -> Tuple[ScriptRun, list]:
    """scripts/run.sh in a copy of the repo whose .venv/bin/rasa and `python -m server`
    only record their calls; stopped with Ctrl-C once both have started."""
    (tmp_path / "scripts").mkdir()
    for script in ("run.sh", "server_secrets.sh"):
        shutil.copy(REPO / "scripts" / script, tmp_path / "scripts" / script)
    (tmp_path / "deploy").mkdir()
    shutil.copy(REPO / "deploy" / "supervise.py", tmp_path / "deploy" / "supervise.py")
    shutil.copy(REPO / "endpoints.yml", tmp_path / "endpoints.yml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(Path(RASA).with_name("python"))
    (bin_dir / "rasa").write_text(FAKE_RASA)
    (bin_dir / "rasa").chmod(0o755)
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "__main__.py").write_text(FAKE_SERVER)
    clean = {k: v for k, v in os.environ.items()
             if k not in ("ACTION_SERVER_SECRET", "RASA_API_JWT_SECRET")}
    log = bin_dir / "calls.log"
    stderr = tmp_path / "stderr"
    script = subprocess.Popen([str(tmp_path / "scripts" / "run.sh")], env={**clean, **env},
                              stdout=subprocess.DEVNULL, stderr=stderr.open("wb"),
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while script.poll() is None and time.monotonic() < deadline:
            if log.exists() and len(log.read_text().splitlines()) >= 2:
                time.sleep(0.5)  # room for a third call, which must not come
                os.killpg(script.pid, signal.SIGINT)  # Ctrl-C
                break
            time.sleep(0.1)
        script.wait(timeout=60)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    calls = sorted(log.read_text().splitlines()) if log.exists() else []
    return ScriptRun(script.returncode, stderr.read_text()), calls


def test_run_script_public_profile_has_no_api_and_one_fresh_secret(tmp_path):
    result, calls = run_script(tmp_path)
    assert result.returncode == 130, result.stderr
    assert len(calls) == 2 and any("args=run actions " in c for c in calls)
    (rasa_call,) = [c for c in calls if "args=run --model " in c]
    for flag in ("--enable-api", "--auth-token", "--jwt"):
        assert flag not in rasa_call
    (secret,) = {c.split()[0].removeprefix("secret=") for c in calls}  # the same for both
    assert len(secret) >= 32


def test_run_script_passes_a_given_secret_to_both(tmp_path):
    given = "given-secret-" + "g" * 40
    result, calls = run_script(tmp_path, ACTION_SERVER_SECRET=given)
    assert result.returncode == 130, result.stderr
    assert len(calls) == 2 and all(c.startswith(f"secret={given} ") for c in calls)


def test_run_script_internal_profile_enables_the_api_only_with_jwt(tmp_path):
    result, calls = run_script(tmp_path, RASA_API_JWT_SECRET=JWT_SECRET)
    assert result.returncode == 130, result.stderr
    (rasa_call,) = [c for c in calls if "args=run --model " in c]
    assert rasa_call.endswith(f"--enable-api --jwt-secret {JWT_SECRET} --jwt-method HS256")
    assert "--auth-token" not in rasa_call


def test_run_script_refuses_a_short_jwt_secret(tmp_path):
    result, calls = run_script(tmp_path, RASA_API_JWT_SECRET="short")
    assert result.returncode == 2 and "RASA_API_JWT_SECRET" in result.stderr
    assert calls == []  # nothing started

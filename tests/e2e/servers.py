"""Starts the real action server and Rasa server on free loopback ports.

Used by the end-to-end tests and by bench/nlu.py (server memory). Each run gets its own
endpoints file and SQLite tracker store in a scratch directory.
"""

import json
import os
import random
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import yaml

REPO = Path(__file__).resolve().parents[2]
RASA = str(Path(sys.executable).with_name("rasa"))
# The Rasa server as every profile starts it: settings checked, runtime installed first.
RASA_SERVER = [sys.executable, "-m", "server"]
MODEL = REPO / "models" / "assistant.tar.gz"
STARTUP_SECONDS = 180
# The e2e tests run the tracker store that ships, on their own database.
TRACKER_STORE = yaml.safe_load((REPO / "endpoints.yml").read_text())["tracker_store"]["type"]
# The bank's ATM list (ATM_LIST) the test servers run with, unless a test sets its own.
TEST_ATMS = ("ATM-0001", "ATM-0042", "ATM-0042_b")


# Ports below Linux's ephemeral range (32768-60999): no outgoing connection of this or
# another process is given one of them while a server is starting on it.
_PORTS = range(20000, 32000)
_handed_out: set = set()


def free_port() -> int:
    """A loopback port nobody listens on, never the same one twice in this process: the
    kernel's port 0 may hand the same port to two servers started one after the other."""
    for _ in range(1000):
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port in 20000-32000")


def answers(url: str) -> bool:
    """Whether anything answers a GET at `url` (any HTTP status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=30):
            return True
    except OSError:
        return False


def say_over_rest(rasa_url: str, sender: str, message: str) -> List[Dict]:
    """One customer turn on the REST channel of the Rasa server at `rasa_url`."""
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} not up after {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


@dataclass
class Assistant:
    rasa_url: str
    actions_url: str
    rasa: subprocess.Popen
    actions: subprocess.Popen
    tracker_db: Path
    action_secret: str = ""  # what the action server expects (Authorization: Bearer ...)

    def stored_events(self, sender: str) -> List[Dict]:
        """The conversation as the SQLite tracker store holds it, oldest first."""
        with sqlite3.connect(self.tracker_db) as db:
            rows = db.execute(
                "SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
            ).fetchall()
        return [json.loads(data) for (data,) in rows]

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def post(self, body: bytes, content_type: str = "application/json") -> Tuple[int, object]:
        """POST raw bytes to the REST channel; returns (status, decoded JSON or text)."""
        request = urllib.request.Request(
            self.webhook, data=body, headers={"Content-Type": content_type}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                status, raw = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def say(self, sender: str, message: str) -> List[Dict]:
        """One customer turn; asserts HTTP 200 and returns the bot's messages."""
        status, messages = self.post(
            json.dumps({"sender": sender, "message": message}).encode("utf-8")
        )
        assert status == 200, (status, messages)
        return messages


def _spawn(args: List[str], log: Path, env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def running_assistant(
    workdir: Path,
    extra_env: Dict[str, str] = None,
    *,
    rasa_sends_secret: Optional[str] = None,
    api_jwt_secret: Optional[str] = None,
    stores: Optional[str] = None,
) -> Iterator[Assistant]:
    """Both servers up and answering; stopped on exit.

    Both get ACTION_SERVER_SECRET (from extra_env or the environment, else a fresh one);
    rasa_sends_secret makes Rasa send another one instead. api_jwt_secret enables Rasa's
    HTTP API behind HS256 JWTs, as scripts/run.sh does with RASA_API_JWT_SECRET.
    stores: the endpoints file's tracker_store (and event_broker) sections as YAML,
    instead of the SQLite tracker store in workdir.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    stores = stores or (
        f'tracker_store:\n  type: {TRACKER_STORE}\n  dialect: "sqlite"\n  db: "{workdir / "rasa.db"}"\n'
    )
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        '  headers:\n    Authorization: Bearer ${ACTION_SERVER_SECRET}\n'  # unquoted: expanded
        + stores
    )
    atm_list = workdir / "atms.csv"
    atm_list.write_text("atm_id,location,branch\n" + "".join(
        f"{atm_id},测试网点,测试支行\n" for atm_id in TEST_ATMS), encoding="utf-8")
    # ENDPOINTS tells the action server where the tracker store is (handoff records).
    # The tests send everything from one address, faster than any customer: rate limits
    # are off unless a test sets them in extra_env.
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "ENDPOINTS": str(endpoints),
           "RATE_LIMIT_PER_SENDER": "off", "RATE_LIMIT_PER_IP": "off",
           "ATM_LIST": str(atm_list), **(extra_env or {})}
    # Rasa sends it (the endpoints file above); the action server refuses calls without it.
    if not env.get("ACTION_SERVER_SECRET"):
        env["ACTION_SERVER_SECRET"] = secrets.token_urlsafe(32)
    rasa_env = {**env, "ACTION_SERVER_SECRET": rasa_sends_secret or env["ACTION_SERVER_SECRET"]}
    api_args = (["--enable-api", "--jwt-secret", api_jwt_secret, "--jwt-method", "HS256"]
                if api_jwt_secret else [])
    actions = _spawn(
        [RASA, "run", "actions", "--actions", "actions", "--port", str(actions_port)],
        workdir / "actions.log",
        env,
    )
    rasa = _spawn(
        [*RASA_SERVER, "run", "--model", str(MODEL), "--port", str(rasa_port),
         "--endpoints", str(endpoints), "--credentials", "credentials.yml", *api_args],
        workdir / "rasa.log",
        rasa_env,
    )
    assistant = Assistant(
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        actions_url=f"http://127.0.0.1:{actions_port}",
        rasa=rasa,
        actions=actions,
        tracker_db=workdir / "rasa.db",
        action_secret=env["ACTION_SERVER_SECRET"],
    )
    try:
        _wait_until_up(f"{assistant.actions_url}/health", actions, workdir / "actions.log")
        _wait_until_up(f"{assistant.rasa_url}/webhooks/rest/", rasa, workdir / "rasa.log")
        yield assistant
    finally:
        stop(rasa)
        stop(actions)

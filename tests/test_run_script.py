"""`make run`'s script with the real servers: all three answer; each can be killed (SIGKILL,
as an out-of-memory kill or a crash ends it) and the assistant answers again within 30
seconds with no stored turn lost; Ctrl-C stops everything and exits 130.

Runs scripts/run.sh in a copy of the repository (every entry a symlink but scripts/), so
the SQLite tracker store it writes (rasa.db) is this test's own.
"""

import os
import signal
import sqlite3
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import List

import psutil
import pytest

from core.replies import safe_reply
from core.settings import load
from tests.e2e.servers import MODEL, REPO, answers, free_port, say_over_rest

STARTUP_SECONDS = 240
# Each process killed in turn, the assistant must answer again within this.
ANSWER_AGAIN_SECONDS = 30
SENDER = "run-script-supervised"
TURNS = ["税务局说退税", "公安局说我涉嫌洗钱", "我该怎么办", "我是不是被骗了"]


def repository_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    copy.mkdir()
    for entry in REPO.iterdir():
        if entry.name in ("scripts", "rasa.db") or entry.name.startswith(".git"):
            continue
        (copy / entry.name).symlink_to(entry)
    shutil.copytree(REPO / "scripts", copy / "scripts")
    return copy


def wait_until(condition, seconds: float, what: str, log: Path) -> float:
    """Seconds it took; fails with the end of the log."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"{what}:\n{log.read_text()[-4000:]}"
        time.sleep(0.25)
    return time.monotonic() - started


def listener(port: int) -> psutil.Process:
    """The process that holds `port` open for connections."""
    for connection in psutil.net_connections("tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            return psutil.Process(connection.pid)
    raise AssertionError(f"nothing listens on {port}")


def turn(rasa_port: int, text: str) -> List[dict]:
    return say_over_rest(f"http://127.0.0.1:{rasa_port}", SENDER, text)


def answered(rasa_port: int, text: str, replies: list) -> bool:
    try:
        replies.append(turn(rasa_port, text))
        return True
    except OSError:
        return False


def stored_user_texts(db: Path) -> List[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? ORDER BY id", (SENDER,)).fetchall()
    return [e["text"] for e in map(json.loads, (data for (data,) in rows)) if e["event"] == "user"]


def test_run_supervises_the_servers_and_ctrl_c_stops_all(tmp_path):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    copy = repository_copy(tmp_path)
    rasa_port, action_port, staff_port = free_port(), free_port(), free_port()
    # One sender, faster than a customer: no rate limit in the way.
    env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port),
           "STAFF_PORT": str(staff_port), "MODEL": str(MODEL),
           "RATE_LIMIT_PER_SENDER": "off", "RATE_LIMIT_PER_IP": "off"}
    log = tmp_path / "run.log"
    script = subprocess.Popen(["scripts/run.sh"], cwd=copy, env=env, start_new_session=True,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    actions_url = f"http://127.0.0.1:{action_port}/health"
    rasa_url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/"
    staff_url = f"http://127.0.0.1:{staff_port}/staff/login"
    safe = safe_reply(load({}).bank)
    try:
        wait_until(lambda: answers(actions_url) and answers(rasa_url) and answers(staff_url),
                   STARTUP_SECONDS, "the three servers up", log)
        # The Rasa server reaches the action server on the port asked for.
        assert any("custom" in m for m in turn(rasa_port, TURNS[0]))

        # The action server dies: the Rasa server keeps answering (the safe reply), and
        # the real answers come back once the supervisor has restarted it.
        listener(action_port).kill()
        killed_at = time.monotonic()
        assert [m.get("text") for m in turn(rasa_port, TURNS[1])] == [safe]
        wait_until(lambda: answers(actions_url), ANSWER_AGAIN_SECONDS,
                   "the action server restarted", log)
        replies = [turn(rasa_port, TURNS[2])]
        assert safe not in [m.get("text") for m in replies[0]] and replies[0]
        took = time.monotonic() - killed_at
        assert took < ANSWER_AGAIN_SECONDS
        print(f"action server killed: real answers again after {took:.1f} s")
        assert "actions (pid" in log.read_text() and "killed by SIGKILL" in log.read_text()

        # The Rasa server dies: the spare, loaded beforehand, takes the port over.
        wait_until(lambda: "standing by" in log.read_text(), STARTUP_SECONDS,
                   "the spare Rasa server has loaded its model", log)
        serving = listener(rasa_port)
        serving.kill()
        before = len(replies)
        took = wait_until(lambda: answered(rasa_port, TURNS[3], replies), ANSWER_AGAIN_SECONDS,
                          "answers again after the Rasa server was killed", log)
        print(f"Rasa server killed: answers again after {took:.1f} s")
        assert len(replies) == before + 1 and replies[-1]
        assert listener(rasa_port).pid != serving.pid
        text = log.read_text()
        assert f"(pid {serving.pid}) was killed by SIGKILL" in text and "takes over port" in text

        # Nothing stored was lost, and in order.
        assert stored_user_texts(copy / "rasa.db") == TURNS

        os.killpg(script.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        assert script.wait(timeout=90) == 130
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    assert not answers(actions_url)
    assert not answers(rasa_url)
    assert not answers(staff_url)
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(copy) in " ".join(p.info["cmdline"] or []) or
                f"--port {rasa_port}" in " ".join(p.info["cmdline"] or [])]

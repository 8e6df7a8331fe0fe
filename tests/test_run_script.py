"""`make run`'s script: both servers answer, and Ctrl-C stops both."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from tests.e2e.servers import MODEL, REPO, free_port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=30):
            return True
    except OSError:
        return False


def test_run_starts_both_servers_and_ctrl_c_stops_both(tmp_path):
    rasa_port, action_port = free_port(), free_port()
    env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port),
           "MODEL": str(MODEL)}
    script = subprocess.Popen(
        ["scripts/run.sh"], cwd=REPO, env=env, start_new_session=True,
        stdout=(tmp_path / "run.log").open("wb"), stderr=subprocess.STDOUT,
    )
    rasa_url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    try:
        deadline = time.monotonic() + 180
        while not (_answers(f"http://127.0.0.1:{action_port}/health")
                   and _answers(f"http://127.0.0.1:{rasa_port}/webhooks/rest/")):
            assert script.poll() is None and time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(0.5)
        # The Rasa server reaches the action server on the port asked for.
        body = json.dumps({"sender": "run-script", "message": "税务局说退税"}).encode()
        with urllib.request.urlopen(urllib.request.Request(
                rasa_url, data=body, headers={"Content-Type": "application/json"}), timeout=60) as reply:
            assert any("custom" in m for m in json.loads(reply.read()))

        os.killpg(script.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        script.wait(timeout=60)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    assert not _answers(f"http://127.0.0.1:{action_port}/health")
    assert not _answers(f"http://127.0.0.1:{rasa_port}/webhooks/rest/")

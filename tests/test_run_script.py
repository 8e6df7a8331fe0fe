"""`make run`'s script: the three servers answer, and Ctrl-C stops them all."""

import os
import signal
import subprocess
import time
from tests.e2e.servers import MODEL, REPO, answers, free_port, say_over_rest


def test_run_starts_the_servers_and_ctrl_c_stops_them(tmp_path):
    rasa_port, action_port, staff_port = free_port(), free_port(), free_port()
    env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port),
           "STAFF_PORT": str(staff_port), "MODEL": str(MODEL)}
    script = subprocess.Popen(
        ["scripts/run.sh"], cwd=REPO, env=env, start_new_session=True,
        stdout=(tmp_path / "run.log").open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while not (answers(f"http://127.0.0.1:{action_port}/health")
                   and answers(f"http://127.0.0.1:{rasa_port}/webhooks/rest/")
                   and answers(f"http://127.0.0.1:{staff_port}/staff/login")):
            assert script.poll() is None and time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(0.5)
        # The Rasa server reaches the action server on the port asked for.
        reply = say_over_rest(f"http://127.0.0.1:{rasa_port}", "run-script", "税务局说退税")
        assert any("custom" in m for m in reply)

        os.killpg(script.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        script.wait(timeout=60)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    assert not answers(f"http://127.0.0.1:{action_port}/health")
    assert not answers(f"http://127.0.0.1:{rasa_port}/webhooks/rest/")
    assert not answers(f"http://127.0.0.1:{staff_port}/staff/login")

"""deploy/supervise.py, what `make run` runs: restarts with a back-off and says why, keeps
a spare that takes the port over, stops everything in order on Ctrl-C with exit 130.

Stand-in programs (sh, a small port-holding Python script) instead of the real servers:
tests/test_run_script.py runs the real ones under scripts/run.sh.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import psutil
import pytest

from deploy.supervise import Program, Supervisor, parse_programs
from tests.e2e.servers import REPO, free_port

# Binds PORT as soon as it is free (as server/standby.py makes the Rasa server do),
# appends "serving <pid>" to LOG, then listens and accepts connections until it is killed.
HOLDER = """
import os, socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
while True:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        break
    except OSError:
        sock.close()
        time.sleep(0.1)
with open(log, "a") as out:  # before listen(): written by the time the port answers
    out.write(f"serving {os.getpid()}\\n")
sock.listen()
while True:
    sock.accept()[0].close()
"""


def wait_for(condition, seconds: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


class Run:
    """The supervisor as a process of its own, as run.sh starts it."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.log = tmp_path / "supervise.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deploy.supervise", *args], cwd=REPO,
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text()

    def children(self) -> List[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for child in self.children():
            child.kill()


@pytest.fixture
def run(tmp_path):
    runs: List[Run] = []

    def start(*args: str) -> Run:
        runs.append(Run(tmp_path, *args))
        return runs[-1]

    yield start
    for started in runs:
        started.stop()


def test_program_groups_name_port_and_copies():
    programs = parse_programs(["--", "actions@5055", "rasa", "run", "actions",
                               "--", "rasa@5005:2", "python", "-m", "server", "run"])
    assert programs == [Program("actions", ["rasa", "run", "actions"], 5055, 1),
                        Program("rasa", ["python", "-m", "server", "run"], 5005, 2)]
    for bad in (["--", "x:2", "cmd"], ["--", "x"], [], ["--", "9x", "cmd"]):
        with pytest.raises(ValueError):
            parse_programs(bad)


def test_back_off_doubles_while_a_program_keeps_dying_and_starts_over_after_a_minute():
    now = [0.0]
    supervisor = Supervisor([Program("crashing", ["sh", "-c", "exit 1"])], clock=lambda: now[0])
    slot = supervisor.slots[0]
    delays = []
    for _ in range(7):
        assert supervisor._step() is None and slot.process is not None  # started
        slot.process.wait()
        now[0] += 0.5  # died half a second after its start
        supervisor._step()
        delays.append(slot.restart_at - now[0])
        now[0] = slot.restart_at
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    supervisor._step()
    now[0] += 61  # ran a minute before it died: not a crash loop
    slot.process.wait()
    supervisor._step()
    assert slot.restart_at - now[0] == 1


def test_a_killed_program_is_restarted_with_a_log_line_saying_why(run):
    supervised = run("--", "worker", "sh", "-c", "exec sleep 600")
    wait_for(lambda: len(supervised.children()) == 1, what="first start")
    first = supervised.children()[0]
    first.kill()  # SIGKILL, as the kernel's out-of-memory killer sends it
    wait_for(lambda: [c.pid for c in supervised.children()] not in ([], [first.pid]),
             seconds=10, what="restart")
    log = supervised.text()
    assert f"worker (pid {first.pid})" in log and "killed by SIGKILL" in log
    assert "out-of-memory" in log and "restarting in 1 s" in log
    assert supervised.process.poll() is None


def test_ctrl_c_stops_programs_in_reverse_order_and_exits_130(run, tmp_path):
    order = tmp_path / "order"
    # Each writes its name when it gets SIGTERM; the second ignores it and needs SIGKILL.
    supervised = run(
        "--grace", "1",
        "--", "first", "sh", "-c", f"trap 'echo first >> {order}; exit 0' TERM; while :; do sleep 0.1; done",
        "--", "second", "sh", "-c", f"trap 'echo second >> {order}' TERM; while :; do sleep 0.1; done",
    )
    wait_for(lambda: len(supervised.children()) == 2, what="both started")
    children = supervised.children()
    os.killpg(supervised.process.pid, signal.SIGINT)  # what Ctrl-C sends the terminal's group
    assert supervised.process.wait(timeout=20) == 130
    assert order.read_text().split() == ["second", "first"]
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE
                   for child in children)
    assert "everything stopped" in supervised.text()


def test_sigterm_stops_everything_and_exits_143(run):
    supervised = run("--", "worker", "sleep", "600")
    wait_for(lambda: len(supervised.children()) == 1)
    child = supervised.children()[0]
    supervised.process.send_signal(signal.SIGTERM)
    assert supervised.process.wait(timeout=20) == 143
    wait_for(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE)


def test_a_configuration_error_is_not_restarted(run):
    supervised = run("--", "steady", "sleep", "600", "--", "misconfigured", "sh", "-c", "exit 2")
    assert supervised.process.wait(timeout=20) == 2
    log = supervised.text()
    assert "configuration error" in log and log.count("started misconfigured") == 1


def test_children_go_when_the_supervisor_is_killed(run):
    supervised = run("--", "worker", "sleep", "600")
    wait_for(lambda: len(supervised.children()) == 1)
    child = supervised.children()[0]
    supervised.process.kill()
    supervised.process.wait()
    wait_for(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE,
             what="the orphan gets SIGTERM")


def test_a_spare_takes_the_port_over_and_a_new_spare_follows(run, tmp_path):
    port, serving = free_port(), tmp_path / "serving"
    holder = tmp_path / "holder.py"
    holder.write_text(HOLDER)
    supervised = run("--", f"server@{port}:2", sys.executable, str(holder), str(port), str(serving))
    wait_for(lambda: len(supervised.children()) == 2, what="the spare starts once the port answers")
    assert "answers on port" in supervised.text()
    (first_pid,) = [int(line.split()[1]) for line in serving.read_text().splitlines()]
    psutil.Process(first_pid).kill()
    wait_for(lambda: len(serving.read_text().splitlines()) == 2, seconds=5,
             what="the spare binds the port")
    # The supervisor notices the death within its poll interval: wait for what it does.
    wait_for(lambda: f"(pid {first_pid}) was killed by SIGKILL" in supervised.text(),
             what="the death is logged")
    wait_for(lambda: len([c for c in supervised.children() if c.pid != first_pid]) == 2,
             what="a new spare")
    wait_for(lambda: "takes over port" in supervised.text(), what="the take-over is logged")

"""Keeps the assistant's processes running: what `make run` (scripts/run.sh) starts.

    python -m deploy.supervise [--grace S] [--remove-on-exit FILE] \\
        -- actions@5055 .venv/bin/rasa run actions ... \\
        -- rasa@5005:2 .venv/bin/python -m server run ...

Each group after `--` is a program: NAME[@PORT][:COPIES] and its command line. Programs
start in the order given and stop in the reverse order.

- A process that dies (a crash, an out-of-memory kill) is restarted after a back-off:
  1 s, doubling up to 30 s while it keeps dying within a minute of its start, back to
  1 s once it has run a minute. Each death and restart is logged with its cause.
- A process that exits with status 2 (a configuration error: server/__main__.py, the
  command-line parsers) is not restarted; everything is stopped and the exit status is 2.
- COPIES > 1 keeps spare copies of a program: a spare starts only while PORT answers (so
  copies do not load their models at the same time), loads, and waits for the port
  (SERVER_WAIT_FOR_PORT, server/standby.py). When the serving copy dies, a spare binds
  the port within a fraction of a second instead of the minute a cold start of the Rasa
  server takes.
- While the action server is down the Rasa server keeps answering, with the safe reply
  (server/guard/safe_reply.py): the supervisor only has to bring it back.
- SIGINT (Ctrl-C) or SIGTERM: the programs are stopped in reverse order, each with
  SIGTERM and, after --grace seconds, SIGKILL (a second Ctrl-C kills at once); the exit
  status is then 130 or 143, whatever the children did. Every child runs in a session of
  its own, so a Ctrl-C on the terminal reaches only this process, which stops them in
  order; and each child gets SIGTERM if this process dies (PR_SET_PDEATHSIG).

Under systemd the same policy is two units (docs/systemd.md).
"""

import argparse
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

POLL_SECONDS = 0.1
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# A process that ran this long before it died was not crash-looping: back-off starts over.
STABLE_SECONDS = 60.0
DEFAULT_GRACE_SECONDS = 30.0
CONFIGURATION_ERROR = 2
PR_SET_PDEATHSIG = 1
PORT_CHECK_SECONDS = 1.0
try:
    _LIBC: Optional[ctypes.CDLL] = ctypes.CDLL(None, use_errno=True)  # loaded before any fork
except OSError:
    _LIBC = None

_PROGRAM = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?:@([0-9]{1,5}))?(?::([1-9]))?")


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} supervise: {message}", file=sys.stderr, flush=True)


@dataclass
class Program:
    name: str
    command: List[str]
    port: Optional[int] = None
    copies: int = 1


@dataclass
class Slot:
    """One copy of a program: its process, and when to start it again."""

    program: Program
    index: int
    process: Optional[subprocess.Popen] = None
    started_at: float = 0.0
    failures: int = 0  # deaths in a row, each within STABLE_SECONDS of its start
    restart_at: float = 0.0

    @property
    def label(self) -> str:
        return self.program.name if self.program.copies == 1 else f"{self.program.name}#{self.index + 1}"


def parse_programs(groups: Sequence[str]) -> List[Program]:
    """`-- NAME[@PORT][:COPIES] COMMAND...` groups; ValueError says what is wrong."""
    programs, current = [], None
    for token in groups:
        if token == "--":
            current = None
            continue
        if current is None:
            match = _PROGRAM.fullmatch(token)
            if not match:
                raise ValueError(f"expected NAME[@PORT][:COPIES] after --, got {token!r}")
            port = int(match[2]) if match[2] else None
            copies = int(match[3] or 1)
            if copies > 1 and port is None:
                raise ValueError(f"{token}: spare copies need a port to wait for")
            current = Program(match[1], [], port, copies)
            programs.append(current)
        else:
            current.command.append(token)
    for program in programs:
        if not program.command:
            raise ValueError(f"{program.name}: no command")
    if not programs:
        raise ValueError("no program given")
    return programs


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies, however it dies."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def describe_exit(returncode: int) -> Tuple[str, str]:
    """How a process ended, in Chinese and in English."""
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if name == "SIGKILL":
            return (f"被信号 {name} 终止（内存不足时系统就是这样杀进程的）",
                    f"was killed by {name} (an out-of-memory kill looks like this)")
        return f"被信号 {name} 终止", f"was killed by {name}"
    return f"退出，状态 {returncode}", f"exited with status {returncode}"


class Supervisor:
    def __init__(
        self, programs: List[Program], grace_seconds: float = DEFAULT_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.programs = programs
        self.slots = [Slot(p, i) for p in programs for i in range(p.copies)]
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.signals: List[int] = []
        self._answering = {p.name: False for p in programs}
        self._port_checked: dict = {}  # port -> (when, answered)

    # --- signals ------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame) -> None:
        self.signals.append(signum)

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    # --- running --------------------------------------------------------------------------

    def run(self) -> int:
        """Until a signal or a configuration error; returns the exit status."""
        names = "、".join(p.name for p in self.programs)
        log(f"启动 {names}（Ctrl-C 全部停止）/ starting {', '.join(p.name for p in self.programs)}"
            " (Ctrl-C stops all)")
        status = None
        while status is None:
            if self.signals:
                status = 130 if self.signals[0] == signal.SIGINT else 143
                break
            status = self._step()
            time.sleep(POLL_SECONDS)
        self.stop_all()
        return status

    def _step(self) -> Optional[int]:
        now = self.clock()
        for slot in self.slots:
            returncode = None if slot.process is None else slot.process.poll()
            if returncode is not None and self._died(slot, returncode, now):
                return CONFIGURATION_ERROR
        # Before any spare starts: the log says a port answers before the spare waiting on
        # it appears, the order in which it happened.
        self._report_answering()
        for slot in self.slots:
            if slot.process is None and now >= slot.restart_at and self._may_start(slot):
                self._start(slot, now)
        return None

    def _may_start(self, slot: Slot) -> bool:
        program = slot.program
        if slot.index == 0 or program.port is None:
            return True
        # A spare starts while another copy serves, so copies do not load at the same time.
        return self._port_answers(program.port)

    def _port_answers(self, port: int) -> bool:
        """port_answers, asked at most once a PORT_CHECK_SECONDS."""
        now = self.clock()
        checked_at, answered = self._port_checked.get(port, (None, False))
        if checked_at is None or now - checked_at >= PORT_CHECK_SECONDS:
            answered = port_answers(port)
            self._port_checked[port] = (now, answered)
        return answered

    def _start(self, slot: Slot, now: float) -> None:
        slot.process = subprocess.Popen(
            slot.program.command, start_new_session=True, preexec_fn=_die_with_parent,
        )
        slot.started_at = now
        spare = " 作为备用 / as a spare" if slot.index > 0 else ""
        log(f"已启动 {slot.label}（pid {slot.process.pid}）/ started {slot.label}"
            f" (pid {slot.process.pid}){spare}")

    def _died(self, slot: Slot, returncode: int, now: float) -> bool:
        """Logs the death and schedules the restart; True for a configuration error."""
        ran = now - slot.started_at
        pid = slot.process.pid
        slot.process = None
        how_zh, how_en = describe_exit(returncode)
        what_zh = f"{slot.label}（pid {pid}）运行 {ran:.0f} 秒后{how_zh}"
        what_en = f"{slot.label} (pid {pid}) {how_en} after {ran:.0f} s"
        if returncode == CONFIGURATION_ERROR:
            log(f"{what_zh}：配置错误，重启无济于事，全部停止 / {what_en}: a configuration"
                " error, restarting cannot help: stopping everything")
            return True
        slot.failures = 1 if ran >= STABLE_SECONDS else slot.failures + 1
        delay = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (slot.failures - 1))
        slot.restart_at = now + delay
        meanwhile_zh, meanwhile_en = self._meanwhile(slot)
        log(f"{what_zh}，{delay:.0f} 秒后重启{meanwhile_zh} / {what_en}; restarting in"
            f" {delay:.0f} s{meanwhile_en}")
        return False

    def _meanwhile(self, slot: Slot) -> Tuple[str, str]:
        program = slot.program
        if any(s.process is not None for s in self.slots if s.program is program):
            return (f"；另一份 {program.name} 接管端口 {program.port}",
                    f"; another copy of {program.name} takes over port {program.port}")
        if program.port is not None:
            self._answering[program.name] = False
        return "", ""

    def _report_answering(self) -> None:
        for program in self.programs:
            if program.port is None or self._answering[program.name]:
                continue
            if any(s.process is not None for s in self.slots if s.program is program) \
                    and self._port_answers(program.port):
                self._answering[program.name] = True
                log(f"{program.name} 在端口 {program.port} 应答 / {program.name} answers on"
                    f" port {program.port}")

    # --- stopping ------------------------------------------------------------------------

    def stop_all(self) -> None:
        """Every program in reverse order: SIGTERM, then SIGKILL after the grace time or
        at a second signal."""
        signals_seen = len(self.signals)
        for program in reversed(self.programs):
            slots = [s for s in self.slots if s.program is program and s.process is not None]
            if not slots:
                continue
            log(f"停止 {program.name} / stopping {program.name}")
            for slot in slots:
                self._signal(slot, signal.SIGTERM)
            deadline = self.clock() + self.grace_seconds
            while any(s.process.poll() is None for s in slots):
                if self.clock() >= deadline or len(self.signals) > signals_seen:
                    for slot in slots:
                        self._signal(slot, signal.SIGKILL)
                    for slot in slots:
                        slot.process.wait()
                    break
                time.sleep(POLL_SECONDS)
            for slot in slots:
                slot.process = None
        log("全部已停止 / everything stopped")

    @staticmethod
    def _signal(slot: Slot, signum: int) -> None:
        # Its whole process group (the child leads its own session): anything it started.
        try:
            os.killpg(slot.process.pid, signum)
        except ProcessLookupError:
            pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m deploy.supervise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_SECONDS,
                        help="seconds between SIGTERM and SIGKILL when stopping")
    parser.add_argument("--remove-on-exit", action="append", default=[],
                        help="a file to delete once everything has stopped")
    options = parser.parse_args(argv[:split])
    try:
        programs = parse_programs(argv[split:])
    except ValueError as problem:
        parser.error(str(problem))
    supervisor = Supervisor(programs, options.grace)
    supervisor.install_signal_handlers()
    try:
        return supervisor.run()
    finally:
        for path in options.remove_on_exit:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass


if __name__ == "__main__":
    sys.exit(main())

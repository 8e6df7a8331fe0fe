"""The Rasa server's side of the OCR worker (worker.py): starts it, hands it one picture
at a time over a pipe, and starts it again if it dies.

    worker = shared_worker()
    await worker.start()                  # at server start: the models load meanwhile
    reading = await worker.read(data)     # OcrReading, or ImageProblem (images.py)

Why a child process of the Rasa server rather than a service of its own: it costs no
port, no secret and no line in the scripts that start the servers; it starts, stops and
scales with the Rasa server it serves (one per replica in the scale-out profile); and
what it holds (the ONNX models, a decoded picture) is out of the Rasa server's memory.
A picture that crashes a decoder ends only the worker; the next picture starts a new one.

The picture travels through the pipe only: never a file, never a log line.
"""

import asyncio
import logging
import struct
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from server.ocr.images import BUSY, FAILED, ImageProblem, check_bytes

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
WORKER_COMMAND = (sys.executable, "-m", "server.ocr.worker")
HEADER = struct.Struct(">I")
MAX_ANSWER_BYTES = 1024 * 1024
# Loading the models takes 2-3 s on an idle machine; a busy shared one, much longer.
START_SECONDS = 120.0
# One picture: about a second on two idle cores (docs/ocr.md); a worker silent this long
# is stuck and is restarted.
READ_SECONDS = 60.0
# Pictures waiting for the worker beyond this are refused (BUSY) rather than queued for
# minutes: the customer can type instead.
MAX_WAITING = 8


@dataclass(frozen=True)
class OcrReading:
    text: str
    lines: int
    turned: int
    seconds: float
    cpu_seconds: float
    # Each line read: (left, top, right, bottom, text), in the picture as read.
    boxes: Tuple[Tuple[float, float, float, float, str], ...] = ()
    rss_mb: float = 0.0


class OcrWorker:
    """One worker process, one picture at a time; see the module doc."""

    def __init__(self, command=WORKER_COMMAND, start_seconds: float = START_SECONDS,
                 read_seconds: float = READ_SECONDS, max_waiting: int = MAX_WAITING) -> None:
        self.command = tuple(command)
        self.start_seconds = start_seconds
        self.read_seconds = read_seconds
        self.max_waiting = max_waiting
        self._process: Optional[asyncio.subprocess.Process] = None
        self._lock: Optional[asyncio.Lock] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._waiting = 0
        self.ready_rss_mb = 0.0

    @property
    def pid(self) -> Optional[int]:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def _on_this_loop(self) -> None:
        """The pipe and the lock belong to the event loop that made them: a server started
        again in the same process (tests do) gets a worker of its own."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        old = self._process
        if old is not None and old.returncode is None:
            try:
                old.kill()  # its loop is gone; nobody can read its answers any more
            except ProcessLookupError:
                pass
        self._process, self._lock, self._waiting, self._loop = None, None, 0, loop

    def _the_lock(self) -> asyncio.Lock:
        self._on_this_loop()
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def start(self) -> None:
        """Starts the worker and waits until its models are loaded (idempotent)."""
        async with self._the_lock():
            await self._started()

    async def _started(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        process = await asyncio.create_subprocess_exec(
            *self.command, cwd=str(REPO),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            # stderr: the worker's log goes where the Rasa server's goes.
        )
        self._process = process
        try:
            ready = await asyncio.wait_for(self._answer(process), self.start_seconds)
        except (asyncio.TimeoutError, ConnectionError, ValueError):
            await self._end(process)
            raise
        if not ready.get("ready"):
            await self._end(process)
            raise ConnectionError("OCR worker did not say it was ready")
        self.ready_rss_mb = float(ready.get("rss_mb") or 0)
        logger.info("OCR worker %s ready (%.0f MB)", process.pid, self.ready_rss_mb)
        return process

    async def read(self, data: bytes) -> OcrReading:
        """The text in the picture `data`; ImageProblem when it has none to read, when
        too many pictures wait already (BUSY), or when the worker failed (FAILED)."""
        check_bytes(data)  # what is plainly no picture never reaches the worker
        self._on_this_loop()
        if self._waiting >= self.max_waiting:
            raise ImageProblem(BUSY, f"{self._waiting} pictures waiting")
        self._waiting += 1
        try:
            async with self._the_lock():
                answer = await self._ask(data)
        finally:
            self._waiting -= 1
        if "problem" in answer:
            raise ImageProblem(str(answer["problem"]))
        return OcrReading(
            text=str(answer.get("text") or ""), lines=int(answer.get("lines") or 0),
            turned=int(answer.get("turned") or 0), seconds=float(answer.get("seconds") or 0),
            cpu_seconds=float(answer.get("cpu_seconds") or 0),
            boxes=tuple(tuple(box) for box in answer.get("boxes") or ()),
            rss_mb=float(answer.get("rss_mb") or 0),
        )

    async def _ask(self, data: bytes) -> Dict[str, Any]:
        try:
            process = await self._started()
        except (OSError, asyncio.TimeoutError, ConnectionError, ValueError) as error:
            logger.error("OCR worker could not start: %r", error)
            raise ImageProblem(FAILED, "worker not started") from None
        try:
            process.stdin.write(HEADER.pack(len(data)) + data)
            await process.stdin.drain()
            return await asyncio.wait_for(self._answer(process), self.read_seconds)
        except (asyncio.TimeoutError, ConnectionError, BrokenPipeError, ValueError) as error:
            # Stuck, or died on this picture: the next one gets a new worker.
            logger.error("OCR worker %s failed on a picture of %d bytes: %s",
                         process.pid, len(data), type(error).__name__)
            await self._end(process)
            raise ImageProblem(FAILED, type(error).__name__) from None

    @staticmethod
    async def _answer(process: asyncio.subprocess.Process) -> Dict[str, Any]:
        import json

        try:
            header = await process.stdout.readexactly(HEADER.size)
            (length,) = HEADER.unpack(header)
            if length > MAX_ANSWER_BYTES:
                raise ValueError(f"answer of {length} bytes")
            raw = await process.stdout.readexactly(length)
        except asyncio.IncompleteReadError:
            raise ConnectionError("OCR worker ended") from None
        answer = json.loads(raw.decode("utf-8"))
        if not isinstance(answer, dict):
            raise ValueError("answer is not an object")
        return answer

    async def _end(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if self._process is process:
            self._process = None

    async def stop(self) -> None:
        """Ends the worker: its input closed, then killed if it lingers."""
        self._on_this_loop()
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


@lru_cache(maxsize=1)
def shared_worker() -> OcrWorker:
    """This process's worker: every channel's pictures share it (and the two cores)."""
    return OcrWorker()


_start_tasks = set()


def start_with_server(app) -> None:
    """Registers the worker's start (in the background: the server answers text at once)
    and stop on a Sanic app or blueprint; channels call it, more than once is harmless."""

    async def start(_app, _loop) -> None:
        async def starting() -> None:
            try:
                await shared_worker().start()
            except Exception as error:  # noqa: BLE001 — the first picture tries again
                logger.error("OCR worker did not start: %r", error)

        task = asyncio.ensure_future(starting())
        _start_tasks.add(task)
        task.add_done_callback(_start_tasks.discard)

    async def stop(_app, _loop) -> None:
        await shared_worker().stop()

    app.listener("before_server_start")(start)
    app.listener("after_server_stop")(stop)

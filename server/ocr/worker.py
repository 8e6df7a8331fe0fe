"""The OCR worker: its own process, so the Rasa server's memory and event loop never
carry the OCR models (docs/ocr.md measures both ways).

    python -m server.ocr.worker          (the Rasa server starts it: server/ocr/client.py)

Protocol on its standard input and output, one picture at a time:
    request:  4-byte big-endian length, then the picture's bytes
    answer:   4-byte big-endian length, then UTF-8 JSON
              {"text": "...", "lines": n, "turned": 0, "seconds": 0.8, "cpu_seconds": 0.8,
               "boxes": [[left, top, right, bottom, "line"], ...], "rss_mb": 420.0}
              or {"problem": "<kind of server/ocr/images.py>"}
Before the first request it reads a small picture of its own and answers
{"ready": true, "rss_mb": ...}: the models are loaded and warm.

The picture lives only in this process's memory while it is read. Nothing is written to
disk; the log (standard error) gets sizes and timings, never a byte or a word of it.
"""

import json
import logging
import os
import struct
import sys
from typing import BinaryIO, Dict, Optional

HEADER = struct.Struct(">I")
# The largest request read: the image limit and a little (images.MAX_IMAGE_BYTES).
MAX_REQUEST_BYTES = 11 * 1024 * 1024

logger = logging.getLogger("server.ocr.worker")


def read_frame(stream: BinaryIO, limit: int = MAX_REQUEST_BYTES) -> Optional[bytes]:
    """One length-prefixed frame; None at the end of the stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    if length > limit:
        raise ValueError(f"frame of {length} bytes over {limit}")
    data = bytearray()
    while len(data) < length:
        chunk = stream.read(length - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def write_frame(stream: BinaryIO, payload: Dict) -> None:
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    stream.write(HEADER.pack(len(raw)) + raw)
    stream.flush()


def rss_mb() -> float:
    """This process's resident memory (Linux), in MB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def answer(reader, data: bytes) -> Dict:
    """The answer to one picture (see the module doc)."""
    from server.ocr.images import FAILED, ImageProblem, open_checked

    try:
        reading = reader.read(open_checked(data))
    except ImageProblem as problem:
        logger.info("picture of %d bytes not read: %s", len(data), problem)
        return {"problem": problem.kind}
    except Exception as error:  # noqa: BLE001 — one bad picture must not end the worker
        logger.error("picture of %d bytes failed: %s", len(data), type(error).__name__)
        return {"problem": FAILED}
    logger.info("picture of %d bytes: %d lines, %.2fs (%.2fs CPU), turned %d",
                len(data), len(reading.lines), reading.seconds, reading.cpu_seconds,
                reading.turned)
    boxes = [[round(line.left), round(line.top), round(line.right), round(line.bottom), line.text]
             for line in reading.lines]
    return {"text": reading.text, "lines": len(reading.lines), "turned": reading.turned,
            "boxes": boxes,
            "seconds": round(reading.seconds, 3), "cpu_seconds": round(reading.cpu_seconds, 3),
            "rss_mb": round(rss_mb(), 1)}


def warm_up(reader) -> None:
    """Reads a small picture of its own, so the first customer's is not the slow one."""
    from PIL import Image, ImageDraw

    from server.ocr.images import ImageProblem

    picture = Image.new("RGB", (360, 120), "white")
    ImageDraw.Draw(picture).rectangle((20, 40, 340, 80), outline="black", width=3)
    try:
        reader.read(picture)
    except ImageProblem:
        pass


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s [ocr worker %(process)d] %(message)s")
    from core.settings import settings
    from server.ocr.engine import ScreenReader

    config = settings()
    if config.ocr_nice:
        os.nice(config.ocr_nice)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing else may write to the protocol stream: stray prints go to the log.
    sys.stdout = sys.stderr
    reader = ScreenReader(threads=config.ocr_threads)
    warm_up(reader)
    write_frame(stdout, {"ready": True, "rss_mb": round(rss_mb(), 1)})
    while True:
        data = read_frame(stdin)
        if data is None:
            return 0
        write_frame(stdout, answer(reader, data))
        del data


if __name__ == "__main__":
    sys.exit(main())

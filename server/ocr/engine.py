"""Reads the text of a phone screenshot or photo: RapidOCR (PP-OCRv4 detection and
recognition, the mobile angle classifier; ONNX models inside the rapidocr-onnxruntime
wheel, nothing downloaded) with the layout of a phone screen put back.

    reader = ScreenReader(threads=1)
    reading = reader.read(open_checked(data))   # server/ocr/images.py
    reading.text   # bubbles and paragraphs one a line, top to bottom

What is done beyond RapidOCR's own pipeline, and why (figures: docs/ocr.md):
  - text is found on a copy DETECTION_WIDTH pixels wide and read from the full picture:
    finding costs by the pixel, a phone's text is large, and reading needs the detail;
  - the lines of one bubble or paragraph are joined back into one line (a message wraps
    where the screen ends, not where its words do: "市税" / "务局" is 市税务局 again), and
    bubbles stay in their order on screen, one a line;
  - the phone's own words are left out of a screenshot: the status bar (clock, signal,
    battery), a line that is only a time ("今天 上午10:21", "昨天 21:03") and the input
    box's placeholder at the bottom ("短信", "iMessage"); they are nobody's message, and
    a classifier reads "短信" or a clock in an English SMS as words of the message;
  - a picture upside down (most lines read better turned round) or on its side (most
    lines standing) is turned and read again, so its lines come in reading order.

Runs in the OCR worker process (worker.py), never in the Rasa server's.
"""

import re
import time
import unicodedata
from dataclasses import dataclass
from statistics import median
from typing import List, Optional, Sequence, Tuple

import numpy as np

from server.ocr.images import NO_TEXT, ImageProblem

# Width of the copy text is found on (see the module doc); measured in docs/ocr.md.
DETECTION_WIDTH = 720
# Lines RapidOCR is less sure of than this are dropped (its own default).
MIN_LINE_SCORE = 0.5
# Fewer characters than this, all lines together, is "no text" (a photo of a cat, a
# blank screen, a lone clock).
MIN_CHARS = 4
# A picture this much taller than wide is a phone screenshot: its top STATUS_BAR share
# is the status bar.
SCREENSHOT_RATIO = 1.9
STATUS_BAR = 0.04
# The bottom BOTTOM_BAR share of a screenshot holds the input box; these are its
# placeholders in the messages and chat apps of Chinese phones (NFKC, spaces removed).
BOTTOM_BAR = 0.06
PLACEHOLDERS = frozenset({
    "短信", "信息", "短信/彩信", "彩信", "发送短信", "输入短信", "发短信", "输入信息", "发信息",
    "发消息", "输入消息", "发送", "按住说话", "imessage", "textmessage", "message", "sms", "rcs",
})
# A line that is only a time or a date: the app's stamp between messages.
_TIME_ONLY = re.compile(
    r"(?:(?:今天|昨天|前天|星期[一二三四五六日天]|周[一二三四五六日天]|\d{1,2}月\d{1,2}日"
    r"|\d{4}[年/.-]\d{1,2}[月/.-]\d{1,2}日?|\d{1,2}/\d{1,2}|today|yesterday"
    r"|mon|tue|wed|thu|fri|sat|sun)[ ,]*)?"
    r"(?:(?:上午|下午|中午|晚上|凌晨|早上|傍晚)\s*)?\d{1,2}[:：]\d{2}(?:\s*[ap]\.?m\.?)?",
    re.IGNORECASE,
)
# When more than this share of lines is turned (or standing), the picture is turned.
TURNED_SHARE = 0.5
# Lines further apart than this many line heights start a new bubble / paragraph.
NEW_BLOCK_GAP = 0.6
_LATIN_END = re.compile(r"[A-Za-z0-9,.;:!?)\]%]$")
_LATIN_START = re.compile(r"^[A-Za-z0-9(\[]")
# The last word of a line that goes on in the next one without a space: a link.
_LINK_TAIL = re.compile(r"(?:https?://|www\.)\S*$|\S*[/.\-_=?&]$", re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    text: str
    score: float
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class Reading:
    text: str  # blocks one a line, top to bottom
    lines: Tuple[Line, ...]  # in reading order, in the picture as read (turned if turned)
    turned: int  # degrees the picture was turned clockwise before reading: 0, 90, 180, 270
    seconds: float  # wall time of read()
    cpu_seconds: float


@dataclass(frozen=True)
class _Found:
    lines: List[Line]
    upside_down: float  # share of lines the classifier read turned round
    standing: float  # share of boxes taller than wide


def _no_spinning_sessions() -> None:
    """ONNX Runtime's threads spin while they wait for work; on a shared two-core
    machine that burns the core another process needs. RapidOCR builds its sessions
    with its own options: the one entry is added to them here."""
    from rapidocr_onnxruntime.utils import infer_engine

    build = infer_engine.OrtInferSession._init_sess_opts
    if getattr(build, "_no_spinning", False):
        return

    def without_spinning(config):
        options = build(config)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return options

    without_spinning._no_spinning = True
    infer_engine.OrtInferSession._init_sess_opts = staticmethod(without_spinning)


class ScreenReader:
    """RapidOCR loaded once; read() a picture at a time (not thread-safe)."""

    def __init__(self, threads: int = 1) -> None:
        _no_spinning_sessions()
        from rapidocr_onnxruntime import RapidOCR

        self.ocr = RapidOCR(
            intra_op_num_threads=threads, inter_op_num_threads=1, text_score=MIN_LINE_SCORE
        )

    def read(self, image) -> Reading:
        """The text of `image` (an RGB PIL image, see images.open_checked); ImageProblem
        NO_TEXT when there is none to speak of."""
        started, cpu_started = time.monotonic(), time.process_time()
        picture = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])  # RGB -> BGR
        turned = 0
        found = self._find(picture)
        if found.standing > TURNED_SHARE and len(found.lines) >= 3:
            picture, turned = np.ascontiguousarray(np.rot90(picture, k=-1)), 90
            found = self._find(picture)
        if found.upside_down > TURNED_SHARE:
            picture, turned = np.ascontiguousarray(np.rot90(picture, k=2)), (turned + 180) % 360
            found = self._find(picture)
        height, width = picture.shape[:2]
        lines = [line for line in found.lines if not _phone_chrome(line, width, height)]
        text = layout(lines)
        if len(re.sub(r"\s", "", text)) < MIN_CHARS:
            raise ImageProblem(NO_TEXT, f"{len(lines)} lines")
        return Reading(
            text=text, lines=tuple(lines), turned=turned,
            seconds=time.monotonic() - started, cpu_seconds=time.process_time() - cpu_started,
        )

    def _find(self, picture: np.ndarray) -> _Found:
        import cv2

        height, width = picture.shape[:2]
        scale = min(1.0, DETECTION_WIDTH / width)
        small = picture if scale == 1.0 else cv2.resize(
            picture, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
        boxes, _ = self.ocr.text_det(small)
        if boxes is None or len(boxes) == 0:
            return _Found([], 0.0, 0.0)
        boxes = [np.asarray(box, dtype=np.float32) / scale for box in self.ocr.sorted_boxes(boxes)]
        crops = self.ocr.get_crop_img_list(picture, boxes)
        crops, turned, _ = self.ocr.text_cls(crops)
        read, _ = self.ocr.text_rec(crops)
        lines, upside_down, standing = [], 0, 0
        for box, (label, confidence), (text, score) in zip(boxes, turned, read):
            xs, ys = box[:, 0], box[:, 1]
            standing += (ys.max() - ys.min()) > 1.5 * (xs.max() - xs.min())
            upside_down += label == "180" and confidence >= 0.9
            text = text.strip()
            if text and score >= MIN_LINE_SCORE:
                lines.append(Line(text, float(score), float(xs.min()), float(ys.min()),
                                  float(xs.max()), float(ys.max())))
        return _Found(_reading_order(lines), upside_down / len(boxes), standing / len(boxes))


def _phone_chrome(line: Line, width: int, height: int) -> bool:
    """The phone's words, not a message's: see the module doc."""
    text = unicodedata.normalize("NFKC", line.text).strip()
    if _TIME_ONLY.fullmatch(text):
        return True
    if height / width < SCREENSHOT_RATIO:
        return False
    return line.bottom <= STATUS_BAR * height or (
        line.top >= (1 - BOTTOM_BAR) * height and re.sub(r"\s", "", text.lower()) in PLACEHOLDERS
    )


def _rows(lines: Sequence[Line]) -> List[List[Line]]:
    """Top to bottom; lines side by side (their middles within half a line of each
    other) in one row, left to right."""
    rows: List[List[Line]] = []
    for line in sorted(lines, key=lambda found: (found.top + found.bottom) / 2):
        middle = (line.top + line.bottom) / 2
        if rows:
            row = rows[-1]
            row_middle = median((other.top + other.bottom) / 2 for other in row)
            if abs(middle - row_middle) < 0.5 * min(line.height, row[0].height):
                row.append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda found: found.left) for row in rows]


def _reading_order(lines: Sequence[Line]) -> List[Line]:
    return [line for row in _rows(lines) for line in row]


def _joiner(before: str, after: str) -> str:
    """What goes between two wrapped pieces of one sentence: nothing in Chinese or inside
    a link, a space between two Latin words."""
    if _LATIN_END.search(before) and _LATIN_START.search(after) and not _LINK_TAIL.search(before):
        return " "
    return ""


def layout(lines: Sequence[Line]) -> str:
    """`lines` as text: the wrapped lines of a bubble or paragraph joined, one block a
    line, top to bottom. A block ends where the gap to the next row is larger than
    NEW_BLOCK_GAP line heights, or where the next row starts more than a line height
    further right (an indented paragraph, the other speaker's bubble). Lines side by
    side are one row, a space between them."""
    if not lines:
        return ""
    typical = median(line.height for line in lines)
    blocks: List[str] = []
    previous: Optional[List[Line]] = None
    for row in _rows(lines):
        text = " ".join(line.text for line in row)
        top, left = min(line.top for line in row), row[0].left
        if previous is not None and not (
            top - max(line.bottom for line in previous) > NEW_BLOCK_GAP * typical
            or left > previous[0].left + typical
        ):
            blocks[-1] += _joiner(blocks[-1], text) + text
        else:
            blocks.append(text)
        previous = row
    return "\n".join(blocks)

"""A picture's turn, the same in every channel: read it (server/ocr/), say what was read,
masked, then answer its text exactly as if the customer had pasted it.

    messages = await answer_image(data, ask, guard, replies, recipient_id)

The messages are the text channel's, with one before them:
    {"recipient_id": ..., "text": "我从图片里读到：\\n<the text, masked>",
     "custom": {"type": "image_text", "text": "<the text, masked>"}}
(a widget shows the custom payload as its own card; WeChat the text).

Privacy: the picture is only ever in memory (here and in the OCR worker) and is never
logged; the recognised text goes through the turn guard, which masks card numbers, ID
numbers, passwords and codes before Rasa builds its message, as for typed text. The
customer's message is stored with metadata {"from_image": "screenshot"}: the staff
console shows the turn as 截图, and no picture is kept anywhere to show.

Bad pictures raise ImageProblem (server/ocr/images.py); `problem_reply` gives its
Chinese reply and HTTP status.

POST /chat/image (the widget; multipart fields `sender` and `image`) is checked here
before it reaches the handler: `refuse_bad_upload`.
"""

from typing import Any, Dict, List, Optional, Tuple

from sanic import response
from sanic.request import Request

from core.masking import mask
from core.settings import Bank
from core.wording import say
from server.guard.limits import refuse_oversized
from server.guard.rate_limit import RequestLimits, refuse_too_fast
from server.guard.turns import Ask, TurnGuard
from server.ocr.client import OcrWorker, shared_worker
from server.ocr.images import HTTP_STATUS, MAX_IMAGE_BYTES, ImageProblem

IMAGE_TEXT = "image_text"
FROM_IMAGE_KEY = "from_image"
FROM_IMAGE = {FROM_IMAGE_KEY: "screenshot"}
# The picture, the sender and multipart's own lines.
MAX_UPLOAD_BYTES = MAX_IMAGE_BYTES + 64 * 1024
MAX_SENDER_CHARS = 128
# As the REST channel: the longest message the assistant reads.
MAX_TEXT_CHARS = 20_000


def read_message(read_text: str, recipient_id: str) -> Dict[str, Any]:
    """The message that says what was read (`read_text` already masked)."""
    return {
        "recipient_id": recipient_id,
        "text": say("image.read_heading") + "\n" + read_text,
        "custom": {"type": IMAGE_TEXT, "text": read_text},
    }


async def answer_image(
    data: bytes,
    ask: Ask,
    guard: TurnGuard,
    replies: List[Dict[str, Any]],
    recipient_id: str,
    worker: Optional[OcrWorker] = None,
) -> List[Dict[str, Any]]:
    """What was read, then the answer to it as to a pasted message; ImageProblem for a
    picture that is not read."""
    reading = await (worker or shared_worker()).read(data)
    text = reading.text[:MAX_TEXT_CHARS]
    shown = mask(text, guard.keep).text
    messages = await guard.answer(ask, text, dict(FROM_IMAGE), replies, recipient_id)
    return [read_message(shown, recipient_id), *messages]


def problem_reply(problem: ImageProblem, bank: Bank) -> Tuple[int, str]:
    """The HTTP status and the Chinese reply for a picture that was not read."""
    return HTTP_STATUS.get(problem.kind, 422), say(f"image.problem.{problem.kind}", bank)


def upload_usage() -> str:
    return say("image.usage")


def _bad_request(reason: str, status: int = 400) -> response.HTTPResponse:
    return response.json({"error": reason}, status=status)


def refuse_bad_upload(
    request: Request, limits: RequestLimits, bank: Bank
) -> Optional[response.HTTPResponse]:
    """413, 400 or 429 with the reason for an upload that must not be read; None (and
    the upload counted against the rate limits like a message) when it may."""
    too_large = refuse_oversized(request, MAX_UPLOAD_BYTES)
    if too_large is not None:
        return _bad_request(say("image.problem.too_large", bank), 413)
    if not (request.content_type or "").startswith("multipart/form-data"):
        return _bad_request(upload_usage())
    sender = request.form.get("sender")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return _bad_request(upload_usage())
    try:
        sender.encode("utf-8")
    except UnicodeEncodeError:
        return _bad_request(upload_usage())
    upload = request.files.get("image")
    if upload is None or not upload.body:
        return _bad_request(say("image.problem.no_image", bank))
    return refuse_too_fast(request, limits, sender)

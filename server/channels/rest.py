"""REST channel: Rasa's contract, with its input checked so a bad request gets a clear
4xx, and the turn guarded (server/guard/).

POST /webhooks/rest/webhook {"sender": "<conversation id>", "message": "<text>"}
Stock Rasa answers `[]` to a body without "message" and 500 to a JSON array. Its
`?stream=true` and `input_channel` options are not offered: every answer goes through
the guard (masking, safe reply, privacy warning).
"""

import json
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from server.guard.error_pages import render_error_pages_safely
from server.guard.limits import refuse_not_utf8, refuse_oversized, refuse_too_deep
from server.guard.rate_limit import RequestLimits, refuse_too_fast, shared_limits
from server.guard.turns import TurnGuard

MAX_MESSAGE_CHARS = 20_000
# The longest message as JSON with \uXXXX escapes (json.dumps' default) is 120 KB.
MAX_BODY_BYTES = 256 * 1024
MAX_SENDER_CHARS = 128
USAGE = '请求格式：{"sender": "会话编号", "message": "您要说的话"}'


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def request_problem(body: Any) -> Optional[str]:
    """Why a decoded request body cannot be answered, or None when it can."""
    if not isinstance(body, dict):
        return "请求体必须是JSON对象。" + USAGE
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return f"缺少 sender（非空字符串，最长{MAX_SENDER_CHARS}个字符）。" + USAGE
    if not _is_encodable(sender):
        # A lone surrogate ("\ud800") makes the tracker store's driver raise a ValueError,
        # which Rasa's SQL store takes for a missing schema and exits on.
        return "sender 含有无效字符。" + USAGE
    if not isinstance(message, str):
        return "缺少 message（字符串）。" + USAGE
    if len(message) > MAX_MESSAGE_CHARS:
        return f"消息太长（最多{MAX_MESSAGE_CHARS}个字符），请只发最关键的部分。"
    if not _is_encodable(message):
        # The same lone surrogate in the text broke the sentence encoder, and the turn.
        return "消息里有无效的字符，请重新输入或粘贴。"
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "metadata 必须是JSON对象。"
    if metadata and not _is_encodable(json.dumps(metadata, ensure_ascii=False)):
        return "metadata 含有无效字符。"
    return None


def refuse_bad_body(request: Request) -> Optional[response.HTTPResponse]:
    """A 400 with the reason for a POST body that cannot be answered, else None."""
    # Before the JSON parser walks it: how deep it nests, and that it is UTF-8 at all.
    unparsable = refuse_too_deep(request.body) or refuse_not_utf8(request.body)
    if unparsable:
        return unparsable
    try:
        body = request.json  # parsed once; the handler reads the same cache
    except InvalidUsage:
        return response.json({"error": "请求体不是合法的JSON。" + USAGE}, status=400)
    problem = request_problem(body)
    if problem:
        return response.json({"error": problem}, status=400)
    return None


def refuse_unanswerable(
    request: Request, limits: RequestLimits
) -> Optional[response.HTTPResponse]:
    """413, 400 or 429 with the reason for a POST that must not reach the assistant;
    None (and the request counted against the rate limits) when it may."""
    return (
        refuse_oversized(request, MAX_BODY_BYTES)
        or refuse_bad_body(request)
        or refuse_too_fast(request, limits, request.json["sender"])
    )


async def answer_checked_request(
    request: Request,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    guard: TurnGuard,
    input_channel: str,
) -> response.HTTPResponse:
    """The answer to a request refuse_unanswerable let through (REST and the widget)."""
    body = request.json
    sender = body["sender"]
    collector = CollectingOutputChannel()

    async def ask(text: str, metadata: Optional[Dict[str, Any]]) -> None:
        await on_new_message(
            UserMessage(text, collector, sender, input_channel=input_channel, metadata=metadata)
        )

    messages = await guard.answer(
        ask, body["message"], body.get("metadata"), collector.messages, sender
    )
    return response.json(messages)


class RestChannel(RestInput):
    """Rasa's REST channel at the same URL and with the same reply, refusing malformed
    requests up front and answering through the guard."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[None]]
    ) -> Blueprint:
        # Not RestInput's blueprint: its handler builds the UserMessage from the raw text.
        guard = TurnGuard.from_settings()
        limits = shared_limits()
        rest = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @rest.route("/", methods=["GET"])
        async def health(request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            return await answer_checked_request(request, on_new_message, guard, self.name())

        @rest.middleware("request")
        async def refuse_bad_input(request: Request) -> Optional[response.HTTPResponse]:
            if request.method != "POST":
                return None
            return refuse_unanswerable(request, limits)

        # The REST channel is always listed, so it hardens the app's error pages for all.
        @rest.listener("before_server_start")
        async def harden_error_pages(app, _loop) -> None:
            render_error_pages_safely(app)

        return rest

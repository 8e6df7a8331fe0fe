"""REST channel: Rasa's, with its input checked so a bad request gets a clear 400.

POST /webhooks/rest/webhook {"sender": "<conversation id>", "message": "<text>"}
Stock Rasa answers `[]` to a body without "message" and 500 to a JSON array.
"""

from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

MAX_MESSAGE_CHARS = 20_000
MAX_SENDER_CHARS = 128
USAGE = '请求格式：{"sender": "会话编号", "message": "您要说的话"}'


def request_problem(body: Any) -> Optional[str]:
    """Why a decoded request body cannot be answered, or None when it can."""
    if not isinstance(body, dict):
        return "请求体必须是JSON对象。" + USAGE
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return f"缺少 sender（非空字符串，最长{MAX_SENDER_CHARS}个字符）。" + USAGE
    if not isinstance(message, str):
        return "缺少 message（字符串）。" + USAGE
    if len(message) > MAX_MESSAGE_CHARS:
        return f"消息太长（最多{MAX_MESSAGE_CHARS}个字符），请只发最关键的部分。"
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "metadata 必须是JSON对象。"
    return None


def refuse_bad_body(request: Request) -> Optional[response.HTTPResponse]:
    """A 400 with the reason for a POST body that cannot be answered, else None."""
    try:
        body = request.json  # parsed once; Rasa's handler reads the same cache
    except InvalidUsage:
        return response.json({"error": "请求体不是合法的JSON。" + USAGE}, status=400)
    problem = request_problem(body)
    if problem:
        return response.json({"error": problem}, status=400)
    return None


class RestChannel(RestInput):
    """Rasa's REST channel at the same URL, refusing malformed requests up front."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[None]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def refuse_bad_input(request: Request) -> Optional[response.HTTPResponse]:
            if request.method != "POST":
                return None
            return refuse_bad_body(request)

        return blueprint

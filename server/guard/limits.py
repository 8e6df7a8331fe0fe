"""Request body limits, with a Chinese reason, before a body is parsed further: a 413 for
its size, a 400 for how deeply its JSON nests (the framing itself is checked earlier, in
front of Sanic's parser: core/http_framing.py)."""

from typing import Optional

from sanic import response
from sanic.request import Request

from core.http_framing import MAX_JSON_DEPTH, json_depth


def body_too_large(declared_length: Optional[str], body: Optional[bytes], limit: int) -> bool:
    """Over `limit` bytes by its Content-Length header or by what actually arrived (the
    header can be absent, or lie)."""
    declared = (declared_length or "").strip()
    return (declared.isdigit() and int(declared) > limit) or len(body or b"") > limit


def refuse_oversized(request: Request, limit: int) -> Optional[response.HTTPResponse]:
    """413 for a body over `limit` bytes. Sanic has already read the body (up to its own
    REQUEST_MAX_SIZE, 100 MB unless SANIC_REQUEST_MAX_SIZE says otherwise): the ingress
    should refuse huge bodies before they get here."""
    if body_too_large(request.headers.get("content-length"), request.body, limit):
        return response.json(
            {"error": f"请求太大（最多{limit // 1024}KB），请只发最关键的部分。"}, status=413
        )
    return None


def refuse_too_deep(
    body: Optional[bytes], limit: int = MAX_JSON_DEPTH
) -> Optional[response.HTTPResponse]:
    """400 for a JSON body nesting deeper than `limit`, counted on its bytes before any
    parser sees it. About 1,000 levels of metadata passed the JSON parser and then broke
    Rasa's own recursive code: a 500, or a turn lost with nothing stored (issue 15)."""
    if json_depth(body or b"", limit) > limit:
        return response.json(
            {"error": f"请求体嵌套太深（最多{limit}层），请只发送会话编号、消息和简单的 metadata。"},
            status=400,
        )
    return None


def refuse_not_utf8(body: Optional[bytes]) -> Optional[response.HTTPResponse]:
    """400 for a body that is not UTF-8 (RFC 8259: JSON is). Sanic parses with ujson 5,
    which turns some invalid sequences (a GBK-encoded message) into a str holding a
    "code point" past U+10FFFF: an object that breaks the C code handling it later (a
    SystemError inside the NLU's OpenCC, and the customer got the safe reply). Found by
    bench/fuzz.py."""
    try:
        (body or b"").decode("utf-8")
    except UnicodeDecodeError:
        return response.json({"error": "请求体必须是UTF-8编码的JSON。"}, status=400)
    return None

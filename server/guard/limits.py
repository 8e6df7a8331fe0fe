"""Request body limits: a 413 with a Chinese reason before a body is parsed further."""

from typing import Optional

from sanic import response
from sanic.request import Request


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

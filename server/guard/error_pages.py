"""Sanic's error pages, made to survive hostile headers."""

from typing import Any

from sanic import response
from sanic.request import Request


def render_error_pages_safely(app: Any) -> None:
    """Makes Sanic's error pages survive hostile headers.

    Sanic 21.12 picks an error page's format from the Accept header and reads Expect as
    UTF-8; a malformed one makes the renderer itself fail, and a 404 or 413 becomes
    "500 An error occurred while handling an error". Found by tests/e2e/test_fuzz.py.
    """
    handler = app.error_handler
    # Rasa always installs sanic_cors, whose handler wraps the app's original one.
    while hasattr(handler, "orig_handler"):
        handler = handler.orig_handler
    render = handler.default

    def default(request: Request, exception: Exception) -> response.HTTPResponse:
        try:
            return render(request, exception)
        except Exception:
            status = getattr(exception, "status_code", 500)
            return response.json({"error": "请求无法处理。"}, status=status)

    handler.default = default

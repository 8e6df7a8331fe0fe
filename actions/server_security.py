"""Who may call the action server, and what its error responses may say.

The action server answers only Rasa: every call except GET /health must carry
`Authorization: Bearer <ACTION_SERVER_SECRET>` (endpoints.yml makes Rasa send it). Without
the variable the action server refuses to start: a server that runs actions for anyone
who can reach the port would hand out conversations and write handoff records.

A call's body is bounded before it is parsed: MAX_CALL_BYTES (Sanic's REQUEST_MAX_SIZE,
so a bigger one is refused while it arrives; also once inflated, when Rasa compresses its
calls) and MAX_CALL_DEPTH levels of JSON nesting. A body that is not JSON, or not shaped
like Rasa's action call (actions/call_shape.py), is a 400 before any action sees it.
Holding the secret does not make a malformed or hostile body good input.

rasa_sdk's own error responses echo the request (the whole tracker on a 500, the action
name on a 404); here every error response is a short fixed JSON body and errors are
logged without the exception's message, which may quote what the customer typed.

This module is a rasa_sdk plugin (hook `attach_sanic_app_extensions`). It registers itself
when imported, and `actions/__init__.py` imports it, so `rasa run actions --actions
actions` (or any module under it) has the check: rasa_sdk imports the actions package
while building the app and calls the hook after that, just before serving.
"""

import hmac
import json
import logging
import re
import sys
import traceback
import zlib
from http import HTTPStatus
from typing import Any, Dict, Optional, Tuple

import pluggy
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.http import Http
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.call_shape import call_problem, drop_mistyped_values
from core import http_framing
from core.settings import action_server_secret_problem, settings

SECRET_ENV = "ACTION_SERVER_SECRET"
# Liveness probes call it without credentials; it says only {"status": "ok"}.
OPEN_PATHS = frozenset({"/health"})
# Rasa turns a 400 into ActionExecutionRejection and needs `action_name` for it. The name
# comes from an action that was found and ran, but is checked anyway before it is sent.
ACTION_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")
# Rasa's calls nest 8 levels (9 with the widget's metadata; measured on real
# conversations), plus the depth of the customer's metadata, which the channels allow up
# to http_framing.MAX_JSON_DEPTH. Twice that leaves room and stops ~1,000-level bodies.
MAX_CALL_DEPTH = 2 * http_framing.MAX_JSON_DEPTH
# A real call is about 150 KB (the domain is most of it); with the bounded history and the
# longest messages the channels accept (120 KB of JSON each) a few MB at most.
MAX_CALL_BYTES = 8 * 1024 * 1024
TOO_DEEP = {"error": f"请求体嵌套太深（最多{MAX_CALL_DEPTH}层）。"}
TOO_LARGE = {"error": f"请求太大（解压后最多{MAX_CALL_BYTES // (1024 * 1024)}MB）。"}

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")


class MissingSecret(SystemExit):
    """The action server may not start: the message says what to set."""


def checked_secret() -> str:
    """ACTION_SERVER_SECRET, or MissingSecret saying what is wrong with it."""
    secret = settings().action_server_secret
    problem = action_server_secret_problem(secret)
    if problem is None:
        return secret
    raise MissingSecret(
        f"反诈助手 action server not started: {problem}. Set it to a random value (e.g. "
        f"`openssl rand -hex 32`) in both the action server's and Rasa's environment; "
        f"Rasa sends it as configured in endpoints.yml. `make run` and `make shell` "
        f"generate one for you."
    )


def authorised(header: Optional[str], secret: str) -> bool:
    """True when the Authorization header is `Bearer <secret>`.

    Compared in constant time (as bytes: compare_digest refuses non-ASCII str), so the
    response time says nothing about how much of a guess was right. Sanic decodes header
    bytes that are not UTF-8 as surrogate escapes; encoded back the same way they are the
    bytes that were sent (plain UTF-8 made them a 500 instead of a 401).
    """
    expected = f"Bearer {secret}".encode("utf-8")
    try:
        given = (header or "").encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no decoder made: not the secret either
        return False
    return hmac.compare_digest(given, expected)


def error_body(status: int, action_name: Any = None) -> Dict[str, str]:
    """The whole body of an error response: the status phrase, nothing from the request."""
    if status == 400 and isinstance(action_name, str) and ACTION_NAME.fullmatch(action_name):
        return {"error": "action rejected execution", "action_name": action_name}
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return {"error": phrase}


def read_call(body: bytes, content_encoding: Optional[str]) -> Tuple[Any, Optional[Tuple[int, Any]]]:
    """The action call in a request body, or why not: (status, reason body or None for
    the generic one). Checked in this order, each before the next step walks the body:
    inflated size, nesting depth, JSON, shape; then mistyped values are left out
    (actions/call_shape.py)."""
    if content_encoding == "deflate":  # as rasa_sdk decides it
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, MAX_CALL_BYTES + 1)
        except zlib.error:
            return None, (400, None)
        if len(body) > MAX_CALL_BYTES:
            return None, (413, TOO_LARGE)
        if not inflater.eof:
            return None, (400, None)
    if http_framing.json_depth(body, MAX_CALL_DEPTH) > MAX_CALL_DEPTH:
        return None, (400, TOO_DEEP)
    try:
        call = json.loads(body)
    except (ValueError, RecursionError):
        return None, (400, None)
    problem = call_problem(call)
    if problem:
        logger.warning("refused an action call not shaped like Rasa's (%s)", problem)
        return None, (400, None)
    dropped = drop_mistyped_values(call)
    if dropped:
        logger.warning("action call: values not of their type left out (%s)", ", ".join(dropped))
    return call, None


def _action_name(body: bytes) -> Any:
    try:
        return json.loads(body).get("action_name")
    except (ValueError, AttributeError, TypeError):
        return None


def _error_response(status: int, action_name: Any = None) -> HTTPResponse:
    return HTTPResponse(
        json.dumps(error_body(status, action_name)), status=status,
        content_type="application/json",
    )


def protect(app: Sanic, secret: str) -> None:
    """Add the secret check, the body bounds, the generic error bodies and the quiet error
    log to app."""
    app.config.REQUEST_MAX_SIZE = MAX_CALL_BYTES

    @app.on_request
    async def require_secret(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS or authorised(request.headers.get("authorization"), secret):
            return None
        if http_framing.being_refused(request):  # malformed on the wire: its 400 says so
            return None
        logger.warning("refused a %s call without the right secret from %s",
                       request.method, request.ip)
        return _error_response(401)

    @app.on_request
    async def refuse_malformed_calls(request: Request) -> Optional[HTTPResponse]:
        # After the secret check (middleware runs in order), before rasa_sdk parses it.
        if request.method != "POST" or request.path != "/webhook" or http_framing.being_refused(request):
            return None
        call, refusal = read_call(request.body or b"", request.headers.get("Content-Encoding"))
        if refusal is None:
            # What rasa_sdk reads is the call checked here (request.json), not the body
            # again: parsed once, inflated once, mistyped values left out.
            request.parsed_json = call
            if "content-encoding" in request.headers:
                del request.headers["content-encoding"]
            return None
        status, reason = refusal
        logger.warning("refused a malformed action call (%d %s)", status,
                       (reason or error_body(status))["error"])
        if reason is None:
            return _error_response(status)
        request.ctx.own_reason = True
        return HTTPResponse(json.dumps(reason, ensure_ascii=False), status=status,
                            content_type="application/json")

    @app.on_response
    async def generic_errors(request: Request, response: HTTPResponse) -> None:
        # rasa_sdk's webhook returns its own 400/404 bodies (error text, action name);
        # this module's own refusals are already short and fixed.
        if response.status >= 400 and not getattr(request.ctx, "own_reason", False):
            response.body = json.dumps(
                error_body(response.status, _action_name(response.body or b""))
            ).encode("utf-8")
            response.content_type = "application/json"
            if response.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"

    def quiet_exception_handler(request: Request, exception: Exception) -> HTTPResponse:
        # Replaces rasa_sdk's handler, which logs the exception's message and returns the
        # request body. Bad JSON and the like keep their 4xx status.
        if isinstance(exception, SanicException):
            return _error_response(getattr(exception, "status_code", 500) or 500)
        frames = "".join(traceback.format_tb(exception.__traceback__))
        logger.error("%s while handling %s %s (message not logged: it may quote the "
                     "customer)\n%s", type(exception).__name__, request.method,
                     request.path, frames)
        return _error_response(500)

    app.error_handler.add(Exception, quiet_exception_handler)


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """rasa_sdk's hook, called once the app is built and before it serves."""
    try:
        secret = checked_secret()
    except MissingSecret as refusal:
        logger.error("%s", refusal)
        raise
    protect(app, secret)
    logger.info("action server: calls need the %s bearer secret (except %s)",
                SECRET_ENV, ", ".join(sorted(OPEN_PATHS)))


# The same HTTP/1.1 framing rules as the Rasa server's (one malformed request must not
# freeze the process), in place from the import on, before the app serves.
http_framing.install(Http)

_this_module = sys.modules[__name__]
if not plugin_manager().is_registered(_this_module):  # imported again by --auto-reload
    plugin_manager().register(_this_module)

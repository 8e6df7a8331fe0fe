"""What a request may look like on the wire, decided before a server parses it.

Both servers run Sanic 21.12 (the Rasa server and rasa_sdk's action server), and its
HTTP/1.1 parser trusts the client too much:

- `Content-Length: -1` makes its body reader loop forever without yielding: the
  process spins at 100 % of a core and never answers anyone again (issue 15);
- a non-numeric Content-Length, or a Transfer-Encoding other than exactly "chunked",
  raises outside its own error handling and becomes a 500;
- a second Content-Length, a Content-Length beside Transfer-Encoding, a space before a
  header's colon or an obs-fold are read differently from a proxy in front of it
  (request smuggling);
- chunk sizes are read with Python's int(), which takes "0x1f", "+1f" and "1_f";
- its timeouts restart with every byte received, so a client sending one byte at a time
  holds a connection for as long as it likes.

The rules are pure functions of the bytes received (tested as a table in
tests/core/test_http_framing.py). `install(Http)` puts them in front of Sanic's own
parser; the Rasa server's entry point (server/runtime/plugin.py) and the action server's
plugin (actions/server_security.py) each call it, before their app starts serving.

JSON bodies: `json_depth` measures how deeply a body nests on its bytes, before any
parser or Rasa's recursive code (copying, serialising, the tracker store) walks it.
"""

import re
from dataclasses import dataclass
from typing import Any, Optional, Tuple

# RFC 9110 5.6.2: what a method and a header name are made of.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9112 3.2: the request target is ASCII without spaces or control characters.
_TARGET = re.compile(rb"[\x21-\x7e]+")
# RFC 9110 5.5: a field value is visible ASCII, obs-text (bytes >= 0x80), spaces and tabs;
# no other control character (NUL, a bare CR or LF).
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_DIGITS = re.compile(rb"[0-9]+")
_OWS = b" \t"
# RFC 9112 7.1: chunk-size, then any chunk extensions (;name or ;name=value).
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})"
    rb"(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
    rb"(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|\"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*\"))?)*"
)
# No length this long is ever accepted; int() is not asked to read a longer one.
_MAX_LENGTH_DIGITS = 18

# A request's head must arrive whole within HEAD_SECONDS of its first byte, and its body
# within BODY_SECONDS of the end of the head, however steadily the bytes trickle in.
# Both are capped by the server's REQUEST_TIMEOUT (SANIC_REQUEST_TIMEOUT), so an
# operator can only make them shorter.
HEAD_SECONDS = 10.0
BODY_SECONDS = 20.0

# JSON nesting: Rasa's own payloads nest about 10 levels (the deepest, the action call
# with the domain and the tracker, was measured at 9); customers' metadata nests 2 or 3.
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class Refusal:
    """The status to answer with and why; the reason never quotes the request."""

    status: int
    reason: str


BAD_REQUEST_LINE = Refusal(400, "malformed request line")
BAD_HEADER_LINE = Refusal(400, "malformed header line (name, colon, value)")
OBS_FOLD = Refusal(400, "header line folding (obs-fold) is not accepted")
BAD_HEADER_VALUE = Refusal(400, "control character in a header value")
TWO_LENGTHS = Refusal(400, "more than one Content-Length")
BAD_LENGTH = Refusal(400, "Content-Length must be a non-negative decimal number")
TOO_LONG = Refusal(413, "request body exceeds the size limit")
HEAD_TOO_LARGE = Refusal(413, "request head exceeds the size limit")
LENGTH_AND_CHUNKED = Refusal(400, "Content-Length and Transfer-Encoding together")
BAD_TRANSFER_ENCODING = Refusal(400, "only Transfer-Encoding: chunked is accepted")
TWO_HOSTS = Refusal(400, "more than one Host")
BAD_EXPECT = Refusal(417, "only Expect: 100-continue is accepted")
BAD_CHUNK = Refusal(400, "bad chunked encoding")
TRAILERS = Refusal(400, "chunked trailers are not accepted")
HEAD_TIMEOUT = Refusal(408, "request head not received in time")
BODY_TIMEOUT = Refusal(408, "request body not received in time")


def head_refusal(head: bytes, max_body_bytes: int) -> Optional[Refusal]:
    """Why a request head must be refused, or None.

    `head` is the request line and the header lines up to (not including) the empty
    line that ends them; `max_body_bytes` is the server's REQUEST_MAX_SIZE.
    """
    request_line, *lines = head.split(b"\r\n")
    parts = request_line.split(b" ")
    if (
        len(parts) != 3
        or not _TOKEN.fullmatch(parts[0])
        or not _TARGET.fullmatch(parts[1])
        or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0")
    ):
        return BAD_REQUEST_LINE
    lengths, encodings, hosts = [], [], 0
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            return OBS_FOLD
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            return BAD_HEADER_LINE
        if not _FIELD_VALUE.fullmatch(value):
            return BAD_HEADER_VALUE
        name = name.lower()
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            encodings.append(value)
        elif name == b"host":
            hosts += 1
        elif name == b"expect" and value.lstrip(_OWS).lower() != b"100-continue":
            return BAD_EXPECT  # Sanic's 417 too, but raised where the app cannot tell
    if hosts > 1:
        return TWO_HOSTS
    if len(lengths) > 1:
        return TWO_LENGTHS
    if lengths and encodings:
        return LENGTH_AND_CHUNKED
    if encodings:
        # Sanic compares the value, left-stripped, with "chunked" exactly; anything else
        # it would take for a Content-Length body without a length. HTTP/1.0 has none.
        if len(encodings) > 1 or encodings[0].lstrip(_OWS) != b"chunked" or parts[2] != b"HTTP/1.1":
            return BAD_TRANSFER_ENCODING
    if lengths:
        declared = lengths[0].strip(_OWS)
        if not _DIGITS.fullmatch(declared):
            return BAD_LENGTH
        if len(declared) > _MAX_LENGTH_DIGITS or int(declared) > max_body_bytes:
            return TOO_LONG
    return None


def chunk_size(line: bytes) -> Optional[int]:
    """The size a chunk-size line declares (its extensions ignored), or None when it is
    malformed. `line` is what lies between the CRLF before it and the CRLF after it."""
    match = _CHUNK_LINE.fullmatch(line)
    return int(match.group(1), 16) if match else None


def time_limits(request_timeout: float) -> Tuple[float, float]:
    """Seconds for the whole head and for the whole body, given Sanic's REQUEST_TIMEOUT."""
    return min(HEAD_SECONDS, request_timeout), min(BODY_SECONDS, request_timeout)


# ---------------------------------------------------------------------------------------
# JSON bodies

# A string token, escapes included; an unterminated one runs to the end of the body.
# Written so that every byte is looked at once (no backtracking, whatever the input).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply `body` nests arrays and objects, counted on its bytes without parsing
    (brackets inside strings do not count). Counting stops one level past `limit`, so a
    hostile body costs no more than a flat one of its size (256 KB: under 20 ms)."""
    skeleton = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    deepest = depth = 0
    for byte in skeleton:
        if byte == 91 or byte == 123:  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if depth > limit:
                    break
        elif depth:
            depth -= 1
    return deepest


# ---------------------------------------------------------------------------------------
# Installing the rules in front of Sanic's HTTP/1.1 parser


_MARK = "framing_refusal"


def being_refused(request: Any) -> bool:
    """Whether Sanic is answering `request` with one of these refusals. Sanic runs the
    app's request middleware before its error response too; a check there (the action
    server's secret) should let the refusal be the answer."""
    return getattr(getattr(request, "ctx", None), _MARK, None) is not None


async def _checked_request_header(self):
    # Sanic's TouchUp recompiles this method from its source in sanic.http's namespace
    # at start-up, so it refers to nothing but `self`: install() put the rest on the class.
    await self._framing_receive_head()
    await self._framing_unchecked_request_header()
    self._framing_start_body()


async def _checked_read(self):
    if await self._framing_before_read():
        return None  # the rest of a body nobody reads was refused: no more of it
    return await self._framing_unchecked_read()


def install(http_class: Any) -> None:
    """Put the rules in front of Sanic's Http.http1_request_header and Http.read, once.

    A refused head gets the refusal's status (400, 408, 413 or 417) and the connection is
    closed; so does a body that breaks the chunked framing or does not arrive in time.
    """
    if getattr(http_class, "_framing_installed", False):
        return
    import asyncio
    from weakref import WeakKeyDictionary

    from sanic.exceptions import (
        HeaderExpectationFailed, InvalidUsage, PayloadTooLarge, RequestTimeout,
    )
    from sanic.http import Stage
    from sanic.touchup import TouchUp

    exceptions = {400: InvalidUsage, 408: RequestTimeout, 413: PayloadTooLarge,
                  417: HeaderExpectationFailed}
    body_deadlines: "WeakKeyDictionary[Any, float]" = WeakKeyDictionary()

    def refuse(http: Any, refusal: Refusal) -> None:
        # The connection closes after the refusal: nothing after it can be trusted, and
        # no more of this body is read (Sanic would try to, to keep the connection).
        http.keep_alive = False
        http.request_body = None
        if http.request is None:  # refused before Sanic made one: its stand-in, now
            http.create_empty_request()
        setattr(http.request.ctx, _MARK, refusal)
        raise exceptions[refusal.status](refusal.reason)

    async def receive_more(http: Any, deadline: float, late: Refusal) -> None:
        """Sanic's protocol.receive_more (resume reading, clear the flag, wait for it) with
        a deadline on the wait. The flag is cleared here and now: wait_for runs what it is
        given as a new task, a loop iteration later, and a receive_more cleared there would
        miss data arriving in between (a lost wake-up that held Rasa's calls to the action
        server until the deadline)."""
        protocol = http.protocol
        remaining = deadline - protocol.loop.time()
        if remaining <= 0:
            refuse(http, late)
        protocol.transport.resume_reading()
        protocol._data_received.clear()
        try:
            await asyncio.wait_for(protocol._data_received.wait(), remaining)
        except asyncio.TimeoutError:
            refuse(http, late)

    async def receive_head(http: Any) -> None:
        buf = http.recv_buffer
        head_seconds, _ = time_limits(http.protocol.request_timeout)
        deadline = http.protocol.loop.time() + head_seconds
        end = buf.find(b"\r\n\r\n")
        while end == -1:
            if max(0, len(buf) - 3) >= http.HEADER_MAX_SIZE:
                refuse(http, HEAD_TOO_LARGE)  # as Sanic's parser would, marked as ours
            await receive_more(http, deadline, HEAD_TIMEOUT)
            end = buf.find(b"\r\n\r\n")
        if end >= http.HEADER_MAX_SIZE:
            refuse(http, HEAD_TOO_LARGE)
        refusal = head_refusal(bytes(buf[:end]), http.protocol.request_max_size)
        if refusal:
            refuse(http, refusal)

    def body_deadline(http: Any) -> float:
        """When the body of the request being read must be in: BODY_SECONDS after its
        head, remembered per request (Sanic's Http has __slots__)."""
        deadline = body_deadlines.get(http.request)
        if deadline is None:
            _, body_seconds = time_limits(http.protocol.request_timeout)
            deadline = body_deadlines[http.request] = http.protocol.loop.time() + body_seconds
        return deadline

    def start_body(http: Any) -> None:
        if http.request_body:
            body_deadline(http)

    async def before_read(http: Any) -> bool:
        """Make sure what Sanic's read() needs next is in the buffer, in time, and that
        a chunk header is well formed; Sanic's read() then never waits itself. True when
        the body is refused after the response went out (Sanic reads what a handler left
        unread, e.g. a GET's body, to keep the connection): the connection just closes."""
        try:
            await check_before_read(http)
        except (InvalidUsage, PayloadTooLarge, RequestTimeout):
            if http.stage is Stage.HANDLER:
                raise  # the handler's read: its error response says why
            return True
        return False

    async def check_before_read(http: Any) -> None:
        if not http.request_body:
            return
        if http.expecting_continue:  # as Sanic's read() does first: the client waits for it
            http.expecting_continue = False
            await http._send(b"HTTP/1.1 100 Continue\r\n\r\n")
        buf = http.recv_buffer
        deadline = body_deadline(http)
        if http.request_body == "chunked" and http.request_bytes_left == 0:
            # CRLF (ending the head or the previous chunk), chunk-size, CRLF
            while (end := buf.find(b"\r\n", 2)) == -1:
                if len(buf) > 64:
                    refuse(http, BAD_CHUNK)
                await receive_more(http, deadline, BODY_TIMEOUT)
            size = chunk_size(bytes(buf[2:end])) if buf[:2] == b"\r\n" else None
            if size is None:
                refuse(http, BAD_CHUNK)
            if http.request_bytes + size > http.request_max_size:
                refuse(http, TOO_LONG)
            if size == 0:
                while len(buf) < end + 4:
                    await receive_more(http, deadline, BODY_TIMEOUT)
                if buf[end:end + 4] != b"\r\n\r\n":
                    refuse(http, TRAILERS)
                return
            while len(buf) <= end + 2:
                await receive_more(http, deadline, BODY_TIMEOUT)
        elif http.request_bytes_left and not buf:
            await receive_more(http, deadline, BODY_TIMEOUT)

    http_class._framing_unchecked_request_header = http_class.http1_request_header
    http_class._framing_unchecked_read = http_class.read
    if not getattr(http_class, "__touched__", False):
        # Sanic's originals keep their start-up rewrite (unused signal dispatches
        # removed), which works from their source: only before it has run once.
        TouchUp.register(http_class, "_framing_unchecked_request_header")
        TouchUp.register(http_class, "_framing_unchecked_read")
    http_class._framing_receive_head = receive_head
    http_class._framing_start_body = start_body
    http_class._framing_before_read = before_read
    http_class.http1_request_header = _checked_request_header
    http_class.read = _checked_read
    http_class._framing_installed = True

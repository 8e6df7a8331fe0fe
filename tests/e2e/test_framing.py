"""Malformed HTTP framing on a raw socket, against the real Rasa server and the real
action server (core/http_framing.py; the rules one by one: tests/core/test_http_framing.py).

Before issue 15's fix one `Content-Length: -1` made either server spin at 100 % of a core
and never answer again. Here every malformed request is refused (400, 413, or 408 for a
trickle) and the connection closed, and after each one the assistant answers a normal
turn within seconds; at the end neither process is using the CPU.
"""

import json
import socket
import threading
import time
import urllib.request
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import psutil
import pytest

from core.http_framing import BODY_SECONDS, HEAD_SECONDS

REST = b"/webhooks/rest/webhook"
TURN_SECONDS = 15  # "within seconds", on a loaded two-core machine
BODY = b'{"sender":"framing","message":"hi"}'


def address(url: str) -> Tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def exchange(url: str, raw: bytes, seconds: float = 10) -> Tuple[Optional[int], bool, bytes]:
    """Sends `raw` on a fresh connection; returns the response's status (None without
    one), whether the server closed the connection within `seconds`, and what came."""
    received, closed = b"", False
    with socket.create_connection(address(url), timeout=seconds) as sock:
        sock.sendall(raw)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
    status = int(received[9:12]) if received[:5] == b"HTTP/" and received[9:12].isdigit() else None
    return status, closed, received


def head(path: bytes, *lines: bytes, method: bytes = b"POST") -> bytes:
    return b"\r\n".join([method + b" " + path + b" HTTP/1.1", b"Host: x", *lines]) + b"\r\n\r\n"


def chunked(path: bytes, chunks: bytes) -> bytes:
    return head(path, b"Content-Type: application/json", b"Transfer-Encoding: chunked") + chunks


def malformed(path: bytes) -> Dict[str, bytes]:
    """name: request, each one a refusal on its own."""
    json_head = (b"Content-Type: application/json",)
    return {
        "negative length (froze the server)": head(path, *json_head, b"Content-Length: -1") + BODY,
        "non-numeric length (500)": head(path, *json_head, b"Content-Length: abc") + BODY,
        "hex length": head(path, *json_head, b"Content-Length: 0x23") + BODY,
        "huge length": head(path, *json_head, b"Content-Length: 99999999999999999999999") + BODY,
        "length over REQUEST_MAX_SIZE": head(path, *json_head, b"Content-Length: 2000000000") + BODY,
        "two equal lengths": head(path, *json_head, b"Content-Length: 35", b"Content-Length: 35") + BODY,
        "two lengths": head(path, *json_head, b"Content-Length: 35", b"Content-Length: 5") + BODY,
        "length and chunked": head(path, *json_head, b"Content-Length: 35",
                                   b"Transfer-Encoding: chunked") + b"23\r\n" + BODY + b"\r\n0\r\n\r\n",
        "Chunked (500)": head(path, *json_head, b"Transfer-Encoding: Chunked") + b"0\r\n\r\n",
        "gzip encoding": head(path, *json_head, b"Transfer-Encoding: gzip") + BODY,
        "negative chunk": chunked(path, b"-23\r\n" + BODY + b"\r\n0\r\n\r\n"),
        "0x chunk size": chunked(path, b"0x23\r\n" + BODY + b"\r\n0\r\n\r\n"),
        "chunk size junk": chunked(path, b"zz\r\n" + BODY + b"\r\n0\r\n\r\n"),
        "chunk size with _": chunked(path, b"2_3\r\n" + BODY + b"\r\n0\r\n\r\n"),
        "huge chunk": chunked(path, b"ffffffffffff\r\n" + BODY + b"\r\n0\r\n\r\n"),
        "chunk longer than its size": chunked(path, b"5\r\n" + BODY + b"\r\n0\r\n\r\n"),
        "trailer after the last chunk": chunked(path, b"23\r\n" + BODY + b"\r\n0\r\nX: y\r\n\r\n"),
        "header without a colon": head(path, *json_head, b"Garbage", b"Content-Length: 35") + BODY,
        "space before the colon": head(path, *json_head, b"Content-Length : 35") + BODY,
        "obs-fold": head(path, *json_head, b"X-A: b", b" c", b"Content-Length: 35") + BODY,
        "bare LF in a header": head(path, *json_head, b"X-A: b\nContent-Length: 35") + BODY,
        "NUL in a header": head(path, *json_head, b"X-A: \x00", b"Content-Length: 35") + BODY,
        "non-ASCII target (no answer)": head(path + b"\xe9", b"Content-Length: 0"),
        "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "header over 8 KB": head(path, b"X-A: " + b"a" * 20_000),
        "unknown expectation (action server: 401)": head(path, *json_head, b"Expect: nope",
                                                         b"Content-Length: 35") + BODY,
    }


@pytest.fixture(scope="module")
def servers(assistant):
    """(name, base URL, path to aim at) for both servers."""
    return {"rasa": (assistant.rasa_url, REST), "actions": (assistant.actions_url, b"/webhook")}


def normal_turn(assistant, sender: str) -> List[Dict]:
    """A turn that needs both servers (the assessment is a custom action), in time."""
    request = urllib.request.Request(
        assistant.webhook, headers={"Content-Type": "application/json"},
        data=json.dumps({"sender": sender, "message": "税务局说退税"}).encode())
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=TURN_SECONDS) as reply:
        messages = json.loads(reply.read())
    assert time.monotonic() - started < TURN_SECONDS
    assert any(m.get("custom", {}).get("scam_type") == "tax_refund" for m in messages), messages
    return messages


CASES = list(malformed(REST))


@pytest.mark.parametrize("server", ["rasa", "actions"])
@pytest.mark.parametrize("case", CASES)
def test_malformed_framing_is_refused_and_the_assistant_still_answers(assistant, servers, server, case):
    url, path = servers[server]
    started = time.monotonic()
    status, closed, received = exchange(url, malformed(path)[case])
    assert closed, (case, received[:200])  # nothing after a refusal is trusted
    assert status in (400, 413, 417, None), (case, received[:300])
    assert time.monotonic() - started < 5, case
    normal_turn(assistant, f"framing-{server}-{CASES.index(case)}")


def cpu_share(process: psutil.Process, seconds: float = 2.0) -> float:
    process.cpu_percent(None)
    time.sleep(seconds)
    return process.cpu_percent(None) / 100


def test_no_server_is_spinning_after_the_malformed_requests(assistant):
    for process in (assistant.rasa, assistant.actions):
        # A spinning server used a whole core; an idle one next to nothing.
        assert cpu_share(psutil.Process(process.pid)) < 0.25


def test_a_well_framed_chunked_turn_is_answered(assistant):
    body = json.dumps({"sender": "framing-chunked", "message": "你好"}).encode()
    status, _, received = exchange(
        assistant.rasa_url,
        chunked(REST, b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:]))
        + head(b"/webhooks/rest/", method=b"GET"),  # and the next request on the connection
        seconds=5)
    assert status == 200 and received.count(b"HTTP/1.1 200 OK") == 2, received[:500]


def test_a_bad_body_nobody_reads_closes_the_connection_quietly(assistant):
    """Sanic reads what a handler left unread (the body of a GET to an app.get route) to
    keep the connection; a refusal there just closes it, without a traceback in the log."""
    for url, path, answer in ((assistant.actions_url, b"/health", 200),  # body ignored
                              (assistant.rasa_url, b"/webhooks/rest/", 400)):  # body read first
        status, closed, _ = exchange(url, head(path, b"Transfer-Encoding: chunked", method=b"GET")
                                     + b"zz\r\nx\r\n0\r\n\r\n", seconds=5)
        assert (status, closed) == (answer, True)
    for log in ("rasa.log", "actions.log"):
        text = (assistant.tracker_db.parent / log).read_text(encoding="utf-8", errors="replace")
        assert "connection_task uncaught" not in text, log


def test_a_non_utf8_authorization_header_is_a_401_not_a_500(assistant):
    call = json.dumps({"next_action": "action_greet", "tracker": {"sender_id": "x"}}).encode()
    for value in (b"Bearer \xff\xfe", b"Bearer " + assistant.action_secret.encode() + b"\xe9", b"\x80"):
        status, _, received = exchange(
            assistant.actions_url,
            head(b"/webhook", b"Authorization: " + value, b"Content-Type: application/json",
                 b"Content-Length: %d" % len(call)) + call,
            seconds=5)
        assert status == 401, (value, received[:300])
        assert json.loads(received.split(b"\r\n\r\n", 1)[1]) == {"error": "Unauthorized"}


def trickle(url: str, first: bytes, drip: bytes, results: Dict[str, float], name: str) -> None:
    """Sends `first`, then `drip` every second, until the server closes the connection;
    results[name] is how long that took (inf when it never did within 60 s)."""
    started = time.monotonic()
    results[name] = float("inf")
    with socket.create_connection(address(url), timeout=5) as sock:
        sock.sendall(first)
        while time.monotonic() - started < 60:
            try:
                sock.settimeout(1)
                if sock.recv(65536) == b"":
                    results[name] = time.monotonic() - started
                    return
            except socket.timeout:
                pass
            except OSError:
                results[name] = time.monotonic() - started
                return
            try:
                sock.sendall(drip)
            except OSError:
                results[name] = time.monotonic() - started
                return


def test_a_slowloris_cannot_hold_either_server(assistant, servers):
    """A head or a body sent a byte a second: Sanic restarts its timeouts with every byte,
    so such a connection was held for as long as the client liked."""
    results: Dict[str, float] = {}
    threads = []
    for server, (url, path) in servers.items():
        for kind, first, drip in (
            ("head", head(path)[:-4] + b"\r\n", b"X-A: b\r\n"),
            ("body", head(path, b"Content-Type: application/json", b"Content-Length: 1000"), b"{"),
            ("chunks", chunked(path, b""), b"1\r\n[\r\n"),
        ):
            name = f"{server} {kind}"
            threads.append(threading.Thread(target=trickle, args=(url, first, drip, results, name)))
    for thread in threads:
        thread.start()
    # Meanwhile the assistant answers as usual.
    for i in range(3):
        normal_turn(assistant, f"framing-slowloris-{i}")
        time.sleep(2)
    for thread in threads:
        thread.join()
    for name, seconds in results.items():
        limit = HEAD_SECONDS if name.endswith("head") else BODY_SECONDS
        assert seconds < limit + 5, results
    normal_turn(assistant, "framing-after-slowloris")

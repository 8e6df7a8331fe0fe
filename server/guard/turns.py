"""What every public channel does around the assistant: limits before it, masking on the
way in, and never leaving a customer without an answer on the way out.

Before: a request body limit (413) and token-bucket rate limits per sender and per client
address (429 with Retry-After), both with a Chinese reason.
The turn (TurnGuard.answer, called by every channel):
  - card numbers, ID numbers, passwords and codes are masked (core/masking.py) before
    the channel builds its UserMessage, so Rasa's tracker store, event broker and logs
    never see them; the kinds masked go into the message metadata under "masked", and the
    customer is told once that they were masked;
  - no silence: when the assistant says nothing to a real message (e.g. the action server
    is down: Rasa logs the failed action and listens) or is slower than
    ASSISTANT_REPLY_TIMEOUT seconds, the customer gets the general safe advice with the
    official numbers. A slow turn goes on in the background, so its events still reach
    the tracker store;
  - at most MAX_TURNS_AT_ONCE turns (default 3) run at once in the process, whatever the
    channel; the others wait their turn in order. Turns that share one busy core all
    finish late: at concurrency 8, p99 was 172-204 ms with every turn at once and
    128-132 ms with three (bench/load.py). Waiting counts toward the reply timeout.

No Rasa imports: the channel passes a callback that builds and handles its UserMessage.
"""

import asyncio
import logging
import math
import os
import re
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import (
    Any, Awaitable, Callable, Dict, FrozenSet, List, Mapping, Optional, Set, Tuple,
)

from sanic import response
from sanic.request import Request

from core.catalog import load_catalog
from core.directory import official_directory, resolve_hotlines
from core.settings import Bank, bank_from_env
from core.masking import mask, mask_values

logger = logging.getLogger(__name__)

PER_SENDER_ENV = "RATE_LIMIT_PER_SENDER"
PER_IP_ENV = "RATE_LIMIT_PER_IP"
REPLY_TIMEOUT_ENV = "ASSISTANT_REPLY_TIMEOUT"
TURNS_AT_ONCE_ENV = "MAX_TURNS_AT_ONCE"
DEFAULT_TURNS_AT_ONCE = 3
DEFAULT_PER_SENDER = "20/60"  # a customer types far slower; a script does not
DEFAULT_PER_IP = "120/60"  # several customers behind one office or carrier NAT
DEFAULT_REPLY_TIMEOUT_SECONDS = 10.0
# Idle buckets are dropped as soon as they are full again; this bounds the rest.
MAX_TRACKED_KEYS = 100_000
DISABLED = ("off", "0", "none")

MASKED_METADATA_KEY = "masked"
PRIVACY_WARNING = "请注意：验证码、密码、卡号、身份证号不要发给任何人，包括我们。我已经把它们遮住了。"
TOO_FAST = (
    "您发得太快了，请{seconds}秒后再发。"
    "如果对方正在电话里催您转账或要验证码，请先挂断电话。"
)

_RATE = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*")


# --- request limits --------------------------------------------------------------------


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


@dataclass(frozen=True)
class Rate:
    """`count` requests per `seconds`, with bursts of up to `count`."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, raw: str, variable: str) -> Optional["Rate"]:
        """"20/60" -> Rate(20, 60.0); "off" (or "0") -> None, no limit."""
        if raw.strip().lower() in DISABLED:
            return None
        match = _RATE.fullmatch(raw)
        if not match or int(match[1]) < 1 or float(match[2]) <= 0:
            raise ValueError(
                f"{variable} 的格式是 次数/秒数，例如 20/60，或 off 表示不限 /"
                f" {variable} must look like 20/60 (requests/seconds) or off, got {raw!r}"
            )
        return cls(int(match[1]), float(match[2]))


class TokenBuckets:
    """One token bucket per key (a sender, an address), in this process's memory.

    Several replicas each count on their own: behind a load balancer, rate-limit at the
    ingress / load balancer, or move the buckets to a shared store such as Redis.
    """

    def __init__(
        self, rate: Rate, clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._per_second = rate.count / rate.seconds
        # key -> (tokens, when counted); least recently used first.
        self._buckets: "OrderedDict[str, Tuple[float, float]]" = OrderedDict()

    def wait(self, key: str) -> float:
        """Seconds until `key` may make a request; 0 when it may now."""
        tokens = self._tokens(key, self._clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / self._per_second

    def take(self, key: str) -> None:
        now = self._clock()
        self._buckets[key] = (self._tokens(key, now) - 1, now)
        self._buckets.move_to_end(key)
        self._forget_idle(now)

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, counted_at = self._buckets.get(key, (self.rate.count, now))
        return min(self.rate.count, tokens + (now - counted_at) * self._per_second)

    def _forget_idle(self, now: float) -> None:
        # A bucket idle for `seconds` is full again, the same as no bucket: drop it.
        while self._buckets:
            key, (_, counted_at) = next(iter(self._buckets.items()))
            if now - counted_at < self.rate.seconds and len(self._buckets) <= self._max_keys:
                break
            del self._buckets[key]


class RequestLimits:
    """The per-sender and per-address limits; a request counts against both or neither."""

    def __init__(self, per_sender: Optional[TokenBuckets], per_ip: Optional[TokenBuckets]):
        self.per_sender = per_sender
        self.per_ip = per_ip

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] = os.environ, clock: Callable[[], float] = time.monotonic
    ) -> "RequestLimits":
        def buckets(variable: str, default: str) -> Optional[TokenBuckets]:
            rate = Rate.parse(env.get(variable) or default, variable)
            return TokenBuckets(rate, clock) if rate else None

        return cls(buckets(PER_SENDER_ENV, DEFAULT_PER_SENDER), buckets(PER_IP_ENV, DEFAULT_PER_IP))

    def admit(self, sender: Optional[str], address: Optional[str]) -> float:
        """0 and the request counted, or the seconds to wait (nothing counted)."""
        checks = [
            (buckets, key)
            for buckets, key in ((self.per_sender, sender), (self.per_ip, address))
            if buckets is not None and key
        ]
        wait = max((buckets.wait(key) for buckets, key in checks), default=0.0)
        if wait == 0:
            for buckets, key in checks:
                buckets.take(key)
        return wait


@lru_cache(maxsize=1)
def shared_limits() -> RequestLimits:
    """This process's limits, read from the environment once: all channels share them,
    so one address counts the same whether it calls REST or the widget."""
    return RequestLimits.from_env()


def client_address(request: Request) -> str:
    """The customer's address: from X-Forwarded-For / Forwarded only when Sanic is told
    to trust the proxy (SANIC_PROXIES_COUNT, SANIC_REAL_IP_HEADER), else the peer's."""
    return request.remote_addr or request.ip or ""


def too_fast_message(wait_seconds: float) -> str:
    return TOO_FAST.format(seconds=math.ceil(wait_seconds))


def refuse_too_fast(
    request: Request, limits: RequestLimits, sender: Optional[str]
) -> Optional[response.HTTPResponse]:
    """429 with Retry-After when the sender or the address is over its rate, else None
    (and the request counted)."""
    wait = limits.admit(sender, client_address(request))
    if wait == 0:
        return None
    return response.json(
        {"error": too_fast_message(wait)},
        status=429,
        headers={"Retry-After": str(math.ceil(wait))},
    )


# --- the turn --------------------------------------------------------------------------


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


def safe_reply(bank: Bank) -> str:
    """The general advice when the assistant cannot answer: hang up, no transfer, no
    codes, and only official numbers (the catalog's suspected-fraud advice)."""
    general = load_catalog().suspected_fraud
    directory = official_directory(bank)
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(general.steps, start=1))
    numbers = "\n".join(
        f"📞 {number} {directory[number].owner}"
        for number in resolve_hotlines(general.hotlines, bank)
    )
    return (
        "抱歉，我这边暂时出了点问题，没能马上回答您。请先这样做：\n"
        f"{steps}\n"
        f"钱已经转出去了，请马上拨打110报警，并拨打{bank.hotline}冻结银行卡。\n\n"
        f"请您自己拨打这些官方电话：\n{numbers}"
    )


def reply_timeout_from_env(env: Mapping[str, str] = os.environ) -> float:
    raw = (env.get(REPLY_TIMEOUT_ENV) or "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_REPLY_TIMEOUT_SECONDS
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ValueError(
            f"{REPLY_TIMEOUT_ENV} 必须是0到3600之间的秒数 / must be seconds in (0, 3600],"
            f" got {raw!r}"
        )
    return seconds


def turns_at_once_from_env(env: Mapping[str, str] = os.environ) -> int:
    raw = (env.get(TURNS_AT_ONCE_ENV) or "").strip()
    try:
        turns = int(raw) if raw else DEFAULT_TURNS_AT_ONCE
    except ValueError:
        turns = 0
    if not 1 <= turns <= 1000:
        raise ValueError(
            f"{TURNS_AT_ONCE_ENV} 必须是1到1000之间的整数 / must be a whole number in"
            f" [1, 1000], got {raw!r}"
        )
    return turns


# One set of slots per event loop and size, shared by every channel's guard.
_turn_slots: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _slots(size: int) -> asyncio.Semaphore:
    per_size = _turn_slots.setdefault(asyncio.get_running_loop(), {})
    if size not in per_size:
        per_size[size] = asyncio.Semaphore(size)
    return per_size[size]


# ask(masked text, metadata) builds the channel's UserMessage and lets Rasa handle it;
# the assistant's messages arrive in the `replies` list passed alongside.
Ask = Callable[[str, Optional[Dict[str, Any]]], Awaitable[Any]]


class TurnGuard:
    """Masks what comes in and makes sure something safe goes out; see the module doc."""

    def __init__(
        self, bank: Bank, reply_timeout: float, turns_at_once: int = DEFAULT_TURNS_AT_ONCE
    ) -> None:
        self.safe_reply = safe_reply(bank)
        self.reply_timeout = reply_timeout
        self.turns_at_once = turns_at_once
        # Official numbers are what customers ask about: never masked as a code.
        self.keep: FrozenSet[str] = frozenset(official_directory(bank))
        self._unfinished: Set[asyncio.Future] = set()  # held so they are not collected

    @classmethod
    def from_env(cls) -> "TurnGuard":
        """BANK_*, ASSISTANT_REPLY_TIMEOUT and MAX_TURNS_AT_ONCE, read at startup: a bad
        setting stops the server (or disables the WeChat channel), not a customer's turn."""
        return cls(bank_from_env(), reply_timeout_from_env(), turns_at_once_from_env())

    async def answer(
        self,
        ask: Ask,
        text: str,
        metadata: Optional[Dict[str, Any]],
        replies: List[Dict[str, Any]],
        recipient_id: str,
    ) -> List[Dict[str, Any]]:
        """The messages to send back for `text`: the assistant's, the safe reply when it
        had none (or not in time), and the privacy warning when something was masked."""
        masked = mask(text, self.keep)
        metadata, kinds_in_metadata = mask_values(metadata, self.keep)
        kinds = list(dict.fromkeys(masked.kinds + kinds_in_metadata))
        if kinds:
            metadata = {**(metadata or {}), MASKED_METADATA_KEY: kinds}
        already = len(replies)
        timed_out = await self._run(ask(masked.text, metadata), recipient_id)
        answer = list(replies)  # a late turn may still append to `replies`; not to this
        if timed_out or (len(answer) == already and text.strip()):
            answer.append({"recipient_id": recipient_id, "text": self.safe_reply})
        if kinds:
            answer.append({"recipient_id": recipient_id, "text": PRIVACY_WARNING})
        return answer

    async def _run(self, turn: Awaitable[Any], recipient_id: str) -> bool:
        """Runs the turn; True when it outlasted the timeout (it then goes on alone)."""
        task = asyncio.ensure_future(self._in_a_slot(turn))
        try:
            # shield: on timeout (or the client hanging up) Rasa still finishes the turn
            # and saves it; cancelling it half-way could lose the conversation's events.
            await asyncio.wait_for(asyncio.shield(task), self.reply_timeout)
        except asyncio.TimeoutError:
            logger.warning(
                "no answer for %s within %ss: safe reply sent, the turn goes on",
                recipient_id, self.reply_timeout,
            )
            self._let_finish(task)
            return True
        except asyncio.CancelledError:  # the client went away; the turn is still saved
            self._let_finish(task)
            raise
        except Exception:  # whatever failed inside Rasa, the customer gets an answer
            logger.exception("the assistant failed on a message for %s", recipient_id)
        return False

    async def _in_a_slot(self, turn: Awaitable[Any]) -> Any:
        async with _slots(self.turns_at_once):
            return await turn

    def _let_finish(self, task: asyncio.Future) -> None:
        self._unfinished.add(task)
        task.add_done_callback(self._finished_late)

    def _finished_late(self, task: asyncio.Future) -> None:
        self._unfinished.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a late turn failed: %r", task.exception())

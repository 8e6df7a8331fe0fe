"""Rate limits: a token bucket per sender and per client address, 429 with Retry-After.

The rates come from RATE_LIMIT_PER_SENDER and RATE_LIMIT_PER_IP (core/settings.py).
"""

import math
import time
from collections import OrderedDict
from functools import lru_cache
from typing import Callable, Optional, Tuple

from sanic import response
from sanic.request import Request

from core.language import SIMPLIFIED, reply_language
from core.settings import Rate, Settings, settings
from core.wording import say

# Idle buckets are dropped as soon as they are full again; this bounds the rest.
MAX_TRACKED_KEYS = 100_000


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
    def from_settings(
        cls, config: Settings, clock: Callable[[], float] = time.monotonic
    ) -> "RequestLimits":
        def buckets(rate: Optional[Rate]) -> Optional[TokenBuckets]:
            return TokenBuckets(rate, clock) if rate else None

        return cls(buckets(config.rate_per_sender), buckets(config.rate_per_ip))

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
    """This process's limits: all channels share them, so one address counts the same
    whether it calls REST or the widget."""
    return RequestLimits.from_settings(settings())


def client_address(request: Request) -> str:
    """The customer's address: from X-Forwarded-For / Forwarded only when Sanic is told
    to trust the proxy (SANIC_PROXIES_COUNT, SANIC_REAL_IP_HEADER), else the peer's."""
    return request.remote_addr or request.ip or ""


def too_fast_message(wait_seconds: float, language: str = SIMPLIFIED) -> str:
    return say("too_fast", seconds=math.ceil(wait_seconds), language=language)


def _message_language(request: Request) -> str:
    """The language of the message being refused (a JSON body's "message")."""
    try:
        body = request.json
    except Exception:  # not JSON: the other checks say so
        return SIMPLIFIED
    message = body.get("message") if isinstance(body, dict) else None
    return reply_language(message if isinstance(message, str) else "")


def refuse_too_fast(
    request: Request, limits: RequestLimits, sender: Optional[str]
) -> Optional[response.HTTPResponse]:
    """429 with Retry-After when the sender or the address is over its rate, else None
    (and the request counted)."""
    wait = limits.admit(sender, client_address(request))
    if wait == 0:
        return None
    return response.json(
        {"error": too_fast_message(wait, _message_language(request))},
        status=429,
        headers={"Retry-After": str(math.ceil(wait))},
    )

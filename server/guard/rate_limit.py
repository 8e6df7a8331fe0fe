"""Rate limits: a token bucket per sender and per client address, 429 with Retry-After.

The rates come from RATE_LIMIT_PER_SENDER and RATE_LIMIT_PER_IP (core/settings.py). The
buckets live in this process (the embedded profile), or in Redis when several replicas
serve (the scale-out profile, SHARED_STATE=redis): N replicas then allow one limit, not N.
"""

import hashlib
import logging
import math
import time
from collections import OrderedDict
from functools import lru_cache
from typing import Callable, List, Optional, Protocol, Tuple

import redis
from sanic import response
from sanic.request import Request

from core.language import SIMPLIFIED, reply_language
from core.settings import Rate, Settings, settings
from core.wording import say
from server.shared_state import key_prefix, shared_redis

logger = logging.getLogger(__name__)

# Idle buckets are dropped as soon as they are full again; this bounds the rest.
MAX_TRACKED_KEYS = 100_000


class TokenBuckets:
    """One token bucket per key (a sender, an address), in this process's memory.

    Several replicas would each count on their own: the scale-out profile uses
    RedisRequestLimits instead (SHARED_STATE=redis).
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


class Limits(Protocol):
    def admit(self, sender: Optional[str], address: Optional[str]) -> float:
        """0 and the request counted, or the seconds to wait (nothing counted)."""


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


# Both buckets of a request in one step, on Redis's clock (replicas' clocks may differ):
# refilled for the time since each was last counted, and a token taken from each only
# when every one has a token. KEYS: the buckets. ARGV: now (negative: Redis's TIME), then
# per bucket its burst, its tokens per second and how long an idle one is kept (ms).
# Returns the seconds to wait, as a string ("0": admitted and counted).
_ADMIT_SCRIPT = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local wait, tokens = 0, {}
for i, key in ipairs(KEYS) do
  local burst = tonumber(ARGV[3 * i - 1])
  local per_second = tonumber(ARGV[3 * i])
  local held = redis.call('HMGET', key, 'tokens', 'at')
  local left, at = tonumber(held[1]), tonumber(held[2])
  if left == nil or at == nil then left, at = burst, now end
  left = math.min(burst, left + math.max(0, now - at) * per_second)
  tokens[i] = left
  if left < 1 then wait = math.max(wait, (1 - left) / per_second) end
end
if wait == 0 then
  for i, key in ipairs(KEYS) do
    redis.call('HSET', key, 'tokens', tostring(tokens[i] - 1), 'at', tostring(now))
    redis.call('PEXPIRE', key, ARGV[3 * i + 1])
  end
end
return tostring(wait)
"""


class RedisRequestLimits:
    """RequestLimits with the buckets in Redis, shared by every replica: one script run
    per request checks and counts both buckets atomically.

    If Redis does not answer, the request is admitted and the failure logged: the
    assistant keeps answering (Rasa's lock store, on the same Redis, fails loudly too).
    """

    def __init__(
        self, client: redis.Redis, prefix: str, per_sender: Optional[Rate],
        per_ip: Optional[Rate], clock: Optional[Callable[[], float]] = None,
    ) -> None:
        self.per_sender = per_sender
        self.per_ip = per_ip
        self._prefix = f"{prefix}:rate:"
        self._clock = clock  # None: Redis's own clock, the same for every replica
        self._admit = client.register_script(_ADMIT_SCRIPT)

    @classmethod
    def from_settings(
        cls, config: Settings, client: redis.Redis, clock: Optional[Callable[[], float]] = None
    ) -> "RedisRequestLimits":
        return cls(client, key_prefix(config), config.rate_per_sender, config.rate_per_ip,
                   clock)

    def admit(self, sender: Optional[str], address: Optional[str]) -> float:
        keys: List[str] = []
        args: List[str] = [repr(self._clock()) if self._clock else "-1"]
        for kind, rate, key in (("sender", self.per_sender, sender), ("ip", self.per_ip, address)):
            if rate is None or not key:
                continue
            # Hashed: a sender id can be long and hold anything; the key stays short.
            keys.append(self._prefix + kind + ":" + hashlib.sha256(key.encode()).hexdigest()[:32])
            idle_ms = max(1, math.ceil(rate.seconds * 1000))  # idle that long: full again
            args += [str(rate.count), repr(rate.count / rate.seconds), str(idle_ms)]
        if not keys:
            return 0.0
        try:
            return float(self._admit(keys=keys, args=args))
        except redis.RedisError as error:
            logger.error("rate limit not checked, Redis unavailable: %r", error)
            return 0.0


def limits_from_settings(config: Settings) -> Limits:
    """In Redis when the shared state is (SHARED_STATE=redis), else in this process."""
    client = shared_redis(config)
    if client is None:
        return RequestLimits.from_settings(config)
    return RedisRequestLimits.from_settings(config, client)


@lru_cache(maxsize=1)
def shared_limits() -> Limits:
    """This process's limits: all channels share them, so one address counts the same
    whether it calls REST or the widget; with SHARED_STATE=redis every replica shares them."""
    return limits_from_settings(settings())


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
    request: Request, limits: Limits, sender: Optional[str]
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

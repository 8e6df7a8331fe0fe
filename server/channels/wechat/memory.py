"""What the WeChat channel remembers for a while: the nonces of signed requests (a replay
is refused), the outcome of each MsgId (WeChat retries a message up to three times) and
the buttons last shown to each follower.

Each is a Store of strings with one expiry per store: in this process's memory (the
embedded profile), or in Redis when several replicas serve WeChat (the scale-out
profile, SHARED_STATE=redis; server/shared_state.py), so that a retry or a replay is
recognised whichever replica it reaches.
"""

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Generic, Optional, Protocol, Tuple, TypeVar

import redis

from core.settings import Settings
from server.shared_state import key_prefix, shared_redis

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A mapping whose entries expire after `ttl_seconds`, at most `max_entries` (oldest
    dropped first). Per process; LocalStore and the channel's running turns use it."""

    def __init__(
        self, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: "OrderedDict[K, Tuple[float, V]]" = OrderedDict()
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock

    def get(self, key: K) -> Optional[V]:
        self._drop_expired()
        entry = self._entries.get(key)
        return entry[1] if entry else None

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)  # re-inserted last, so the order stays expiry order
        self._entries[key] = (self._clock() + self._ttl, value)
        self._drop_expired()
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        self._drop_expired()
        return len(self._entries)

    def _drop_expired(self) -> None:
        now = self._clock()
        while self._entries and next(iter(self._entries.values()))[0] <= now:
            self._entries.popitem(last=False)


class Store(Protocol):
    """Strings by key, each kept for the store's time from when it was last written."""

    def add(self, key: str, value: str) -> Optional[str]:
        """Keeps `value` unless `key` is held: None when kept, else the value held."""

    def get(self, key: str) -> Optional[str]:
        ...

    def put(self, key: str, value: str) -> None:
        ...

    def pop(self, key: str) -> None:
        ...


class LocalStore:
    """A Store in this process's memory (at most `max_entries`, oldest dropped first)."""

    def __init__(
        self, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cache: TTLCache[str, str] = TTLCache(max_entries, ttl_seconds, clock)

    def add(self, key: str, value: str) -> Optional[str]:
        held = self._cache.get(key)
        if held is None:
            self._cache.put(key, value)
        return held

    def get(self, key: str) -> Optional[str]:
        return self._cache.get(key)

    def put(self, key: str, value: str) -> None:
        self._cache.put(key, value)

    def pop(self, key: str) -> None:
        self._cache.pop(key)


class RedisStore:
    """A Store in Redis under `prefix`: `add` is one SET NX, so two replicas that get the
    same key at once agree on which one holds it."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: float) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_seconds * 1000))

    def add(self, key: str, value: str) -> Optional[str]:
        full_key = self._prefix + key
        # SET NX then GET (SET NX GET needs Redis 7): `add` never changes a value held,
        # and a `put` in between only replaces one outcome of a turn with a later one.
        for _ in range(2):
            if self._client.set(full_key, value, nx=True, px=self._ttl_ms):
                return None
            held = self._client.get(full_key)
            if held is not None:
                return held
        return value  # expired twice in between: a key nobody holds for long is as good as ours

    def get(self, key: str) -> Optional[str]:
        return self._client.get(self._prefix + key)

    def put(self, key: str, value: str) -> None:
        self._client.set(self._prefix + key, value, px=self._ttl_ms)

    def pop(self, key: str) -> None:
        self._client.delete(self._prefix + key)


# How long each is remembered. A timestamp is accepted from 5 minutes before it to
# 5 minutes after, so a query string can be replayed for up to 10 minutes after it was
# first seen: its nonce, and the MsgId a replay of it would carry, are kept that long.
NONCE_SECONDS = 2 * 300 + 60
TURN_SECONDS = NONCE_SECONDS
# As long as Rasa's session (domain.yml session_expiration_time: 60 minutes).
BUTTON_SECONDS = 3600
MAX_LOCAL_NONCES = 100_000
MAX_LOCAL_ENTRIES = 10_000


@dataclass(frozen=True)
class WeChatMemory:
    nonces: Store  # "<timestamp>:<nonce>" -> the fingerprint of the request that used it
    turns: Store  # "<openid>:<MsgId>" -> PENDING, then the body WeChat got
    buttons: Store  # openid -> the buttons last shown, as JSON

    @classmethod
    def in_process(cls, clock: Callable[[], float] = time.monotonic) -> "WeChatMemory":
        return cls(
            nonces=LocalStore(MAX_LOCAL_NONCES, NONCE_SECONDS, clock),
            turns=LocalStore(MAX_LOCAL_ENTRIES, TURN_SECONDS, clock),
            buttons=LocalStore(MAX_LOCAL_ENTRIES, BUTTON_SECONDS, clock),
        )

    @classmethod
    def in_redis(cls, client: redis.Redis, prefix: str) -> "WeChatMemory":
        """Keys `<prefix>:wechat:nonce:…`, `…:turn:…`, `…:buttons:…`."""
        base = f"{prefix}:wechat:"
        return cls(
            nonces=RedisStore(client, base + "nonce:", NONCE_SECONDS),
            turns=RedisStore(client, base + "turn:", TURN_SECONDS),
            buttons=RedisStore(client, base + "buttons:", BUTTON_SECONDS),
        )

    @classmethod
    def from_settings(cls, config: Settings) -> "WeChatMemory":
        client = shared_redis(config)
        if client is None:
            return cls.in_process()
        return cls.in_redis(client, key_prefix(config))

"""A small in-process memory with expiry: the turns of recent MsgIds (WeChat retries a
message up to three times) and the buttons last shown to each follower."""

import time
from collections import OrderedDict
from typing import Callable, Generic, Optional, Tuple, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A mapping whose entries expire after `ttl_seconds`, at most `max_entries` (oldest
    dropped first). Per process: several replicas behind a load balancer would need a
    shared store (e.g. Redis) for deduplication and button memory."""

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



"""Login attempts per client address in a sliding window, in memory: a guessing script
from one address is slowed before it can lock anyone out or cost much CPU (every attempt
is an Argon2 hash). The per-account lockout (accounts.py) is in the database."""

import time
from collections import deque
from typing import Deque, Dict, Optional

MAX_ADDRESSES = 10_000  # bounded memory when many addresses try once


class AttemptLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._attempts: Dict[str, Deque[float]] = {}

    def retry_after(self, address: str, now: Optional[float] = None) -> Optional[float]:
        """Counts an attempt from `address`; seconds to wait if it is one too many, else None."""
        now = time.monotonic() if now is None else now
        attempts = self._attempts.setdefault(address, deque())
        while attempts and attempts[0] <= now - self.window:
            attempts.popleft()
        if len(attempts) >= self.limit:
            return attempts[0] + self.window - now
        attempts.append(now)
        if len(self._attempts) > MAX_ADDRESSES:
            self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        for address in [a for a, times in self._attempts.items() if not times or times[-1] <= now - self.window]:
            del self._attempts[address]

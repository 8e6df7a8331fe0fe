"""Where the state that several Rasa replicas must agree on lives: the rate-limit token
buckets (server/guard/rate_limit.py) and the WeChat channel's nonces, MsgIds and buttons
(server/channels/wechat/memory.py).

The embedded profile keeps them in this process's memory and needs no server. The
scale-out profile (scripts/run_scaled.sh sets SHARED_STATE=redis) keeps them in the
Redis its lock store already uses, so N replicas allow one limit, not N, and a WeChat
retry or replay is recognised whichever replica it reaches. core/settings.py reads the
variables; this module only opens the client.
"""

from functools import lru_cache
from typing import Optional

import redis

from core.settings import Settings, settings

# A shared-state call that waits longer than this fails (and is logged) rather than
# holding a customer's turn: Redis on the same network answers in well under a millisecond.
REDIS_TIMEOUT_SECONDS = 2.0


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    """One client per URL in this process (it pools its connections), giving up after
    REDIS_TIMEOUT_SECONDS; strings in and out."""
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
        decode_responses=True,
    )


def shared_redis(config: Optional[Settings] = None) -> Optional[redis.Redis]:
    """This process's client for the shared state, or None to keep it in memory."""
    url = (config or settings()).shared_state_redis_url
    return redis_client(url) if url else None


def key_prefix(config: Optional[Settings] = None) -> str:
    return (config or settings()).shared_state_key_prefix

"""Conversation locks handed over at once, not at Rasa's next one-second poll.

Rasa handles one message of a conversation at a time: each message takes a ticket of the
conversation's lock (rasa/core/lock_store.py) and `LockStore._acquire_lock` checks
whether its ticket is served, sleeping one second between checks. Twenty messages of one
conversation at once (a double tap, WeChat's retries, a script) then took about a second
each: the last ones waited past ASSISTANT_REPLY_TIMEOUT and got the safe reply while
their real answers were computed and never delivered.

Here a waiting message wakes up when the lock is released:

- in this process (every release of the in-memory lock store of the embedded profile,
  and the releases this replica makes in the Redis lock store of the scale-out profile),
  an asyncio.Event per conversation is set by `cleanup`, the release;
- a release by another replica (Redis) cannot be heard, so there the lock is also
  checked every 20 ms for the next in line, more seldom further back (at most every
  250 ms): a read, no write;
- a ticket whose turn died without releasing it expires as in Rasa (TICKET_LOCK_LIFETIME):
  the waiters wake when it does and drop it, as Rasa's poll did.

`install()` (from plugin.py) puts both methods into LockStore, which both stores inherit.
"""

import asyncio
import time
import weakref
from typing import Dict, Optional, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore

# Shared lock stores (Redis): how often a waiter looks, by its place in the line.
SHARED_POLL_SECONDS_PER_PLACE = 0.02
SHARED_POLL_MAX_SECONDS = 0.25
# In-memory: every release is heard; this only guards against one that is not.
LOCAL_SAFETY_SECONDS = 1.0

_cleanup = LockStore.cleanup
# The release events of each event loop, per (lock store, conversation).
_events: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[Tuple[int, str], asyncio.Event]]" = (
    weakref.WeakKeyDictionary()
)
_installed = False


def _loop_events() -> Dict[Tuple[int, str], asyncio.Event]:
    return _events.setdefault(asyncio.get_running_loop(), {})


def _wake(store: LockStore, conversation_id: str) -> None:
    """Every waiter of this conversation in this process checks the lock again."""
    try:
        events = _loop_events()
    except RuntimeError:  # no event loop running: nobody can be waiting in it
        return
    event = events.pop((id(store), conversation_id), None)
    if event is not None:
        event.set()


def _seconds_to_wait(store: LockStore, lock: TicketLock, ticket: int) -> float:
    soonest_expiry = min(t.expires for t in lock.tickets) - time.time()
    if isinstance(store, InMemoryLockStore):
        wait = LOCAL_SAFETY_SECONDS
    else:
        places_ahead = max(1, ticket - (lock.now_serving or 0))
        wait = min(SHARED_POLL_MAX_SECONDS, SHARED_POLL_SECONDS_PER_PLACE * places_ahead)
    return max(0.001, min(wait, soonest_expiry + 0.001))


async def acquire_lock(
    self: LockStore, conversation_id: str, ticket: int, wait_time_in_seconds: float = 1
) -> TicketLock:
    """LockStore._acquire_lock, waiting for a release instead of a one-second sleep."""
    try:
        while True:
            lock: Optional[TicketLock] = self.get_lock(conversation_id)
            if not lock:
                break  # expired and deleted, as in Rasa: LockError below
            if any(t.has_expired() for t in lock.tickets):
                self.update_lock(conversation_id)  # a dead turn's ticket: drop it
                lock.remove_expired_tickets()
            if all(t.number != ticket for t in lock.tickets):
                break  # this ticket expired: it would never be served
            if not lock.is_locked(ticket):
                return lock
            key = (id(self), conversation_id)
            released = _loop_events().setdefault(key, asyncio.Event())
            try:
                await asyncio.wait_for(released.wait(), _seconds_to_wait(self, lock, ticket))
            except asyncio.TimeoutError:
                pass
    finally:
        # Served, given up or cancelled: the others look again (and the event is not
        # left behind).
        _wake(self, conversation_id)
    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")


def cleanup(self: LockStore, conversation_id: str, ticket_number: int) -> None:
    """LockStore.cleanup (the release), then the next message of the conversation goes."""
    try:
        _cleanup(self, conversation_id, ticket_number)
    finally:
        _wake(self, conversation_id)


def install() -> None:
    global _installed
    if not _installed:
        LockStore._acquire_lock = acquire_lock
        LockStore.cleanup = cleanup
        _installed = True

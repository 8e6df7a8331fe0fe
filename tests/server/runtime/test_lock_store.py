"""Conversation locks handed over at once (server/runtime/lock_store.py): Rasa's lock
store polls once a second, so twenty messages of one conversation took twenty seconds."""

import asyncio
import secrets
import socket
import time

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from server.runtime import lock_store

lock_store.install()

TURN_SECONDS = 0.01


async def turns_at_once(stores, conversation="c", count=20, hold=TURN_SECONDS):
    """`count` turns of one conversation started at once, each on the next store in
    `stores` (replicas); the order in which they got the lock, and how long it took."""
    served = []

    async def turn(number):
        store = stores[number % len(stores)]
        async with store.lock(conversation):
            served.append(number)
            await asyncio.sleep(hold)

    started = time.monotonic()
    tasks = []
    for number in range(count):
        tasks.append(asyncio.ensure_future(turn(number)))
        await asyncio.sleep(0)  # each takes its ticket in this order
    await asyncio.wait_for(asyncio.gather(*tasks), 15)
    return served, time.monotonic() - started


def test_twenty_turns_of_one_conversation_follow_each_other_at_once():
    served, seconds = asyncio.run(turns_at_once([InMemoryLockStore()]))
    assert served == list(range(20))
    assert seconds < 20 * TURN_SECONDS + 0.5  # Rasa's poll: about 19 s


def test_a_turn_that_died_holding_the_lock_lets_the_next_go_when_its_ticket_expires():
    store = InMemoryLockStore()

    async def main():
        store.issue_ticket("c", lock_lifetime=0.3)  # taken and never released
        started = time.monotonic()
        async with store.lock("c"):
            return time.monotonic() - started

    assert 0.25 < asyncio.run(main()) < 0.6


def test_other_conversations_do_not_wait():
    store = InMemoryLockStore()

    async def main():
        async with store.lock("busy"):
            started = time.monotonic()
            async with store.lock("other"):
                return time.monotonic() - started

    assert asyncio.run(main()) < 0.05


def test_a_waiter_that_gives_up_holds_nobody_up():
    store = InMemoryLockStore()

    async def main():
        async with store.lock("c"):
            quitter = asyncio.ensure_future(_enter(store, "c"))
            follower = asyncio.ensure_future(_enter(store, "c"))
            await asyncio.sleep(0.05)
            quitter.cancel()
        started = time.monotonic()
        await asyncio.wait_for(follower, 2)
        return time.monotonic() - started

    assert asyncio.run(main()) < 0.1
    assert store.conversation_locks == {}  # nothing left behind


async def _enter(store: LockStore, conversation: str) -> None:
    async with store.lock(conversation):
        pass


# --- the scale-out profile: Redis, several replicas -------------------------------------


def _redis_running() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.scale
def test_replicas_sharing_redis_hand_over_within_a_short_poll():
    if not _redis_running():
        pytest.fail("Redis (127.0.0.1:6379) not running: scripts/test_services.sh")
    prefix = "locktest" + secrets.token_hex(4)
    replicas = [RedisLockStore(host="127.0.0.1", db=1, key_prefix=prefix) for _ in range(2)]
    conversation = "c" + secrets.token_hex(4)
    served, seconds = asyncio.run(turns_at_once(replicas, conversation))
    assert served == list(range(20))
    # Half the hand-overs are to the other replica, which hears of it by polling.
    assert seconds < 20 * TURN_SECONDS + 10 * 2 * lock_store.SHARED_POLL_SECONDS_PER_PLACE + 1
    assert replicas[0].get_lock(conversation) is None

"""The scale-out profile's shared state in the real Redis (SHARED_STATE=redis): two
replicas allow one rate limit, not two, and WeChat's nonces, MsgIds and buttons are
recognised whichever replica a request reaches.

Each "replica" is built the way a Rasa server process builds it, from the environment,
with the per-process caches cleared in between, so nothing is shared through this test
process's memory. Every test uses its own key prefix and deletes its keys afterwards.
"""

import asyncio
import json
import secrets
from typing import List

import pytest

from core.settings import Rate, settings
from deploy.check_services import connect_redis, settings as service_settings
from server.channels.wechat.channel import WeChatInput
from server.guard.rate_limit import RedisRequestLimits, shared_limits, too_fast_message
from server.shared_state import redis_client
from tests.server.channels.test_wechat import (
    HANDOFF, MONEY_LOST, TOKEN, bare_app, post, reply_content, scripted_assistant, signed_query,
    text_xml,
)

pytestmark = pytest.mark.scale


@pytest.fixture
def prefix(monkeypatch):
    """SHARED_STATE=redis on the scale-out profile's Redis, under a prefix of this test's
    own; its keys are deleted afterwards."""
    services = service_settings()
    prefix = f"fanzha-test-{secrets.token_hex(6)}"
    for variable in ("REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD"):
        monkeypatch.setenv(variable, services[variable])
    monkeypatch.delenv("SHARED_STATE_REDIS_URL", raising=False)
    monkeypatch.setenv("SHARED_STATE", "redis")
    monkeypatch.setenv("SHARED_STATE_KEY_PREFIX", prefix)
    monkeypatch.setenv("RATE_LIMIT_PER_IP", "off")
    monkeypatch.setenv("WECHAT_TOKEN", TOKEN)
    for variable in ("WECHAT_MODE", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY",
                     "BANK_NAME", "BANK_HOTLINE"):
        monkeypatch.delenv(variable, raising=False)
    client = connect_redis()
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001 - say what is missing, whatever the cause
        pytest.fail(f"Redis is not answering ({error!r}): start it, or see scripts/test_services.sh")
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    assert not list(client.scan_iter(match=f"{prefix}:*"))
    shared_limits.cache_clear()


def new_process_limits():
    """What a freshly started replica builds: its settings and limits read anew."""
    settings.cache_clear()
    shared_limits.cache_clear()
    return shared_limits()


def new_process_channel(calls: List[str], reply=None):
    """A replica's WeChat channel, as Rasa builds it (from_credentials), on its own app."""
    settings.cache_clear()
    shared_limits.cache_clear()
    channel = WeChatInput.from_credentials(None)
    assert channel.settings is not None, channel.disabled_because
    answer = reply or (lambda text: [{"text": f"答：{text}", "buttons": [MONEY_LOST, HANDOFF]}])
    return bare_app(channel, scripted_assistant(answer, calls, delay=0.2))


def test_two_replicas_allow_one_rate_limit_between_them(prefix, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "3/60")
    monkeypatch.setenv("RATE_LIMIT_PER_IP", "5/60")
    replicas = [new_process_limits(), new_process_limits()]
    assert replicas[0] is not replicas[1]
    waits = [replicas[i % 2].admit("o-busy", "10.0.0.1") for i in range(8)]
    assert waits[:3] == [0, 0, 0]
    assert all(wait == pytest.approx(20, abs=1) for wait in waits[3:])  # one token per 20 s
    # The address's bucket counted the three admitted requests only, on both replicas.
    assert [replicas[i % 2].admit(f"o-{i}", "10.0.0.1") for i in range(3)] == [
        0, 0, pytest.approx(12, abs=1)]


def test_redis_buckets_refill_at_their_rate_on_one_clock(prefix):
    now = [1000.0]
    client = redis_client(settings().shared_state_redis_url)
    replicas = [RedisRequestLimits(client, prefix, Rate(2, 60), None, clock=lambda: now[0])
                for _ in range(2)]
    assert [replicas[0].admit("a", None), replicas[1].admit("a", None)] == [0, 0]
    assert replicas[0].admit("a", None) == pytest.approx(30)
    now[0] += 29.5
    assert replicas[1].admit("a", None) == pytest.approx(0.5)
    now[0] += 0.5
    assert replicas[1].admit("a", None) == 0
    assert replicas[0].admit("a", None) == pytest.approx(30)
    assert replicas[0].admit("b", None) == 0  # each sender its own bucket
    ttl = client.pttl(next(client.scan_iter(match=f"{prefix}:rate:sender:*")))
    assert 0 < ttl <= 60_000  # an idle bucket is full again after 60 s, and forgotten


def test_a_retry_reaching_the_other_replica_shares_the_first_turn(prefix):
    calls: List[str] = []
    replicas = [new_process_channel(calls), new_process_channel(calls)]
    xml = text_xml("o-retry", "税务局说要给我退税").encode()

    async def delivered_to_both():
        # WeChat's retry, signed anew, reaches the other replica while the first runs;
        # a later one after it finished.
        together = await asyncio.gather(post(replicas[0], signed_query(), xml),
                                        post(replicas[1], signed_query(), xml))
        return [*together, await post(replicas[1], signed_query(), xml)]

    replies = asyncio.run(delivered_to_both())
    assert {status for status, _ in replies} == {200}
    assert {reply_content(body) for _, body in replies} == {
        "答：税务局说要给我退税\n\n回复 1：我已经转账了\n回复 2：转人工"}
    assert calls == ["税务局说要给我退税"]


def test_a_query_string_used_on_one_replica_cannot_be_replayed_on_the_other(prefix):
    calls: List[str] = []
    replicas = [new_process_channel(calls), new_process_channel(calls)]
    captured = signed_query()

    async def deliver_then_replay():
        first = await post(replicas[0], captured, text_xml("o-victim", "你好").encode())
        replay = await post(replicas[1], captured, text_xml("o-attacker", "你好").encode())
        return first[0], replay

    first, (status, reason) = asyncio.run(deliver_then_replay())
    assert (first, status) == (200, 403) and "nonce" in reason
    assert calls == ["你好"]


def test_buttons_shown_by_one_replica_are_picked_on_the_other(prefix):
    calls: List[str] = []
    replicas = [new_process_channel(calls), new_process_channel(calls)]

    async def story_then_choice():
        await post(replicas[0], signed_query(), text_xml("o-buttons", "税务局说要给我退税").encode())
        return await post(replicas[1], signed_query(), text_xml("o-buttons", "２").encode())

    asyncio.run(story_then_choice())
    assert calls == ["税务局说要给我退税", "/human_handoff"]
    stored = connect_redis().get(f"{prefix}:wechat:buttons:o-buttons")
    assert [b["payload"] for b in json.loads(stored)] == ["/money_lost", "/human_handoff"]


def test_one_follower_is_limited_once_across_replicas(prefix, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "2/60")
    calls: List[str] = []
    replicas = [new_process_channel(calls, lambda text: [{"text": "好的"}]),
                new_process_channel(calls, lambda text: [{"text": "好的"}])]

    async def three_messages():
        return [await post(replicas[i % 2], signed_query(),
                           text_xml("o-fast", f"第{i}条").encode()) for i in range(3)]

    replies = [reply_content(body) for _, body in asyncio.run(three_messages())]
    assert replies[:2] == ["好的", "好的"]
    assert replies[2] == too_fast_message(30)
    assert calls == ["第0条", "第1条"]


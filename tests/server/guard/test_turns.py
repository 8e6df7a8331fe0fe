"""The guard around the assistant (server/guard/turns.py).

First without Rasa: rate limits on an injected clock, the body size check, the safe reply
and the turn (masking, no silence, timeout) with a scripted assistant. Then the hook as
the three channels use it, on bare Sanic apps with a scripted assistant: what reaches
Rasa is masked, the warning is appended, 413 and 429 come with Chinese reasons.
The real servers: tests/e2e/test_privacy_storage.py and tests/e2e/test_failure.py.
"""

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
import xmltodict
from sanic import Sanic

from core.settings import Bank, Rate
from server.guard.rate_limit import RequestLimits, TokenBuckets, shared_limits, too_fast_message
from server.guard.safe_reply import safe_reply_text as safe_reply
from server.guard.turns import MASKED_METADATA_KEY, TurnGuard, privacy_warning

PER_SENDER_ENV = "RATE_LIMIT_PER_SENDER"
PER_IP_ENV = "RATE_LIMIT_PER_IP"

BANK = Bank("招商银行", "95555")
SENDER = "customer-1"
APPS = itertools.count()


# --- the safe reply and the turn ------------------------------------------------------


class ScriptedTurn:
    """An `ask` for TurnGuard.answer: records what Rasa would get, answers `answer`."""

    def __init__(self, answer: Callable[[str], List[str]], delay: float = 0.0,
                 fail: bool = False) -> None:
        self.answer, self.delay, self.fail = answer, delay, fail
        self.replies: List[Dict[str, Any]] = []
        self.seen: List[Tuple[str, Optional[Dict]]] = []
        self.finished = False

    async def __call__(self, text: str, metadata: Optional[Dict]) -> None:
        self.seen.append((text, metadata))
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("action server unreachable")
        self.replies += [{"recipient_id": SENDER, "text": t} for t in self.answer(text)]
        self.finished = True


def run_turn(turn: ScriptedTurn, text: str, metadata: Optional[Dict] = None,
             timeout: float = 5.0) -> List[str]:
    guard = TurnGuard(BANK, timeout)

    async def answer():
        return await guard.answer(turn, text, metadata, turn.replies, SENDER)

    return [message["text"] for message in asyncio.run(answer())]


def test_an_answer_passes_through_untouched():
    turn = ScriptedTurn(lambda text: ["⚠️ 这是诈骗！"])
    assert run_turn(turn, "税务局说要退税", {"page": "home"}) == ["⚠️ 这是诈骗！"]
    assert turn.seen == [("税务局说要退税", {"page": "home"})]


def test_secrets_are_masked_before_the_assistant_sees_them_and_the_customer_is_warned():
    turn = ScriptedTurn(lambda text: ["⚠️ 这是诈骗！"])
    texts = run_turn(turn, "对方要验证码384756和卡号6222021234567894", {"note": "密码是abc123"})
    assert texts == ["⚠️ 这是诈骗！", privacy_warning()]
    (text, metadata), = turn.seen
    assert text == "对方要验证码[验证码]和卡号6222 **** **** 7894"
    assert metadata == {"note": "密码是[密码]",
                        MASKED_METADATA_KEY: ["verification_code", "card_number", "password"]}


def test_official_numbers_are_not_masked_as_codes():
    turn = ScriptedTurn(lambda text: ["是官方号码"])
    assert run_turn(turn, "验证码是95555发的吗") == ["是官方号码"]
    assert turn.seen[0][0] == "验证码是95555发的吗"


def test_a_silent_assistant_gets_the_safe_reply_but_an_empty_message_does_not():
    assert run_turn(ScriptedTurn(lambda text: []), "税务局说要退税") == [safe_reply(BANK)]
    assert run_turn(ScriptedTurn(lambda text: []), "  ") == []


def test_a_failing_assistant_gets_the_safe_reply_and_the_warning():
    turn = ScriptedTurn(lambda text: [], fail=True)
    assert run_turn(turn, "验证码 384756") == [safe_reply(BANK), privacy_warning()]


def test_a_slow_assistant_gets_the_safe_reply_in_time_and_finishes_its_turn():
    turn = ScriptedTurn(lambda text: ["late answer"], delay=0.5)
    guard = TurnGuard(BANK, 0.1)

    async def answer_then_wait():
        started = time.monotonic()
        answer = await guard.answer(turn, "税务局说要退税", None, turn.replies, SENDER)
        waited = time.monotonic() - started
        await asyncio.sleep(0.7)
        return answer, waited

    answer, waited = asyncio.run(answer_then_wait())
    assert [m["text"] for m in answer] == [safe_reply(BANK)]
    assert waited < 0.4
    assert turn.finished  # shielded: the turn (and what Rasa saves) was not cancelled


class CountingTurn(ScriptedTurn):
    """A turn that records how many turns were running at once."""

    running = 0
    most = 0

    async def __call__(self, text: str, metadata: Optional[Dict]) -> None:
        CountingTurn.running += 1
        CountingTurn.most = max(CountingTurn.most, CountingTurn.running)
        try:
            await super().__call__(text, metadata)
        finally:
            CountingTurn.running -= 1


def test_no_more_turns_run_at_once_than_allowed_and_all_are_answered():
    CountingTurn.running = CountingTurn.most = 0
    guards = [TurnGuard(BANK, 5, turns_at_once=2), TurnGuard(BANK, 5, turns_at_once=2)]
    turns = [CountingTurn(lambda text: [f"答{text}"], delay=0.05) for _ in range(6)]

    async def six_customers_through_two_channels():
        return await asyncio.gather(*(
            guards[n % 2].answer(turn, str(n), None, turn.replies, SENDER)
            for n, turn in enumerate(turns)
        ))

    answers = asyncio.run(six_customers_through_two_channels())
    assert CountingTurn.most == 2  # the slots are shared by the channels' guards
    assert [[m["text"] for m in answer] for answer in answers] == [[f"答{n}"] for n in range(6)]


def test_a_turn_that_waits_too_long_for_a_slot_gets_the_safe_reply_and_still_runs():
    slow = ScriptedTurn(lambda text: ["slow answer"], delay=0.4)
    waiting = ScriptedTurn(lambda text: ["answer after the wait"])
    guard = TurnGuard(BANK, 0.2, turns_at_once=1)

    async def two_customers():
        first = asyncio.ensure_future(guard.answer(slow, "一", None, slow.replies, SENDER))
        await asyncio.sleep(0.01)
        second = await guard.answer(waiting, "二", None, waiting.replies, SENDER)
        await first
        await asyncio.sleep(0.5)
        return second

    second = asyncio.run(two_customers())
    assert [m["text"] for m in second] == [safe_reply(BANK)]
    assert waiting.finished  # it ran once the slot was free, so its events are saved


def test_a_client_that_hangs_up_does_not_cancel_the_turn():
    turn = ScriptedTurn(lambda text: ["answer"], delay=0.3)
    guard = TurnGuard(BANK, 5)

    async def hang_up():
        request = asyncio.ensure_future(
            guard.answer(turn, "税务局说要退税", None, turn.replies, SENDER)
        )
        await asyncio.sleep(0.1)
        request.cancel()
        await asyncio.sleep(0.5)

    asyncio.run(hang_up())
    assert turn.finished


# --- the hook in the channels (bare Sanic apps, scripted assistant) -------------------


def scripted_assistant(answer: Callable[[str], List[str]], seen: List) -> Callable:
    """An on_new_message: records each UserMessage as Rasa would get it."""

    async def on_new_message(message):
        seen.append(message)
        for text in answer(message.text):
            await message.output_channel.send_response(message.sender_id, {"text": text})

    return on_new_message


def json_channel_app(channel, on_new_message) -> Sanic:
    app = Sanic(f"guard_test_{next(APPS)}")
    prefix = "/chat" if channel.name() == "widget" else "/webhooks/rest"
    app.blueprint(channel.blueprint(on_new_message), url_prefix=prefix)
    return app


def post_json(app: Sanic, path: str, body: Any, times: int = 1) -> List[Tuple[int, Dict, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")

    async def posts():
        replies = []
        for _ in range(times):
            _, reply = await app.asgi_client.post(path, content=raw)
            replies.append((reply.status, dict(reply.headers), reply.json))
        return replies

    return asyncio.run(posts())


@pytest.fixture
def limited(monkeypatch):
    """REST and the widget read their limits from the environment, once per process."""
    monkeypatch.setenv(PER_SENDER_ENV, "2/60")
    monkeypatch.setenv(PER_IP_ENV, "off")
    shared_limits.cache_clear()
    yield
    shared_limits.cache_clear()


def json_channels():
    from server.channels.rest import RestChannel
    from server.channels.widget import WidgetInput

    return [(RestChannel(), "/webhooks/rest/webhook"), (WidgetInput(), "/chat/webhook")]


@pytest.mark.parametrize("index", [0, 1], ids=["rest", "widget"])
def test_json_channels_mask_before_rasa_and_warn(limited, index):
    channel, path = json_channels()[index]
    seen = []
    app = json_channel_app(channel, scripted_assistant(lambda text: ["收到"], seen))
    [(status, _, reply)] = post_json(
        app, path, {"sender": "s-mask", "message": "我的卡号6222021234567894，验证码384756"}
    )
    assert status == 200
    assert [m["text"] for m in reply] == ["收到", privacy_warning()]
    (message,) = seen
    assert message.text == "我的卡号6222 **** **** 7894，验证码[验证码]"
    assert message.metadata == {MASKED_METADATA_KEY: ["card_number", "verification_code"]}
    assert message.input_channel == channel.name()


@pytest.mark.parametrize("index", [0, 1], ids=["rest", "widget"])
def test_json_channels_answer_silence_with_the_safe_reply(limited, index):
    channel, path = json_channels()[index]
    app = json_channel_app(channel, scripted_assistant(lambda text: [], []))
    [(status, _, reply)] = post_json(app, path, {"sender": "s-silent", "message": "你好"})
    assert status == 200 and [m["text"] for m in reply] == [safe_reply(Bank("工商银行", "95588"))]


@pytest.mark.parametrize("index", [0, 1], ids=["rest", "widget"])
def test_json_channels_refuse_a_third_message_within_the_minute_with_429(limited, index):
    channel, path = json_channels()[index]
    seen = []
    app = json_channel_app(channel, scripted_assistant(lambda text: ["收到"], seen))
    replies = post_json(app, path, {"sender": "s-fast", "message": "你好"}, times=3)
    assert [status for status, _, _ in replies] == [200, 200, 429]
    _, headers, refusal = replies[2]
    assert 1 <= int(headers["retry-after"]) <= 30 and "秒后再发" in refusal["error"]
    assert len(seen) == 2  # the refused one never reached the assistant
    # A bad request does not use up the sender's allowance: it is refused before.
    assert post_json(app, path, {"sender": "s-other", "message": None}, times=3)[2][0] == 400


@pytest.mark.parametrize("index", [0, 1], ids=["rest", "widget"])
def test_json_channels_refuse_an_oversized_body_with_413(limited, index):
    from server.channels.rest import MAX_BODY_BYTES

    channel, path = json_channels()[index]
    seen = []
    app = json_channel_app(channel, scripted_assistant(lambda text: ["收到"], seen))
    padding = "x" * MAX_BODY_BYTES
    body = json.dumps({"sender": "s-big", "message": "你好", "metadata": {"p": padding}})
    [(status, _, reply)] = post_json(app, path, body.encode("utf-8"))
    assert status == 413 and "请求太大" in reply["error"] and seen == []


# WeChat: signed like WeChat does it (SHA1 of the sorted token, timestamp, nonce).
WECHAT_TOKEN = "guard-test-token"


def wechat_post(app: Sanic, openid: str, content: str, msg_id: int) -> Tuple[int, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    xml = (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce}

    async def post():
        _, reply = await app.asgi_client.post(
            "/webhooks/wechat/webhook", params=query, content=xml.encode("utf-8")
        )
        return reply.status, reply.text

    return asyncio.run(post())


def wechat_app(on_new_message) -> Sanic:
    from server.channels.wechat.channel import WeChatInput
    from server.channels.wechat.settings import WeChatSettings

    limits = RequestLimits(TokenBuckets(Rate(2, 60), lambda: 1000.0), None)
    channel = WeChatInput(WeChatSettings(token=WECHAT_TOKEN), BANK,
                          guard=TurnGuard(BANK, 4), limits=limits)
    app = Sanic(f"guard_test_{next(APPS)}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/wechat")
    return app


def wechat_text(body: str) -> str:
    return xmltodict.parse(body)["xml"]["Content"]


def test_wechat_masks_before_rasa_and_warns_in_the_passive_reply():
    seen = []
    app = wechat_app(scripted_assistant(lambda text: ["⚠️ 这是诈骗！"], seen))
    status, body = wechat_post(app, "o-mask", "他要我的验证码 384756", 101)
    assert status == 200
    assert wechat_text(body) == f"⚠️ 这是诈骗！\n\n{privacy_warning()}"
    assert [(m.text, m.metadata) for m in seen] == [
        ("他要我的验证码 [验证码]", {MASKED_METADATA_KEY: ["verification_code"]})
    ]


def test_wechat_silence_and_failure_get_the_safe_reply():
    def broken(text):
        raise RuntimeError("tracker store down")

    for answer in (lambda text: [], broken):
        app = wechat_app(scripted_assistant(answer, []))
        status, body = wechat_post(app, "o-down", "税务局说要退税", 102)
        assert status == 200 and wechat_text(body) == safe_reply(BANK)


def test_wechat_rate_limit_answers_in_chinese_without_asking_the_assistant():
    seen = []
    app = wechat_app(scripted_assistant(lambda text: ["收到"], seen))
    replies = [wechat_post(app, "o-fast", "你好", 200 + n) for n in range(3)]
    assert [status for status, _ in replies] == [200, 200, 200]  # WeChat shows only 200s
    assert wechat_text(replies[2][1]) == too_fast_message(30)
    assert len(seen) == 2

"""Issue 17: what the channels say by themselves, in the customer's language: the guard's
safe reply and privacy warning, the rate limit's message, WeChat's welcome, please-type
and "reply 1" texts, and the widget's words, pages and Content-Language header."""

import asyncio
import json
import re

import pytest

from core import replies
from core.language import ENGLISH, SIMPLIFIED, TRADITIONAL, simplified_only
from core.settings import Bank
from core.wording import say
from server.channels.wechat.protocol import render_messages, welcome_text
from server.channels.widget import page_language, widget_texts
from server.guard.rate_limit import too_fast_message
from server.guard.turns import TurnGuard, privacy_warning
from tests.server.channels.test_wechat import (
    bare_app, channel_with, message_xml, post, reply_content, scripted_assistant, signed_query,
    text_xml,
)

BANK = Bank("工商银行", "95588", "ICBC")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def silent_turns(guard, sender, texts):
    """The guard's answers to `texts` from one sender when the assistant says nothing."""

    async def silent(text, metadata):
        return None

    async def all_turns():
        return [await guard.answer(silent, text, None, [], sender) for text in texts]

    return [[message["text"] for message in answer] for answer in asyncio.run(all_turns())]


@pytest.mark.parametrize("text, language", [
    ("Someone says my bank card is frozen, what do I do?", ENGLISH),
    ("有人說我的銀行卡被凍結了，怎麼辦", TRADITIONAL),
    ("有人说我的银行卡被冻结了，怎么办", SIMPLIFIED),
])
def test_safe_reply_in_the_customers_language(text, language):
    (answer,) = silent_turns(TurnGuard(BANK, reply_timeout=5), "s", [text])
    assert answer == [replies.safe_reply(BANK, language)]


def test_a_button_payload_after_english_keeps_the_safe_reply_english():
    guard = TurnGuard(BANK, reply_timeout=5)
    first, tap, other = silent_turns(guard, "s", ["Hello, is this call a scam?", "/money_lost", "1"])
    assert tap == other == first == [replies.safe_reply(BANK, ENGLISH)]
    # Another conversation is heard on its own.
    (chinese,) = silent_turns(guard, "t", ["/money_lost"])
    assert chinese == [replies.safe_reply(BANK)]


@pytest.mark.parametrize("text, language", [
    ("My card number is 6222021234567894, they asked for it", ENGLISH),
    ("我的卡號是6222021234567894，對方要的", TRADITIONAL),
])
def test_privacy_warning_in_the_customers_language(text, language):
    (answer,) = silent_turns(TurnGuard(BANK, reply_timeout=5), "s", [text])
    assert answer[-1] == privacy_warning(language)
    if language == ENGLISH:
        assert answer[-1].startswith("Please note: never send a code")
    else:
        assert CHINESE.search(answer[-1]) and not simplified_only(answer[-1])


def test_too_fast_in_each_language():
    assert too_fast_message(2.2, ENGLISH).startswith("You are sending too fast; please wait 3 seconds.")
    assert "請3秒後再發" in too_fast_message(2.2, TRADITIONAL)
    assert "请3秒后再发" in too_fast_message(2.2)


# --- WeChat --------------------------------------------------------------------------------


def test_wechat_numbers_the_buttons_in_the_replys_language():
    buttons = [{"title": "Talk to a person", "payload": "/human_handoff"}]
    text, _ = render_messages([{"text": "⚠️ This is a scam!", "buttons": buttons}], ENGLISH)
    assert text == "⚠️ This is a scam!\n\nReply 1: Talk to a person"
    text, _ = render_messages([{"text": "⚠️ 這是詐騙！", "buttons": [{"title": "轉人工", "payload": "/h"}]}],
                              TRADITIONAL)
    assert text.endswith("回覆 1：轉人工")


def test_wechat_welcome_in_each_language():
    assert welcome_text(BANK, ENGLISH).startswith("Hello, this is ICBC's anti-fraud assistant.")
    assert not CHINESE.search(welcome_text(BANK, ENGLISH))
    assert not simplified_only(welcome_text(BANK, TRADITIONAL))
    assert welcome_text(BANK) == welcome_text(Bank("工商银行", "95588"))


def test_wechat_answers_an_english_follower_in_english_even_for_a_picture():
    said = []

    def assistant(text):
        return [{"text": "⚠️ This is a scam!", "buttons": [{"title": "Talk to a person",
                                                          "payload": "/human_handoff"}]}]

    app = bare_app(channel_with(), scripted_assistant(assistant, said))

    async def conversation():
        first = await post(app, signed_query(), text_xml("o-en", "Is this message a scam?", 1).encode())
        picture = await post(app, signed_query(), message_xml(
            "o-en", "image", 2, PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="m1").encode())
        stranger = await post(app, signed_query(), message_xml(
            "o-new", "image", 3, PicUrl="http://mmbiz.qpic.cn/y.jpg", MediaId="m2").encode())
        return first, picture, stranger

    (status, body), (_, picture), (_, stranger) = asyncio.run(conversation())
    assert status == 200
    assert reply_content(body) == "⚠️ This is a scam!\n\nReply 1: Talk to a person"
    assert reply_content(picture) == say("wechat.please_type", language=ENGLISH)
    assert reply_content(stranger) == say("wechat.please_type")  # nothing heard: Simplified


# --- the widget ------------------------------------------------------------------------------


@pytest.mark.parametrize("tag, language", [
    ("en", ENGLISH), ("en-GB", ENGLISH), ("zh-TW", TRADITIONAL), ("zh-HK", TRADITIONAL),
    ("zh-Hant", TRADITIONAL), ("zh-CN", SIMPLIFIED), ("zh", SIMPLIFIED), ("", SIMPLIFIED), (None, SIMPLIFIED),
])
def test_page_language_from_a_lang_tag(tag, language):
    assert page_language(tag) == language


def test_widget_words_in_english_have_no_chinese_but_the_bank():
    texts = json.dumps(widget_texts(BANK, ENGLISH), ensure_ascii=False)
    assert not CHINESE.search(texts)
    assert widget_texts(BANK, ENGLISH)["send"] == "Send"
    assert widget_texts(BANK, TRADITIONAL)["send"] == "發送"
    assert not simplified_only(json.dumps(widget_texts(BANK, TRADITIONAL), ensure_ascii=False))

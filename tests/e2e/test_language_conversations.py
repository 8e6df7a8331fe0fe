"""Issue 17 over HTTP: an English and a Traditional conversation with the real Rasa
server and action server (the model trained with the language slot). English in, English
out; Traditional in, Traditional out; a button's payload keeps the language."""

import re

from core.directory import official_directory
from core.language import simplified_only
from core.numbers import unlisted_numbers
from core.settings import settings

CHINESE = re.compile(r"[\u4e00-\u9fff]")
POLICE_EN = "Someone called saying they are from the police and I must transfer money to a safe account"
POLICE_TW = "有人打電話說是公安局的，說我涉嫌洗錢，要我馬上把錢轉到安全賬戶，不許告訴家人"


def texts(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def words_shown(messages):
    """Texts, button titles and the payload's words."""
    for message in messages:
        yield message.get("text") or ""
        yield from (button["title"] for button in message.get("buttons") or [])
        custom = message.get("custom") or {}
        yield from custom.get("steps") or []
        yield from (item["label"] for item in custom.get("reasons") or [])
        for key in ("scam_name", "owner", "text"):
            if isinstance(custom.get(key), str):
                yield custom[key]


def quotes(messages):
    return [reason["quote"] for m in messages for reason in (m.get("custom") or {}).get("reasons") or []]


def assert_no_unlisted_numbers(messages):
    directory = official_directory(settings().bank)
    assert [n for text in words_shown(messages) for n in unlisted_numbers(text, directory)] == []


def test_an_english_conversation_stays_english(assistant):
    sender = "lang-en"
    verdict = assistant.say(sender, POLICE_EN)
    card = next(m["custom"] for m in verdict if (m.get("custom") or {}).get("type") == "scam_assessment")
    assert card["risk"] in ("high", "medium")
    assert texts(verdict).startswith("⚠️ This is")
    emergency = assistant.say(sender, "/money_lost")  # a button's payload: no words
    help_please = assistant.say(sender, "ok")
    handoff = assistant.say(sender, "/human_handoff")
    for messages in (verdict, emergency, help_please, handoff):
        shown = [_without(text, quotes(messages)) for text in words_shown(messages)]
        assert not any(CHINESE.search(text) for text in shown), shown
        assert_no_unlisted_numbers(messages)
    assert "Stay calm" in texts(emergency)
    assert "Please call ICBC on 95588" in texts(handoff)
    slots = [e for e in assistant.stored_events(sender) if e["event"] == "slot" and e["name"] == "language"]
    assert [e["value"] for e in slots] == ["en"]  # set once, kept by the payloads and "ok"


def test_a_traditional_conversation_stays_traditional_with_its_own_words_quoted(assistant):
    sender = "lang-tw"
    verdict = assistant.say(sender, POLICE_TW)
    assert texts(verdict).startswith("⚠️ 這是")
    found = quotes(verdict)
    assert found and all(quote in POLICE_TW for quote in found)
    follow_up = assistant.say(sender, "那我要怎麼核實？")  # typed: the verdict offers no such button
    for messages in (verdict, follow_up):
        shown = [_without(text, found) for text in words_shown(messages)]
        assert not any(simplified_only(text) for text in shown), shown
        assert_no_unlisted_numbers(messages)
    assert "核實的辦法" in texts(follow_up)


def test_simplified_is_still_the_default(assistant):
    messages = assistant.say("lang-cn", "公安说我涉嫌洗钱要转到安全账户")
    assert texts(messages).startswith("⚠️ 这是")
    assert all(e["name"] != "language" for e in assistant.stored_events("lang-cn") if e["event"] == "slot")


def _without(text, passages):
    for passage in sorted(passages, key=len, reverse=True):
        text = text.replace(passage, "")
    return text

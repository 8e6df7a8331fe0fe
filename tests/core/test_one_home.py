"""Issue 14, item 1: every sentence the assistant can say lives once, in knowledge/.

Each case changes one sentence in a temporary copy of knowledge/ (the replies, the
catalog, the directory of official numbers) and finds the change on every surface that
shows it: the website widget (its script and demo page), the channels' own messages (the
safe reply and the privacy warning), the WeChat welcome, the ATM sign and the actions'
replies. The sentence is found written exactly once in its file first.
"""

import asyncio
import json
import re
import shutil
from typing import Callable, Dict, List

import pytest
import yaml

from core import KNOWLEDGE, catalog, directory, replies, wording
from core.settings import Bank, settings
from server.channels.wechat.protocol import welcome_text
from server.channels.widget import (
    MASKED_INPUT, WidgetTurnGuard, demo_page_html, widget_script,
)
from tools.atm_qr import Atm, build_sign_svg

MARK = "〔改〕"
# A message with a card number in it: the channel masks it and warns.
SECRET_MESSAGE = "我的卡号是6222021234567894"
ATM_URL = "https://fanzha.example.com/chat?entry=atm&atm=ATM-1"


def forget_knowledge() -> None:
    for cached in (wording.load_wording, catalog.load_catalog, directory._raw,
                   directory.load_official_numbers):
        cached.cache_clear()


@pytest.fixture
def knowledge(tmp_path, monkeypatch):
    """A copy of knowledge/ that the code reads instead of the real one."""
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, copy)
    monkeypatch.setattr(wording, "REPLIES_FILE", copy / "replies.yml")
    monkeypatch.setattr(catalog, "CATALOG_FILE", copy / "catalog.yml")
    monkeypatch.setattr(directory, "NUMBERS_FILE", copy / "official_numbers.yml")
    forget_knowledge()
    yield copy
    forget_knowledge()  # before the paths are put back: nothing read from the copy stays


def mark_once(knowledge, file_name: str, sentence: str) -> None:
    """Puts MARK before `sentence`, which must be written exactly once in `file_name`."""
    path = knowledge / file_name
    text = path.read_text(encoding="utf-8")
    assert text.count(sentence) == 1, f"{sentence!r} is written {text.count(sentence)} times"
    path.write_text(text.replace(sentence, MARK + sentence), encoding="utf-8")
    forget_knowledge()


# ---- the surfaces ------------------------------------------------------------------------


def the_widget(bank: Bank) -> str:
    return widget_script() + demo_page_html()  # both for the configured bank


def channel_answer(bank: Bank) -> List[Dict]:
    """What a channel says by itself to a message with a card number that the assistant
    left unanswered: the safe reply, then the privacy warning (with the widget's note)."""
    guard = WidgetTurnGuard(bank, reply_timeout=5)

    async def silent_assistant(text, metadata):
        return None

    return asyncio.run(guard.answer(silent_assistant, SECRET_MESSAGE, None, [], "s"))


def the_channels(bank: Bank) -> str:
    return json.dumps(channel_answer(bank), ensure_ascii=False)


def the_atm_sign(bank: Bank) -> str:
    return build_sign_svg(Atm("ATM-1", "朝阳支行大厅"), ATM_URL, bank)


def the_actions(bank: Bank) -> str:
    """The actions' replies (text, buttons and payload) to a sample of turns."""
    known = catalog.load_catalog()
    numbers = directory.official_directory(bank)
    tax_refund = known.scam_types["tax_refund"]
    messages = [
        replies.assessment(known.suspected_fraud, "medium", bank, numbers),
        replies.assessment(tax_refund, "high", bank, numbers),
        replies.money_lost(known.money_lost, bank, numbers),
        replies.next_steps(tax_refund, bank, numbers),
        replies.atm_alert(bank, "ATM-1"),
        replies.handoff(bank, "工作日九点到五点", "FZ-ABCDEF"),
        replies.not_understood(bank),
        replies.plain("greet", bank),
        replies.plain("bot_challenge", bank),
    ]
    return json.dumps(messages, ensure_ascii=False)


SURFACES: Dict[str, Callable[[Bank], str]] = {
    "widget": the_widget,
    "channels": the_channels,
    "wechat welcome": welcome_text,
    "atm sign": the_atm_sign,
    "actions": the_actions,
}

# (file, the sentence as the code reads it, the surfaces that show it)
CHANGES = {
    "money_gone_now": (
        "replies.yml", lambda bank: wording.entry("money_gone_now"),
        {"widget", "channels", "wechat welcome", "actions"},
    ),
    "dial_yourself": (
        "replies.yml", lambda bank: wording.entry("dial_yourself"),
        {"widget", "channels", "atm sign", "actions"},
    ),
    "catalog step": (
        "catalog.yml", lambda bank: catalog.load_catalog().suspected_fraud.steps[0],
        {"channels", "actions"},
    ),
    "official number's owner": (
        "official_numbers.yml", lambda bank: directory.official_directory(bank)["96110"].owner,
        {"widget", "channels", "atm sign", "actions"},
    ),
    "sentence of greet the widget shares": (
        "replies.yml", lambda bank: wording.entry("greet")[1], {"widget", "actions"},
    ),
    "sentence of bot_challenge the widget shares": (
        "replies.yml", lambda bank: wording.entry("bot_challenge")[1], {"widget", "actions"},
    ),
    "button title": (
        "replies.yml", lambda bank: wording.entry("buttons.money_lost"), {"actions"},
    ),
    "privacy warning": (
        "replies.yml", lambda bank: wording.entry("privacy_warning"), {"channels"},
    ),
    "atm sign heading": (
        "replies.yml", lambda bank: wording.entry("atm_sign.heading")[0], {"atm sign"},
    ),
    "widget's own words": (
        "replies.yml", lambda bank: wording.entry("widget.input_example"), {"widget"},
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_sentence_changed_in_its_one_home_shows_on_every_surface(knowledge, change):
    file_name, sentence, surfaces = CHANGES[change]
    bank = settings().bank
    assert not [name for name, surface in SURFACES.items() if MARK in surface(bank)]

    mark_once(knowledge, file_name, sentence(bank))

    shown = {name for name, surface in SURFACES.items() if MARK in surface(bank)}
    assert surfaces - shown == set(), f"not changed on {surfaces - shown}"


def test_the_widget_notes_the_masked_text_on_the_changed_privacy_warning(knowledge):
    mark_once(knowledge, "replies.yml", wording.entry("privacy_warning"))
    warning = channel_answer(settings().bank)[-1]
    assert warning["text"].startswith(MARK)
    assert warning["custom"]["type"] == MASKED_INPUT


def test_after_the_copy_the_real_knowledge_is_back():
    """Runs after the cases above: nothing read from a changed copy was kept."""
    assert not [name for name, surface in SURFACES.items() if MARK in surface(settings().bank)]


# ---- replies.yml writes each sentence once -----------------------------------------------

# A sentence ends with one of these; shorter pieces (labels, options) may repeat.
SENTENCE = re.compile(r"[^。！？\n]*[。！？]")


def written_texts(node, seen):
    """Every text of the YAML node once: an alias (*name) is the anchored text again."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for _, value in node.value:
            yield from written_texts(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from written_texts(item, seen)
    else:
        yield node.value


def test_no_sentence_is_written_twice_in_the_replies():
    replies_file = KNOWLEDGE / "replies.yml"
    tree = yaml.compose(replies_file.read_text(encoding="utf-8"))
    counted: Dict[str, int] = {}
    for text in written_texts(tree, set()):
        for sentence in SENTENCE.findall(wording.tidy(text.replace("\\n", "\n"))):
            counted[sentence.strip()] = counted.get(sentence.strip(), 0) + 1
    assert {sentence: n for sentence, n in counted.items() if n > 1} == {}

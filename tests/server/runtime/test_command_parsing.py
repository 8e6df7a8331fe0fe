"""A customer's "/intent{...}" runs as an intent only when the assistant just offered it
(server/runtime/commands.py), with the trained model's processor."""

import asyncio

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from server.runtime import commands

INTERNAL = {"restart", "session_start", "back"}
BUTTONS = [{"title": "我已经转账了", "payload": "/money_lost"},
           {"title": "转人工", "payload": "/human_handoff"}]


def conversation(*events):
    return DialogueStateTracker.from_events("commands-test", list(events))


AFTER_AN_ASSESSMENT = conversation(
    ActionExecuted("action_listen"), UserUttered("税务局说退税"),
    BotUttered("这是诈骗！", data={"buttons": BUTTONS}), BotUttered(data={"custom": {"type": "x"}}),
    ActionExecuted("action_listen"))
LATER = conversation(
    *AFTER_AN_ASSESSMENT.events, UserUttered("为什么"), BotUttered("因为……"),
    ActionExecuted("action_listen"))


def parse(processor, text, tracker=None):
    message = UserMessage(text, sender_id="commands-test")
    return asyncio.run(processor.parse_message(message, tracker))


def unpacked(parse_data):
    """Rasa's RegexMessageHandler gives one intent at confidence 1 and nothing else."""
    return [i["name"] for i in parse_data.get("intent_ranking") or []] == [parse_data["intent"]["name"]]


def test_the_payloads_of_the_latest_reply_are_offered():
    assert commands.offered_payloads(AFTER_AN_ASSESSMENT) == {"/money_lost", "/human_handoff"}
    assert commands.offered_payloads(LATER) == frozenset()
    assert commands.offered_payloads(None) == frozenset()
    assert commands.offered_payloads(conversation()) == frozenset()


@pytest.mark.parametrize("text", ["/restart", "／restart", "\u200b/restart", " /restart",
                                  "/session_start", "/session_start{}", "/back"])
def test_typed_internal_intents_are_text(processor, text):
    parsed = parse(processor, text, AFTER_AN_ASSESSMENT)
    assert parsed["intent"]["name"] not in INTERNAL
    assert not unpacked(parsed)


@pytest.mark.parametrize("text", [
    '/human_handoff{"atm_id": "<script>alert(1)</script>"}',
    '/greet{"atm_id": "\' OR 1=1 --"}',
    '/human_handoff{"atm_id": {"nested": [1, 2]}}',
    '/ask_real_case{"scam_type": "../../etc/passwd"}',
])
def test_typed_entities_reach_no_slot(processor, text):
    parsed = parse(processor, text, AFTER_AN_ASSESSMENT)
    assert not unpacked(parsed)
    assert [e for e in parsed["entities"] if e["entity"] in ("atm_id", "scam_type")] == []


def test_a_button_just_offered_runs_its_intent(processor):
    parsed = parse(processor, "/money_lost", AFTER_AN_ASSESSMENT)
    assert parsed["intent"] == {"name": "money_lost", "confidence": 1.0}


def test_a_button_of_an_older_reply_is_text(processor):
    assert not unpacked(parse(processor, "/money_lost", LATER))
    assert not unpacked(parse(processor, "/money_lost"))  # no conversation at all


def test_a_button_of_an_older_reply_is_read_as_its_title(processor):
    """The widget keeps old replies on screen: tapping 我已经转账了 there is understood
    as the words, not run as the intent."""
    assert commands.earlier_title(LATER, "/money_lost") == "我已经转账了"
    assert commands.earlier_title(LATER, "/restart") is None
    stale = parse(processor, "/money_lost", LATER)
    assert not unpacked(stale)
    assert stale["intent"]["name"] == "money_lost"


def test_the_widgets_atm_entry_is_always_unpacked(processor):
    parsed = parse(processor, '/atm_entry{"atm_id":"ATM-0042"}', LATER)
    assert parsed["intent"]["name"] == "atm_entry"
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("atm_id", "ATM-0042")]


def test_plain_text_is_parsed_as_before(processor):
    parsed = parse(processor, "税务局打电话说给我退税，让我去ATM操作", AFTER_AN_ASSESSMENT)
    assert parsed["intent"]["name"] == "scam_tax_refund"


def test_after_an_allowed_command_the_next_text_is_not_unpacked(processor):
    parse(processor, "/money_lost", AFTER_AN_ASSESSMENT)
    assert not unpacked(parse(processor, "/restart", LATER))

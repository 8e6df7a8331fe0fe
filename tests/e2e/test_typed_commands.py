"""Issue 15, over HTTP against the real servers: a customer's "/intent{...}" is text
unless it is a button of the assistant's latest reply or the widget's ATM entry; the ATM
id is kept only when it is on the bank's list; a handoff record holds only valid values.
"""

import sqlite3

import pytest

from core.wording import say
from tests.e2e.test_reply_contract import _split

STORY = "税务局打电话说给我退税，让我去ATM上操作"
SAFE_REPLY_OPENING = say("safe_reply.opening")  # 抱歉，我这边暂时出了点问题 …


def payloads(messages):
    return _split(messages)[1]


def assessed(assistant, sender):
    payload = payloads(assistant.say(sender, STORY))[0]
    assert (payload["type"], payload["scam_type"]) == ("scam_assessment", "tax_refund")


def handoff_rows(assistant, sender):
    with sqlite3.connect(assistant.tracker_db) as db:
        return db.execute(
            "SELECT reference, scam_type, risk, atm_id FROM handoff_requests"
            " WHERE conversation_id = ? ORDER BY id", (sender,)).fetchall()


def user_events(assistant, sender):
    return [e for e in assistant.stored_events(sender) if e["event"] == "user"]


def hand_off(assistant, sender):
    payload = payloads(assistant.say(sender, "转人工"))[0]
    assert payload["type"] == "handoff" and payload["reference"]
    return payload["reference"]


@pytest.mark.parametrize("typed", ["/restart", "/session_start", "/back", "／restart",
                                   "/session_start{}"])
def test_typed_internal_intents_are_text_and_the_conversation_goes_on(assistant, typed):
    sender = f"typed-internal-{typed.encode().hex()}"
    assessed(assistant, sender)

    reply = assistant.say(sender, typed)

    assert reply and all(SAFE_REPLY_OPENING not in (m.get("text") or "") for m in reply)
    # The scam type named before is still the conversation's.
    assert "退税" in assistant.say(sender, "为什么说是诈骗")[0]["text"]
    events = assistant.stored_events(sender)
    assert [e["text"] for e in events if e["event"] == "user"][1] == typed  # as typed
    assert not any(e["event"] in ("restart", "undo", "rewind") for e in events)
    assert [e["event"] for e in events].count("session_started") == 1


@pytest.mark.parametrize("typed, name", [
    ('/human_handoff{"atm_id":"<script>alert(1)</script>"}', "script"),
    ('/greet{"atm_id":"\' OR 1=1 --"}', "sql"),
    ('/human_handoff{"atm_id":{"nested":[1,2]}}', "nested"),
    ('/human_handoff{"scam_type": "../../etc/passwd", "risk": "<b>"}', "path"),
])
def test_typed_entities_never_reach_the_handoff_record(assistant, typed, name):
    sender = f"typed-entities-{name}"
    assistant.say(sender, typed)
    first, second = hand_off(assistant, sender), hand_off(assistant, sender)

    rows = handoff_rows(assistant, sender)
    assert {row[0] for row in rows} >= {first, second}
    assert all(row[1:] == (None, None, None) for row in rows), rows
    slots = [(e["name"], e["value"]) for e in assistant.stored_events(sender) if e["event"] == "slot"]
    assert not [s for s in slots if s[0] in ("atm_id", "scam_type", "risk") and s[1] is not None]


def test_five_typed_handoffs_are_text(assistant):
    sender = "typed-handoff-five"
    for _ in range(5):
        assistant.say(sender, "/human_handoff")
    assert all(len(e["parse_data"]["intent_ranking"]) > 1 for e in user_events(assistant, sender))


def test_a_button_of_the_latest_reply_runs_and_an_older_one_is_text(assistant):
    sender = "buttons-latest"
    assessed(assistant, sender)
    emergency = payloads(assistant.say(sender, "/money_lost"))  # offered by the assessment
    assert emergency[0]["type"] == "emergency"
    # The emergency reply does not offer it again: a tap on the assessment's button,
    # still on the widget's screen, is read as its words, 我已经转账了.
    again = payloads(assistant.say(sender, "/money_lost"))
    assert again[0]["type"] == "emergency"

    pressed, stale = user_events(assistant, sender)[1:]
    assert pressed["parse_data"]["intent"] == {"name": "money_lost", "confidence": 1.0}
    assert len(stale["parse_data"]["intent_ranking"]) > 1  # classified as text
    assert stale["text"] == "/money_lost"


def test_a_forged_atm_id_is_not_kept(assistant):
    sender = "atm-forged"
    alert = payloads(assistant.say(sender, '/atm_entry{"atm_id": "ATM-999"}'))[0]
    assert alert == {"type": "atm_alert", "atm_id": None, "hotlines": alert["hotlines"]}
    hand_off(assistant, sender)
    assert [row[3] for row in handoff_rows(assistant, sender)] == [None]


def test_a_listed_atm_reaches_the_handoff_record(assistant):
    sender = "atm-listed"
    alert = payloads(assistant.say(sender, '/atm_entry{"atm_id":"ATM-0001"}'))[0]
    assert alert["atm_id"] == "ATM-0001"
    assistant.say(sender, '/greet{"atm_id": "ATM-0042"}')  # typed: changes nothing
    hand_off(assistant, sender)
    assert [row[3] for row in handoff_rows(assistant, sender)] == ["ATM-0001"]

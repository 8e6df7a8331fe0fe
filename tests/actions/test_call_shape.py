"""What an action call must look like (actions/call_shape.py): Rasa's own calls pass,
each shape that made rasa_sdk or an action crash is named."""

import copy
import json

import pytest

from actions.call_shape import call_problem, declared_slots, drop_mistyped_values


def rasa_call():
    """As Rasa 3.6 sends it (tracker.current_state(EventVerbosity.ALL), domain.as_dict())."""
    parse_data = {"text": "税务局说退税", "intent": {"name": "scam_tax_refund", "confidence": 0.98},
                  "entities": [{"entity": "scam_type", "value": "tax_refund", "start": 0, "end": 3,
                                "extractor": "RegexEntityExtractor"}],
                  "intent_ranking": [{"name": "scam_tax_refund", "confidence": 0.98}],
                  "metadata": {"entry": {"atm_id": "ATM-0001"}}, "message_id": "m1"}
    return {
        "next_action": "action_assess_scam", "sender_id": "s", "version": "3.6.21",
        "domain": {"forms": {"clarify_form": {"required_slots": ["claimed_identity", "requested_action"]}},
                   "slots": {"scam_type": {"type": "text"}}, "responses": {}},
        "tracker": {
            "sender_id": "s", "paused": False, "followup_action": None, "latest_action_name": "action_listen",
            "active_loop": {}, "latest_message": parse_data, "latest_event_time": 1.0,
            "slots": {"scam_type": None, "risk": "high", "session_started_metadata": {"any": [1]},
                      "requested_slot": None},
            "events": [{"event": "action", "name": "action_session_start"},
                       {"event": "session_started"},
                       {"event": "slot", "name": "bank_name", "value": "招商银行"},
                       {"event": "user", "text": "税务局说退税", "parse_data": parse_data, "metadata": {}},
                       {"event": "action", "name": "action_listen"}],
        },
    }


def test_rasas_own_calls_pass():
    assert call_problem(rasa_call()) is None
    minimal = {"next_action": "action_greet", "tracker": {"sender_id": "s"}}
    assert call_problem(minimal) is None


def changed(path, value):
    call = copy.deepcopy(rasa_call())
    *parents, last = path
    target = call
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return call


DELETE = object()
T, M, E = ("tracker",), ("tracker", "latest_message"), ("tracker", "events")

MALFORMED = {
    # Rasa never sends these. With the check switched off, most were a 500 from rasa_sdk
    # or one of the actions (bench/fuzz.py found "slots null"); the others are read the
    # same way in other states of a conversation (slot events and active_loop by the
    # form's validation).
    "slots null": (T + ("slots",), None),
    "slots a list": (T + ("slots",), []),
    "latest_message null": (T + ("latest_message",), None),
    "latest_message a string": (T + ("latest_message",), "text"),
    "text a number": (M + ("text",), 1),
    "intent a string": (M + ("intent",), "greet"),
    "intent name a list": (M + ("intent", "name"), ["greet"]),
    "confidence a string": (M + ("intent", "confidence"), "high"),
    "entities an object": (M + ("entities",), {"entity": "x"}),
    "an entity a string": (M + ("entities", 0), "scam_type"),
    "an entity without value": (M + ("entities", 0, "value"), DELETE),
    "an entity name an object": (M + ("entities", 0, "entity"), {}),
    "metadata a list": (M + ("metadata",), []),
    "events null": (T + ("events",), None),
    "events an object": (T + ("events",), {"event": "user"}),
    "an event a number": (E + (0,), 1),
    "an event without its type": (E + (0, "event"), DELETE),
    "a user event's text a list": (E + (3, "text"), ["x"]),
    "a user event's parse data a string": (E + (3, "parse_data"), "x"),
    "a slot event without a name": (E + (2, "name"), DELETE),
    "a slot event named by a list": (E + (2, "name"), ["x"]),
    "active_loop null": (T + ("active_loop",), None),
    "active_loop a string": (T + ("active_loop",), "clarify_form"),
    "paused a string": (T + ("paused",), "no"),
    "followup_action a number": (T + ("followup_action",), 1),
    "no sender_id": (T + ("sender_id",), DELETE),
    "tracker null": (("tracker",), None),
    "next_action null": (("next_action",), None),
    "version a number": (("version",), 3),
    "domain a list": (("domain",), []),
    "forms null": (("domain", "forms"), None),
    "forms a list": (("domain", "forms"), []),
    "a form a list": (("domain", "forms", "clarify_form"), []),
    "required_slots of lists": (("domain", "forms", "clarify_form", "required_slots"), [["x"]]),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_calls_are_named(name):
    path, value = MALFORMED[name]
    assert call_problem(changed(path, value)), name


@pytest.mark.parametrize("body", [None, [], "call", 1])
def test_a_call_is_an_object(body):
    assert call_problem(body) == "not an object"


def test_the_slot_types_come_from_the_domain():
    slots = declared_slots()
    assert {"scam_type", "atm_id", "risk"} <= set(slots)
    assert slots["scam_type"]("tax_refund") and slots["scam_type"](None)
    assert not slots["scam_type"](["tax_refund"])


def test_values_a_customer_can_type_in_are_left_out_not_refused():
    """`/human_handoff{"atm_id": {"nested": [1, 2]}}` puts an object into an entity and,
    through it, into a text slot; refusing the call would fail every later action of the
    conversation, so such values are dropped and the action runs without them."""
    call = json.loads(json.dumps(rasa_call()))  # as parsed: no shared objects
    slots = call["tracker"]["slots"]
    slots.update(atm_id={"nested": [1, 2]}, scam_type=["tax_refund"], risk=3)
    message = call["tracker"]["latest_message"]
    message["entities"] += [{"entity": "atm_id", "value": {"nested": [1, 2]}},
                            {"entity": "amount", "value": 50000}]
    call["tracker"]["events"][3]["parse_data"]["entities"].append({"entity": "x", "value": [1]})
    assert call_problem(call) is None
    assert drop_mistyped_values(call) == [
        "tracker.slots.scam_type", "tracker.slots.risk", "tracker.slots.atm_id",
        "tracker.latest_message.entities", "tracker.events[3].parse_data.entities"]
    assert slots["atm_id"] is slots["scam_type"] is slots["risk"] is None
    assert slots["session_started_metadata"] == {"any": [1]}  # not declared: left alone
    assert [e["value"] for e in message["entities"]] == ["tax_refund", 50000]
    assert [e["value"] for e in call["tracker"]["events"][3]["parse_data"]["entities"]] == ["tax_refund"]


def test_rasas_own_calls_lose_nothing():
    call = rasa_call()
    assert drop_mistyped_values(call) == [] and call == rasa_call()

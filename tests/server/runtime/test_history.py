"""The bounded working history: same state, fewer turns, never inside a form."""

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from server.runtime.history import bounded_tracker, state_prefix

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[3] / "domain.yml"))


def turn(number: int, intent: str = "ask_next_steps", slots=()) -> list:
    return [
        UserUttered(f"第{number}句", intent={"name": intent, "confidence": 0.9}),
        ActionExecuted("action_follow_up"),
        BotUttered(f"回答{number}"),
        *[SlotSet(name, value) for name, value in slots],
        ActionExecuted("action_listen"),
    ]


def conversation(turns: int, extra=()) -> DialogueStateTracker:
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("bank_name", "工商银行"),
        SlotSet("bank_hotline", "95588"),
        ActionExecuted("action_listen"),
    ]
    for number in range(1, turns + 1):
        slots = [("scam_type", "tax_refund"), ("risk", "high")] if number == 2 else []
        if number == 5:
            slots = [("atm_id", "ATM-001")]
        events += turn(number, slots=slots)
    events += list(extra)
    return DialogueStateTracker.from_events("someone", events, DOMAIN.slots)


def user_turns(tracker: DialogueStateTracker) -> int:
    return sum(isinstance(event, UserUttered) for event in tracker.events)


def test_a_short_conversation_is_left_alone():
    tracker = conversation(16)
    assert bounded_tracker(tracker, DOMAIN.slots, keep_turns=8, max_turns=16) is tracker


def test_a_long_conversation_keeps_its_last_turns_and_its_state():
    tracker = conversation(17)
    bounded = bounded_tracker(tracker, DOMAIN.slots, keep_turns=8, max_turns=16)
    assert user_turns(bounded) == 8
    assert bounded.current_slot_values() == tracker.current_slot_values()
    assert bounded.get_slot("scam_type") == "tax_refund"  # set in turn 2, long gone
    assert bounded.get_slot("atm_id") == "ATM-001"
    assert bounded.latest_message.text == tracker.latest_message.text == "第17句"
    assert bounded.latest_action_name == "action_listen"
    # The kept turns are the original events, in order, after the state prefix.
    tail = list(tracker.events)[-len(turn(0)) * 8:]
    assert list(bounded.events)[-len(tail):] == tail
    assert isinstance(tail[0], UserUttered) and tail[0].text == "第10句"


def test_the_kept_turns_begin_at_the_listen_before_a_message():
    bounded = bounded_tracker(conversation(20), DOMAIN.slots, keep_turns=3, max_turns=4)
    events = list(bounded.events)
    first_real = next(i for i, e in enumerate(events) if not isinstance(e, SlotSet))
    assert isinstance(events[first_real], ActionExecuted)
    assert events[first_real].action_name == "action_listen"
    assert isinstance(events[first_real + 1], UserUttered)


def test_a_running_form_is_never_cut():
    form_start = [
        UserUttered("刚才接了个奇怪的电话", intent={"name": "report_vague", "confidence": 0.9}),
        ActionExecuted("clarify_form"),
        ActiveLoop("clarify_form"),
        SlotSet("requested_slot", "claimed_identity"),
        ActionExecuted("action_listen"),
    ]
    tracker = conversation(30, extra=form_start)
    assert tracker.active_loop_name == "clarify_form"
    assert bounded_tracker(tracker, DOMAIN.slots, keep_turns=8, max_turns=16) is tracker


def test_a_form_active_at_the_cut_is_restored():
    earlier = list(conversation(2).events) + [ActiveLoop("clarify_form")]
    prefix = state_prefix("someone", earlier, DOMAIN.slots)
    assert any(isinstance(e, ActiveLoop) and e.name == "clarify_form" for e in prefix)


def test_a_new_session_inside_the_cut_part_resets_what_it_resets():
    events = list(conversation(3).events) + [
        ActionExecuted("action_session_start"), SessionStarted(),
        SlotSet("bank_name", "工商银行"), ActionExecuted("action_listen"),
    ]
    prefix = state_prefix("someone", events, DOMAIN.slots)
    names = {e.key for e in prefix if isinstance(e, SlotSet)}
    assert names == {"bank_name"}  # scam_type and risk ended with the old session


@pytest.mark.parametrize("turns", [17, 40, 200])
def test_the_bound_holds_however_long_the_conversation(turns):
    bounded = bounded_tracker(conversation(turns), DOMAIN.slots, keep_turns=8, max_turns=16)
    assert user_turns(bounded) == 8
    assert len(bounded.events) < 8 * len(turn(0)) + len(DOMAIN.slots) + 2

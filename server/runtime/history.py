"""A bounded working history for a long conversation.

Every turn Rasa's policies replay the tracker's events into states, and every custom
action call sends all of them to the action server, so stock Rasa gets slower with each
turn. The working tracker keeps the last turns only, after a short prefix that restores
what the earlier turns left behind (slot values, an active form). Nothing is deleted from
the stored conversation: this is the copy the server thinks with.
"""

from typing import Iterable, List, Sequence

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SlotSet, UserUttered
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

# Policies look back a few actions (MemoizationPolicy: 5, two or three turns); a running
# form is never cut, and slots carry what follow-ups need from earlier turns.
DEFAULT_KEEP_TURNS = 4
# Trimming waits until twice as many turns have piled up, so its cost (one replay of
# the history) is paid once every KEEP_TURNS turns rather than every turn.
DEFAULT_MAX_TURNS = 2 * DEFAULT_KEEP_TURNS


def _turn_starts(events: Sequence[Event]) -> List[int]:
    """Where each customer turn begins: at the action_listen before its message."""
    starts = []
    for i, event in enumerate(events):
        if isinstance(event, UserUttered):
            before = events[i - 1] if i else None
            listened = isinstance(before, ActionExecuted) and before.action_name == ACTION_LISTEN_NAME
            starts.append(i - 1 if listened else i)
    return starts


def state_prefix(
    sender_id: str, earlier: Sequence[Event], slots: Iterable[Slot]
) -> List[Event]:
    """Events that leave a fresh tracker where `earlier` left it: a SlotSet for each slot
    not at its initial value, and the form that was active, if any."""
    replayed = DialogueStateTracker.from_events(sender_id, list(earlier), slots)
    timestamp = earlier[-1].timestamp if earlier else None
    prefix: List[Event] = [
        SlotSet(name, slot.value, timestamp=timestamp)
        for name, slot in replayed.slots.items()
        if slot.value != slot.initial_value
    ]
    if replayed.active_loop_name:
        prefix.append(ActiveLoop(replayed.active_loop_name, timestamp=timestamp))
    return prefix


def bounded_tracker(
    tracker: DialogueStateTracker,
    slots: Iterable[Slot],
    keep_turns: int = DEFAULT_KEEP_TURNS,
    max_turns: int = DEFAULT_MAX_TURNS,
) -> DialogueStateTracker:
    """`tracker` itself while it has at most `max_turns` customer turns or a form is
    running; otherwise a new tracker with the state prefix and the last `keep_turns`
    turns, in the same state as `tracker`."""
    events = list(tracker.events)
    starts = _turn_starts(events)
    if tracker.active_loop_name or len(starts) <= max_turns:
        return tracker
    start = starts[-keep_turns]
    slots = list(slots)
    prefix = state_prefix(tracker.sender_id, events[:start], slots)
    bounded = DialogueStateTracker.from_events(tracker.sender_id, prefix + events[start:], slots)
    bounded.model_id = tracker.model_id
    bounded.assistant_id = tracker.assistant_id
    return bounded

"""What an action call must look like before rasa_sdk and the actions read it.

Rasa's calls always have this shape (tracker.current_state() and the domain as a dict).
A body that only looks like one (null slots, a string where the latest message goes, an
event without "event") made rasa_sdk or an action crash: a 500 to whoever holds the
secret, found by bench/fuzz.py. actions/server_security.py refuses such a call with a
400 before any action runs (call_problem).

Values are another matter: a customer can put any JSON into an entity, and through it
into a slot, by typing `/intent{"atm_id": {"nested": [1, 2]}}` (issue 15; stopped on the
Rasa side elsewhere). Refusing those calls would fail every later action of that
conversation, so drop_mistyped_values removes what does not fit instead (an entity value
that is not a plain value, a slot value not of its domain.yml type) and the action runs
as if it had not been given.

Only what is read is checked: rasa_sdk's Tracker.from_dict, slots_to_validate and
FormValidationAction.domain_slots, and the actions (latest_message's text, intent and
entities, the user events' text and parse data, the slots declared in domain.yml).
"""

from functools import lru_cache
from numbers import Real
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"

Check = Callable[[Any], bool]


def optional(kind: type) -> Check:
    return lambda value: value is None or isinstance(value, kind)


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, Real) and not isinstance(value, bool))


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, Real))


def _list_of(check: Check) -> Check:
    return lambda value: value is None or (isinstance(value, list) and all(map(check, value)))


def _fields(**checks: Check) -> Check:
    """A dict (or None) whose listed keys, where present, pass their checks."""
    def check(value: Any) -> bool:
        return value is None or (isinstance(value, dict) and all(
            test(value.get(key)) for key, test in checks.items()))
    return check


def _entity(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("entity"), str) and "value" in value


_parse_data = _fields(text=optional(str), metadata=optional(dict), entities=_list_of(_entity),
                      intent=_fields(name=optional(str), confidence=_number))


def _event(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("event"), str):
        return False
    if value["event"] == "user":
        return optional(str)(value.get("text")) and _parse_data(value.get("parse_data"))
    if value["event"] == "slot":
        return isinstance(value.get("name"), str) and "value" in value
    return True


SLOT_VALUES: Dict[str, Check] = {
    "text": optional(str), "categorical": optional(str), "bool": optional(bool),
    "float": _number, "list": optional(list), "any": lambda value: True,
}


@lru_cache(maxsize=1)
def declared_slots() -> Dict[str, Check]:
    """The slots domain.yml declares, each with the check its type asks for."""
    slots = yaml.safe_load(DOMAIN.read_text(encoding="utf-8")).get("slots") or {}
    return {name: SLOT_VALUES.get((spec or {}).get("type"), SLOT_VALUES["any"])
            for name, spec in slots.items()}




def _present(check: Check) -> Check:
    """Where rasa_sdk reads `state.get(key, default)`: absent is fine, null is not."""
    return lambda value: value is not None and check(value)


_TRACKER = {
    "sender_id": lambda value: isinstance(value, str),
    "slots": _present(lambda value: isinstance(value, dict)),
    "latest_message": _present(_parse_data),
    "events": _present(_list_of(_event)),
    "active_loop": _present(optional(dict)),
    "paused": optional(bool),
    "followup_action": optional(str),
    "latest_action_name": optional(str),
}


def _form(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and _list_of(
        lambda slot: isinstance(slot, str))(value.get("required_slots")))


def _domain(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and _present(
        lambda forms: isinstance(forms, dict) and all(map(_form, forms.values())))(
        value.get("forms", {})))


def call_problem(call: Any) -> Optional[str]:
    """Which part of a decoded body is not shaped like Rasa's action call, or None."""
    if not isinstance(call, dict):
        return "not an object"
    if not isinstance(call.get("next_action"), str):
        return "next_action"
    if not optional(str)(call.get("version")):
        return "version"
    if not _domain(call.get("domain")):
        return "domain"
    tracker = call.get("tracker")
    if not isinstance(tracker, dict):
        return "tracker"
    for key, check in _TRACKER.items():
        if key in tracker and not check(tracker[key]):
            return f"tracker.{key}"
    if "sender_id" not in tracker:
        return "tracker.sender_id"
    return None


def drop_mistyped_values(call: Dict[str, Any]) -> List[str]:
    """Removes, from a call that passed call_problem, the entities whose value is not a
    plain value (str, number, bool, null) and sets to null the slots whose value is not
    of their domain.yml type. Returns where it did (paths, never the values)."""
    dropped: List[str] = []
    tracker = call["tracker"]
    slots = tracker.get("slots") or {}
    for name, check in declared_slots().items():
        if name in slots and not check(slots[name]):
            slots[name] = None
            dropped.append(f"tracker.slots.{name}")
    messages = [("tracker.latest_message", tracker.get("latest_message"))] + [
        (f"tracker.events[{i}].parse_data", event.get("parse_data"))
        for i, event in enumerate(tracker.get("events") or []) if event["event"] == "user"]
    for where, message in messages:
        entities = (message or {}).get("entities")
        if entities:
            kept = [entity for entity in entities if _scalar(entity["value"])]
            if len(kept) < len(entities):
                message["entities"] = kept
                dropped.append(f"{where}.entities")
    return dropped

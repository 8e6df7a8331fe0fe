"""What several actions read from the tracker, and the types they share."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from rasa_sdk.executor import CollectingDispatcher

from core import assessment_records
from core.catalog import ScamType, load_catalog
from core.language import LANGUAGES, from_tag, reply_language
from core.handoff_records import handoff_db_url
from core.settings import settings
from core.text import normalise

DomainDict = Dict[Text, Any]
SCAM_INTENT_PREFIX = "scam_"
# The customer's language (domain.yml): the last one their messages showed.
LANGUAGE_SLOT = "language"


def latest_text(tracker: Tracker) -> str:
    return normalise(tracker.latest_message.get("text") or "")


def _latest_user_event(tracker: Tracker) -> Dict[Text, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event
    return {}


def typed_text(tracker: Tracker) -> str:
    """The latest message as the customer typed it (masked by the channel). The NLU
    pipeline's normaliser hands the actions Simplified text in latest_message; the
    user event keeps the words as they came."""
    return _latest_user_event(tracker).get("text") or tracker.latest_message.get("text") or ""


def customer_language(tracker: Tracker) -> str:
    """The language to answer in: the latest message's script, else the last one kept
    in the slot (a button's payload, "ok" or "1" say nothing), else the channel's hint
    (the widget sends its page's language in the message metadata: a first "/atm_entry"
    on an English page), else Simplified."""
    kept = tracker.get_slot(LANGUAGE_SLOT)
    if kept not in LANGUAGES:
        metadata = _latest_user_event(tracker).get("metadata") or {}
        kept = from_tag(metadata.get("language")) if isinstance(metadata, dict) else None
    return reply_language(typed_text(tracker), kept)


def remember_language(tracker: Tracker, language: str) -> List[EventType]:
    """The slot event that keeps `language` for the next turn (none when it is kept; an
    empty slot keeps Simplified)."""
    kept = tracker.get_slot(LANGUAGE_SLOT)
    return [] if (kept if kept in LANGUAGES else "zh-Hans") == language else [SlotSet(LANGUAGE_SLOT, language)]


def session_user_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The customer's messages of the current session, oldest first."""
    events: List[Dict[Text, Any]] = []
    for event in tracker.events:
        if event.get("event") == "session_started":
            events = []
        elif event.get("event") == "user":
            events.append(event)
    return events


def scam_or_general(scam_id: Optional[str]) -> ScamType:
    """The catalog type `scam_id`, or the general suspected-fraud advice."""
    catalog = load_catalog()
    return catalog.scam_types.get(scam_id or "", catalog.suspected_fraud)


def record_verdict(tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
    """A summary row of the verdict just sent (type, risk, channel, ATM, red flags; no
    customer text) for the bank's trend report (staff/). Never costs the customer the reply."""
    assessment_records.record_reply(
        lambda: handoff_db_url(settings()), tracker, dispatcher.messages
    )

"""What several actions read from the tracker, and the types they share."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker

from rasa_sdk.executor import CollectingDispatcher

from core import assessment_records
from core.catalog import ScamType, load_catalog
from core.handoff_records import handoff_db_url
from core.settings import settings
from core.text import normalise

DomainDict = Dict[Text, Any]
SCAM_INTENT_PREFIX = "scam_"


def latest_text(tracker: Tracker) -> str:
    return normalise(tracker.latest_message.get("text") or "")


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


async def record_verdict(tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
    """A summary row of the verdict just sent (type, risk, channel, ATM, red flags; no
    customer text) for the bank's trend report (staff/). Never costs the customer the reply."""
    await assessment_records.record_reply(
        lambda: handoff_db_url(settings()), tracker, dispatcher.messages
    )

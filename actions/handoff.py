"""A person to talk to, and the ATM entry: the customer reaches the bank's own staff."""

import asyncio
import logging
import re
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import DomainDict, customer_language, remember_language
from core import handoff_records, replies
from core.settings import settings

logger = logging.getLogger(__name__)

# The widget checks the same pattern before sending /atm_entry.
ATM_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class ActionHumanHandoff(Action):
    """The hotline and branch hours, and a record staff can follow up by reference."""

    def name(self) -> Text:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        config = settings()
        request = handoff_records.HandoffRequest(
            conversation_id=tracker.sender_id,
            scam_type=tracker.get_slot("scam_type"),
            risk=tracker.get_slot("risk"),
            atm_id=tracker.get_slot("atm_id"),
            requested_at=handoff_records.now(),
        )
        try:
            reference = await asyncio.to_thread(
                handoff_records.record_handoff, handoff_records.handoff_db_url(config), request
            )
        except Exception:  # the customer still gets the hotline; staff see the log
            logger.exception("handoff record for %s not written", tracker.sender_id)
            reference = None
        language = customer_language(tracker)
        dispatcher.utter_message(**replies.handoff(
            config.bank, config.branch_hours_in(language), reference, language))
        return [SlotSet("handoff_reference", reference), *remember_language(tracker, language)]


class ActionAtmEntry(Action):
    """Opened from an ATM's QR code, or says they are at an ATM: stop, card, hang up."""

    def name(self) -> Text:
        return "action_atm_entry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        atm_id = tracker.get_slot("atm_id")
        if not (isinstance(atm_id, str) and ATM_ID.fullmatch(atm_id)):
            atm_id = None
        language = customer_language(tracker)
        dispatcher.utter_message(**replies.atm_alert(settings().bank, atm_id, language))
        return [SlotSet("atm_id", atm_id), *remember_language(tracker, language)]
